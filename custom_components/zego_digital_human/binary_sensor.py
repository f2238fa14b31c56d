"""Binary sensors of an avatar: speaking and stream online."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)

from .entity import ZegoAvatarEntity, async_add_avatar_entities

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import AvatarSnapshot, ZegoConfigEntry

# Read-only: everything comes from the coordinator.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class ZegoBinarySensorEntityDescription(BinarySensorEntityDescription):
    """How a binary sensor reads the avatar snapshot."""

    is_on_fn: Callable[[AvatarSnapshot], bool]


DESCRIPTIONS: tuple[ZegoBinarySensorEntityDescription, ...] = (
    ZegoBinarySensorEntityDescription(
        key="speaking",
        translation_key="speaking",
        is_on_fn=lambda snapshot: snapshot.speaking,
    ),
    ZegoBinarySensorEntityDescription(
        key="stream_online",
        translation_key="stream_online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        is_on_fn=lambda snapshot: snapshot.stream_online,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZegoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of every avatar, each to its own subentry."""
    async_add_avatar_entities(
        hass,
        entry,
        async_add_entities,
        lambda coordinator, _speech: (
            ZegoBinarySensorEntity(coordinator, description) for description in DESCRIPTIONS
        ),
    )


class ZegoBinarySensorEntity(ZegoAvatarEntity, BinarySensorEntity):
    """A binary sensor of an avatar."""

    entity_description: ZegoBinarySensorEntityDescription

    @property
    def is_on(self) -> bool:
        """Return the state."""
        return self.entity_description.is_on_fn(self.coordinator.data)

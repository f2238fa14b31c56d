"""Base entity of an avatar device."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import AvatarCoordinator

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity import Entity, EntityDescription
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import ZegoConfigEntry
    from .speech import SpeechManager

type AvatarEntitiesFactory = Callable[[AvatarCoordinator, SpeechManager], Iterable[Entity]]


def avatar_added_signal(entry_id: str) -> str:
    """Return the dispatcher signal sent with the subentry id of an avatar added at run time."""
    return f"{DOMAIN}_avatar_added_{entry_id}"


@callback
def async_add_avatar_entities(
    hass: HomeAssistant,
    entry: ZegoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: AvatarEntitiesFactory,
) -> None:
    """Add a platform's entities for every avatar, now and for each avatar added later."""
    runtime = entry.runtime_data

    @callback
    def _add(subentry_id: str) -> None:
        async_add_entities(
            factory(runtime.avatars[subentry_id], runtime.speech[subentry_id]),
            config_subentry_id=subentry_id,
        )

    for subentry_id in runtime.avatars:
        _add(subentry_id)
    entry.async_on_unload(async_dispatcher_connect(hass, avatar_added_signal(entry.entry_id), _add))


def avatar_device_info(coordinator: AvatarCoordinator) -> DeviceInfo:
    """Return the device of an avatar: one per subentry, identified by its id."""
    return DeviceInfo(
        identifiers={(DOMAIN, coordinator.subentry_id)},
        name=coordinator.config.name,
        manufacturer="ZEGO",
        model="Digital Human",
        model_id=coordinator.config.digital_human_id,
        entry_type=DeviceEntryType.SERVICE,
    )


class ZegoAvatarEntity(CoordinatorEntity[AvatarCoordinator]):
    """An entity of one avatar; unique ids derive from the subentry id, stable for life."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: AvatarCoordinator, description: EntityDescription) -> None:
        """Bind the entity to its avatar and description."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.subentry_id}_{description.key}"
        self._attr_device_info = avatar_device_info(coordinator)

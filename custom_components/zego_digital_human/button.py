"""Buttons of an avatar: start stream, stop stream, interrupt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription

from .entity import ZegoAvatarEntity, async_add_avatar_entities

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import AvatarCoordinator, ZegoConfigEntry
    from .data import AvatarConfig

# No limit: a start may wait up to a minute for ZEGO, and an interrupt must never queue
# behind it. The coordinator serialises what must not overlap (starting a task).
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class ZegoButtonEntityDescription(ButtonEntityDescription):
    """What a button does, and for which avatars it exists."""

    press_fn: Callable[[AvatarCoordinator], Awaitable[object]]
    has_fn: Callable[[AvatarConfig], bool] = lambda _config: True


DESCRIPTIONS: tuple[ZegoButtonEntityDescription, ...] = (
    ZegoButtonEntityDescription(
        key="start_stream",
        translation_key="start_stream",
        press_fn=lambda coordinator: coordinator.async_start_stream(),
        # An attached task belongs to whoever created it; HA only drives it.
        has_fn=lambda config: config.managed,
    ),
    ZegoButtonEntityDescription(
        key="stop_stream",
        translation_key="stop_stream",
        press_fn=lambda coordinator: coordinator.async_stop_stream(),
        has_fn=lambda config: config.managed,
    ),
    ZegoButtonEntityDescription(
        key="interrupt",
        translation_key="interrupt",
        press_fn=lambda coordinator: coordinator.async_interrupt(),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZegoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the buttons of every avatar, each to its own subentry."""
    async_add_avatar_entities(
        hass,
        entry,
        async_add_entities,
        lambda coordinator, _speech: (
            ZegoButtonEntity(coordinator, description)
            for description in DESCRIPTIONS
            if description.has_fn(coordinator.config)
        ),
    )


class ZegoButtonEntity(ZegoAvatarEntity, ButtonEntity):
    """A button of an avatar."""

    entity_description: ZegoButtonEntityDescription

    async def async_press(self) -> None:
        """Run the button's action; failures arrive as translated HA errors."""
        await self.entity_description.press_fn(self.coordinator)

"""Event entity of an avatar: speech started, finished, interrupted, failed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback

from .const import SpeechEvent
from .entity import ZegoAvatarEntity, async_add_avatar_entities

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import ZegoConfigEntry

# Push only: events come from the avatar coordinator.
PARALLEL_UPDATES = 0

DESCRIPTION = EventEntityDescription(
    key="speech",
    translation_key="speech",
    event_types=[event.value for event in SpeechEvent],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZegoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the speech event entity of every avatar, each to its own subentry."""
    async_add_avatar_entities(
        hass,
        entry,
        async_add_entities,
        lambda coordinator, _speech: [ZegoSpeechEventEntity(coordinator, DESCRIPTION)],
    )


class ZegoSpeechEventEntity(ZegoAvatarEntity, EventEntity):
    """Fires once per speech transition of the avatar."""

    async def async_added_to_hass(self) -> None:
        """Subscribe to the avatar's speech events (and coordinator updates)."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.async_add_speech_listener(self._handle_speech))

    @callback
    def _handle_speech(self, event: SpeechEvent, data: Mapping[str, Any]) -> None:
        self._trigger_event(event.value, dict(data))
        self.async_write_ha_state()

"""The avatar's Assist settings: its pipeline, the agent it voices and how it voices it.

- "Assistant" (HA's own pipeline select, as every satellite has): the pipeline whose TTS
  engine and voice announcements use.
- "Answering agent": the conversation agent the avatar's own agent wraps (HA's by
  default, or any LLM agent).
- "Assist voice": take over (the avatar is the only voice) or mirror (the satellite
  that was asked speaks too).

The avatar's conversation agent reads the last two through their states, the way HA's
satellites read the pipeline select.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.components import conversation
from homeassistant.components.assist_pipeline.select import AssistPipelineSelect
from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import (
    async_track_state_added_domain,
    async_track_state_removed_domain,
)
from homeassistant.helpers.restore_state import RestoreEntity

from .assist_satellite import pipeline_select_unique_id
from .const import DOMAIN, AssistMode
from .entity import ZegoAvatarEntity, async_add_avatar_entities, avatar_device_info

if TYPE_CHECKING:
    from homeassistant.core import Event, EventStateChangedData, HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import AvatarCoordinator, ZegoConfigEntry

# Nothing to poll; selecting only writes state.
PARALLEL_UPDATES = 0

ATTR_AGENT_ID: Final = "agent_id"

AGENT_DESCRIPTION = SelectEntityDescription(
    key="assist_agent",
    translation_key="assist_agent",
    entity_category=EntityCategory.CONFIG,
)
MODE_DESCRIPTION = SelectEntityDescription(
    key="assist_mode",
    translation_key="assist_mode",
    entity_category=EntityCategory.CONFIG,
    options=[str(mode) for mode in AssistMode],
)


def avatar_select_entity_id(hass: HomeAssistant, subentry_id: str, key: str) -> str | None:
    """Return the entity id of one of an avatar's selects (None before it is registered)."""
    return er.async_get(hass).async_get_entity_id(Platform.SELECT, DOMAIN, f"{subentry_id}_{key}")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZegoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the three selects per avatar, each to its own subentry."""
    async_add_avatar_entities(
        hass,
        entry,
        async_add_entities,
        lambda coordinator, _speech: [
            ZegoPipelineSelect(hass, coordinator),
            ZegoAgentSelect(coordinator),
            ZegoAssistModeSelect(coordinator),
        ],
    )


class ZegoPipelineSelect(AssistPipelineSelect):
    """HA's pipeline select, on the avatar's device."""

    _attr_has_entity_name = True

    def __init__(self, hass: HomeAssistant, coordinator: AvatarCoordinator) -> None:
        """Name the pipeline for the avatar's satellite."""
        super().__init__(hass, DOMAIN, coordinator.subentry_id)
        # HA's class, not one of ours: the avatar's teardown finds it by this attribute.
        self.coordinator = coordinator
        self._attr_unique_id = pipeline_select_unique_id(coordinator.subentry_id)
        self._attr_device_info = avatar_device_info(coordinator)


class ZegoAgentSelect(ZegoAvatarEntity, SelectEntity, RestoreEntity):
    """The conversation agent whose answers the avatar speaks.

    Options are the agents' names; the chosen agent's entity id is kept (and restored)
    so that renaming an agent does not lose the choice.
    """

    def __init__(self, coordinator: AvatarCoordinator) -> None:
        """Default to Home Assistant's own agent."""
        super().__init__(coordinator, AGENT_DESCRIPTION)
        self._agent_id: str = conversation.HOME_ASSISTANT_AGENT
        self._labels: dict[str, str] = {}

    @property
    def available(self) -> bool:
        """Return True: a setting stays settable while the avatar's stream is down."""
        return True

    async def async_added_to_hass(self) -> None:
        """Restore the choice and follow agents being added or removed."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) is not None and (
            agent_id := last.attributes.get(ATTR_AGENT_ID)
        ):
            self._agent_id = str(agent_id)
        self.async_on_remove(
            async_track_state_added_domain(self.hass, conversation.DOMAIN, self._agents_changed)
        )
        self.async_on_remove(
            async_track_state_removed_domain(self.hass, conversation.DOMAIN, self._agents_changed)
        )
        self._update_labels()

    @callback
    def _agents_changed(self, event: Event[EventStateChangedData]) -> None:
        self._update_labels()
        self.async_write_ha_state()

    @callback
    def _update_labels(self) -> None:
        """Map each agent (ours excepted: an avatar cannot voice itself) to a unique label."""
        registry = er.async_get(self.hass)
        agents: dict[str, str] = {}
        for state in self.hass.states.async_all(conversation.DOMAIN):
            entry = registry.async_get(state.entity_id)
            if entry is not None and entry.platform == DOMAIN:
                continue
            agents[state.entity_id] = str(state.attributes.get("friendly_name") or state.entity_id)
        agents.setdefault(self._agent_id, self._agent_id)
        names = list(agents.values())
        self._labels = {
            agent_id: name if names.count(name) == 1 else f"{name} ({agent_id})"
            for agent_id, name in agents.items()
        }

    @property
    def options(self) -> list[str]:
        """Return the agents by name."""
        return sorted(self._labels.values()) or [self._agent_id]

    @property
    def current_option(self) -> str:
        """Return the chosen agent's name."""
        return self._labels.get(self._agent_id, self._agent_id)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Expose the chosen agent's entity id (what the avatar's agent calls)."""
        return {ATTR_AGENT_ID: self._agent_id}

    async def async_select_option(self, option: str) -> None:
        """Choose an agent by its name."""
        for agent_id, label in self._labels.items():
            if label == option:
                self._agent_id = agent_id
                break
        self.async_write_ha_state()


class ZegoAssistModeSelect(ZegoAvatarEntity, SelectEntity, RestoreEntity):
    """Whether the avatar is Assist's only voice or speaks alongside the satellite."""

    def __init__(self, coordinator: AvatarCoordinator) -> None:
        """Default to taking over: one voice, in sync with the face."""
        super().__init__(coordinator, MODE_DESCRIPTION)
        self._attr_current_option = str(AssistMode.TAKE_OVER)

    @property
    def available(self) -> bool:
        """Return True: a setting stays settable while the avatar's stream is down."""
        return True

    async def async_added_to_hass(self) -> None:
        """Restore the last choice."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) is not None and last.state in self.options:
            self._attr_current_option = last.state

    async def async_select_option(self, option: str) -> None:
        """Choose a mode."""
        self._attr_current_option = option
        self.async_write_ha_state()

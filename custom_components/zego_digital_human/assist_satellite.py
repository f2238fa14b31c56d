"""The avatar as an Assist satellite that announces: assist_satellite.announce makes it speak.

The avatar has a face and a voice but no microphone, so it only announces: no
start_conversation or ask_question (after the prompt a satellite must listen). HA
synthesises a message with the TTS engine and voice of the pipeline the avatar's
"Assistant" select names; the avatar reads that very result stream, so it speaks with the
pipeline's voice. A media id is said as it is. The satellite is "responding" while the
avatar speaks and the call returns when the audio clock says everything was played.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from homeassistant.components import tts
from homeassistant.components.assist_satellite import (
    AssistSatelliteConfiguration,
    AssistSatelliteEntity,
    AssistSatelliteEntityDescription,
    AssistSatelliteEntityFeature,
)
from homeassistant.const import Platform
from homeassistant.helpers import entity_registry as er

from .const import DOMAIN
from .entity import ZegoAvatarEntity, async_add_avatar_entities
from .speech import WaitFor
from .speech.sources import TtsSource, ffmpeg_binary

if TYPE_CHECKING:
    from homeassistant.components.assist_pipeline import PipelineEvent
    from homeassistant.components.assist_satellite import AssistSatelliteAnnouncement
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import AvatarCoordinator, ZegoConfigEntry
    from .speech import SpeechManager

# Requests are serialised per avatar by its speech queue, not by HA.
PARALLEL_UPDATES = 0

DESCRIPTION = AssistSatelliteEntityDescription(
    key="assist_satellite",
    name=None,  # the avatar's own name: assist_satellite.<avatar>
)

# WAV and nothing more: asking HA for a rate makes HA 2025.4 resample only after the
# whole message was synthesised; our speech path resamples as the audio comes.
TTS_OPTIONS: Final = {tts.ATTR_PREFERRED_FORMAT: "wav"}


def pipeline_select_unique_id(subentry_id: str) -> str:
    """Return the unique id of an avatar's pipeline select.

    HA's own scheme (<prefix>-pipeline): assist_pipeline finds a device's chosen pipeline by it.
    """
    return f"{subentry_id}-pipeline"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZegoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one satellite per avatar, each to its own subentry."""
    async_add_avatar_entities(
        hass,
        entry,
        async_add_entities,
        lambda coordinator, speech: [ZegoAvatarSatellite(coordinator, speech)],
    )


class ZegoAvatarSatellite(ZegoAvatarEntity, AssistSatelliteEntity):
    """An avatar that says announcements."""

    _attr_supported_features = AssistSatelliteEntityFeature.ANNOUNCE

    def __init__(self, coordinator: AvatarCoordinator, speech: SpeechManager) -> None:
        """Bind the satellite to its avatar and the avatar's speech manager."""
        super().__init__(coordinator, DESCRIPTION)
        self._speech = speech
        self._attr_tts_options = dict(TTS_OPTIONS)

    @property
    def pipeline_entity_id(self) -> str | None:
        """Return the avatar's pipeline select (looked up late: platforms load in parallel)."""
        return er.async_get(self.hass).async_get_entity_id(
            Platform.SELECT, DOMAIN, pipeline_select_unique_id(self.coordinator.subentry_id)
        )

    def async_get_configuration(self) -> AssistSatelliteConfiguration:
        """Return the wake word setup: none, the avatar does not listen."""
        return AssistSatelliteConfiguration(
            available_wake_words=[], active_wake_words=[], max_active_wake_words=0
        )

    async def async_set_configuration(self, config: AssistSatelliteConfiguration) -> None:
        """Accept any configuration: there are no wake words to set."""

    def on_pipeline_event(self, event: PipelineEvent) -> None:
        """Ignore pipeline events: the avatar runs no pipeline of its own."""

    async def async_announce(self, announcement: AssistSatelliteAnnouncement) -> None:
        """Say the announcement; return once the avatar has played all of it.

        A synthesised message is read from HA's own result stream (the pipeline's engine
        and voice, already synthesising); a media id goes the media player's way. The
        pre-announcement chime is left out: the avatar speaks, it does not ring.
        """
        stream = (
            tts.async_get_stream(self.hass, announcement.tts_token)
            if announcement.media_id_source == "tts" and announcement.tts_token
            else None
        )
        if stream is not None and stream.extension == "wav":
            source = TtsSource(
                stream,
                self.coordinator.config.sample_rate,
                ffmpeg_binary(self.hass),
                message=None,
                event_data={"message": announcement.message},
            )
            await self._speech.async_speak(source, wait=WaitFor.FINISHED)
            return
        await self._speech.async_play(
            announcement.original_media_id, wait=WaitFor.FINISHED, entity_id=self.entity_id
        )

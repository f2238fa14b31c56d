"""The avatar as a media player: the target of tts.speak and media_player.play_media.

Playing media means the avatar says it: TTS ids are synthesised again in the avatar's PCM
format, anything else is decoded by ffmpeg. The player is "playing" while the avatar is
audibly speaking, "idle" when its stream is live and quiet, "off" when it has no stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components import media_source
from homeassistant.components.media_player import (
    MediaPlayerDeviceClass,
    MediaPlayerEnqueue,
    MediaPlayerEntity,
    MediaPlayerEntityDescription,
)
from homeassistant.components.media_player.const import (
    ATTR_MEDIA_ANNOUNCE,
    ATTR_MEDIA_ENQUEUE,
    MediaPlayerEntityFeature,
    MediaPlayerState,
    MediaType,
)

from .const import OverlapPolicy
from .entity import ZegoAvatarEntity, async_add_avatar_entities
from .player import async_ensure_portrait, async_release_portrait
from .speech import WaitFor

if TYPE_CHECKING:
    from homeassistant.components.media_player.browse_media import BrowseMedia
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import AvatarCoordinator, ZegoConfigEntry
    from .portrait import Portrait
    from .speech import SpeechManager

# Requests are serialised per avatar by its speech queue, not by HA.
PARALLEL_UPDATES = 0

_BASE_FEATURES = (
    MediaPlayerEntityFeature.PLAY_MEDIA
    | MediaPlayerEntityFeature.MEDIA_ANNOUNCE
    | MediaPlayerEntityFeature.MEDIA_ENQUEUE
    | MediaPlayerEntityFeature.STOP
    | MediaPlayerEntityFeature.BROWSE_MEDIA
)
# Turning a managed avatar on or off starts or stops its stream task; an attached task
# belongs to whoever created it.
_MANAGED_FEATURES = MediaPlayerEntityFeature.TURN_ON | MediaPlayerEntityFeature.TURN_OFF

DESCRIPTION = MediaPlayerEntityDescription(
    key="media_player",
    name=None,  # the avatar's own name: media_player.<avatar>
    device_class=MediaPlayerDeviceClass.SPEAKER,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZegoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one media player per avatar, each to its own subentry."""
    async_add_avatar_entities(
        hass,
        entry,
        async_add_entities,
        lambda coordinator, speech: [ZegoAvatarMediaPlayer(coordinator, speech)],
    )


def _policy_for(kwargs: dict[str, Any]) -> OverlapPolicy | None:
    """Map play_media's announce/enqueue flags onto the avatar's overlap policy.

    An announcement (tts.speak) and enqueue "play"/"replace" cut what is being said;
    enqueue "add"/"next" waits its turn. Without either, the avatar's own policy applies.
    """
    if kwargs.get(ATTR_MEDIA_ANNOUNCE):
        return OverlapPolicy.INTERRUPT
    enqueue = kwargs.get(ATTR_MEDIA_ENQUEUE)
    if enqueue in (MediaPlayerEnqueue.ADD, MediaPlayerEnqueue.NEXT):
        return OverlapPolicy.QUEUE
    if enqueue in (MediaPlayerEnqueue.PLAY, MediaPlayerEnqueue.REPLACE):
        return OverlapPolicy.INTERRUPT
    return None


class ZegoAvatarMediaPlayer(ZegoAvatarEntity, MediaPlayerEntity):
    """An avatar that says whatever media it is given."""

    _attr_media_content_type = MediaType.MUSIC
    # The digital human's portrait (player.py keeps its signed URL fresh).
    portrait: Portrait | None = None

    def __init__(self, coordinator: AvatarCoordinator, speech: SpeechManager) -> None:
        """Bind the player to its avatar and the avatar's speech manager."""
        super().__init__(coordinator, DESCRIPTION)
        self._speech = speech
        self._attr_supported_features = _BASE_FEATURES
        if coordinator.config.managed:
            self._attr_supported_features |= _MANAGED_FEATURES

    async def async_added_to_hass(self) -> None:
        """Show a new portrait URL as soon as it is fetched (or dropped when it expires)."""
        await super().async_added_to_hass()
        self.portrait = async_ensure_portrait(self.hass, self.coordinator)
        self.async_on_remove(self.portrait.async_add_listener(self.async_write_ha_state))

    async def async_will_remove_from_hass(self) -> None:
        """An avatar removed (or rebuilt after a change) no longer refreshes its portrait."""
        await super().async_will_remove_from_hass()
        async_release_portrait(self.coordinator)

    @property
    def entity_picture(self) -> str | None:
        """Return the digital human's portrait, whatever the player's state."""
        return self.portrait.url if self.portrait is not None else None

    @property
    def state(self) -> MediaPlayerState:
        """Return playing while speaking, idle while the stream is live, off otherwise."""
        snapshot = self.coordinator.data
        if snapshot.speaking:
            return MediaPlayerState.PLAYING
        if snapshot.stream_online:
            return MediaPlayerState.IDLE
        return MediaPlayerState.OFF

    async def async_play_media(
        self, media_type: MediaType | str, media_id: str, **kwargs: Any
    ) -> None:
        """Say the media.

        Returns at the first audio frame: callers such as tts.speak (which blocks) learn
        about a bad engine, URL or stream, but do not wait for the whole utterance.
        """
        await self._speech.async_play(
            media_id,
            policy=_policy_for(kwargs),
            wait=WaitFor.STARTED,
            entity_id=self.entity_id,
        )

    async def async_media_stop(self) -> None:
        """Stop speaking now and drop what was queued."""
        await self.coordinator.async_interrupt()

    async def async_turn_on(self) -> None:
        """Start the avatar's stream task (managed avatars)."""
        await self.coordinator.async_start_stream()

    async def async_turn_off(self) -> None:
        """Stop the avatar's stream task (managed avatars)."""
        await self.coordinator.async_stop_stream()

    async def async_browse_media(
        self,
        media_content_type: MediaType | str | None = None,
        media_content_id: str | None = None,
    ) -> BrowseMedia:
        """Browse HA's media sources, audio only: that is all an avatar can say."""
        return await media_source.async_browse_media(
            self.hass,
            media_content_id,
            content_filter=lambda item: item.media_content_type.startswith("audio/"),
        )

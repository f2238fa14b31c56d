"""What the speech path needs from an avatar (the core's AvatarCoordinator provides it).

Structural types, so the speech package never imports the coordinator: anything with
these members works, including the small test double in tests/speech. Method
parameters are positional-only so an implementation may name them as it likes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from homeassistant.exceptions import HomeAssistantError

    from custom_components.zego_digital_human.client import StreamTask, ZegoClient
    from custom_components.zego_digital_human.const import SpeechEvent

__all__ = ["SpeechConfig", "SpeechTarget"]


class SpeechConfig(Protocol):
    """The avatar's speech defaults (``data.AvatarConfig`` has them)."""

    @property
    def name(self) -> str:
        """Return the avatar's name (for logs)."""

    @property
    def sample_rate(self) -> int:
        """Return the PCM rate the avatar is driven at: 16000 or 24000."""

    @property
    def tts_engine(self) -> str | None:
        """Return the default TTS engine (entity id or legacy provider), None for HA's."""

    @property
    def language(self) -> str | None:
        """Return the default TTS language, None for the engine's."""

    @property
    def voice_options(self) -> Mapping[str, Any]:
        """Return the default TTS options for the default engine."""

    @property
    def overlap_policy(self) -> str:
        """Return "interrupt" or "queue" (``const.OverlapPolicy``)."""


class SpeechTarget(Protocol):
    """One avatar, as the speech path drives it (architecture.md §3)."""

    @property
    def client(self) -> ZegoClient:
        """Return the ZEGO client of the avatar's account."""

    @property
    def config(self) -> SpeechConfig:
        """Return the avatar's settings."""

    @property
    def stream_live(self) -> bool:
        """Return True when the stream task is streaming as far as we know (no start needed)."""

    async def ensure_streaming(self) -> StreamTask:
        """Make sure the stream task is live and return it.

        Managed avatars may create the task and wait for it; raises a translated
        HomeAssistantError when the avatar cannot stream.
        """

    def set_speaking(self, speaking: bool, /) -> None:
        """Set whether the avatar is audibly speaking."""

    def record_ttfa(self, seconds: float, /) -> None:
        """Record the last time to first audio."""

    def record_error(self, err: HomeAssistantError, /) -> None:
        """Record the last error (already translated, secret-free)."""

    def fire_speech_event(self, event_type: SpeechEvent, data: dict[str, Any], /) -> None:
        """Fire speech_started / speech_finished / speech_interrupted / speech_failed."""

    def register_interrupt_handler(
        self, handler: Callable[[], Awaitable[None] | None], /
    ) -> Callable[[], None]:
        """Call (and await) handler when the interrupt button or service is used.

        Returns the unsubscribe callback.
        """

"""SpeechManager: the one object per avatar that platforms and services talk to."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback

from custom_components.zego_digital_human.const import OverlapPolicy, SpeechEvent

from .errors import validation_error
from .models import SpeechOutcome, SpeechResult, WaitFor
from .pipeline import SpeechPipeline
from .queue import QUEUE_GAP, RunHooks, SpeechQueue, SpeechRequest
from .sources import AudioSource, prepare_media, prepare_tts

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Coroutine, Mapping

    from custom_components.zego_digital_human.client import PacingConfig

    from .target import SpeechTarget

__all__ = ["SpeechManager"]

_LOGGER = logging.getLogger(__name__)


class SpeechManager:
    """Speech for one avatar: validate, queue, drive, report.

    Create it in async_setup_entry (one per AvatarCoordinator) and await
    ``async_shutdown()`` on unload. It registers itself as the avatar's interrupt
    handler and stops everything when Home Assistant stops.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        target: SpeechTarget,
        *,
        pacing: PacingConfig | None = None,
        queue_gap: float = QUEUE_GAP,
    ) -> None:
        """Bind to target (an AvatarCoordinator); nothing runs until a request comes."""
        self.hass = hass
        self.target = target
        self._pipeline = SpeechPipeline(target, pacing=pacing)
        self._queue = SpeechQueue(
            self._run,
            self,
            create_task=self._create_task,
            queue_gap=queue_gap,
        )
        self._unsub_interrupt: CALLBACK_TYPE | None = target.register_interrupt_handler(
            self.async_interrupt
        )
        self._unsub_stop: CALLBACK_TYPE | None = hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._async_on_stop
        )

    # --- public API -------------------------------------------------------------------------

    @property
    def speaking(self) -> bool:
        """Return True while the avatar is audibly speaking (per the audio clock)."""
        return self._queue.speaking

    @property
    def busy(self) -> bool:
        """Return True while requests are queued, running or still playing out."""
        return self._queue.busy

    async def async_say(
        self,
        message: str,
        *,
        engine: str | None = None,
        language: str | None = None,
        options: Mapping[str, Any] | None = None,
        policy: OverlapPolicy | str | None = None,
        wait: WaitFor = WaitFor.ACCEPTED,
    ) -> SpeechResult:
        """Speak message through an HA TTS engine (the avatar's defaults when None).

        Bad input raises a translated ServiceValidationError before anything changes.
        See WaitFor for what the call waits for; failures after the call returned are
        reported as speech_failed events and the avatar's last error.
        """
        # A stream HA's TTS creates for a refused request would outlive HA's stop.
        self._queue.raise_if_closed()
        source = prepare_tts(
            self.hass,
            self.target.config,
            message,
            engine=engine,
            language=language,
            options=options,
        )
        return await self._submit(source, policy, wait)

    async def async_play(
        self,
        media_id: str,
        *,
        policy: OverlapPolicy | str | None = None,
        wait: WaitFor = WaitFor.ACCEPTED,
        entity_id: str | None = None,
    ) -> SpeechResult:
        """Speak a media_source id (TTS ones included), an http(s) URL or an HA path.

        entity_id is the media player asking (media_source wants to know).
        """
        self._queue.raise_if_closed()
        source = await prepare_media(self.hass, self.target.config, media_id, entity_id=entity_id)
        return await self._submit(source, policy, wait)

    async def async_speak(
        self,
        source: AudioSource,
        *,
        policy: OverlapPolicy | str | None = None,
        wait: WaitFor = WaitFor.ACCEPTED,
    ) -> SpeechResult:
        """Speak a source prepared elsewhere (a streamed answer, an announcement's stream).

        The source has validated what it could; everything else is as for async_say.
        """
        return await self._submit(source, policy, wait)

    async def async_interrupt(self) -> None:
        """Cancel the current and the queued speech; return once the socket is closed.

        This is also the avatar's interrupt handler: AvatarCoordinator.async_interrupt
        awaits it and then calls ZEGO's InterruptDriveTask.
        """
        await self._queue.async_interrupt()

    async def async_shutdown(self) -> None:
        """Stop everything and refuse new requests (entry unload, HA stop)."""
        if self._unsub_interrupt is not None:
            self._unsub_interrupt()
            self._unsub_interrupt = None
        if self._unsub_stop is not None:
            self._unsub_stop()
            self._unsub_stop = None
        await self._queue.async_shutdown()

    # --- internals --------------------------------------------------------------------------

    async def _submit(
        self, source: AudioSource, policy: OverlapPolicy | str | None, wait: WaitFor
    ) -> SpeechResult:
        request = SpeechRequest(source, self._policy(policy))
        self._queue.submit(request)
        _LOGGER.debug(
            "%s: speech %s (%s) accepted under %s",
            self.target.config.name,
            request.request_id,
            source.label,
            request.policy,
        )
        return await request.wait(wait)

    def _policy(self, policy: OverlapPolicy | str | None) -> OverlapPolicy:
        value = policy if policy is not None else self.target.config.overlap_policy
        try:
            return OverlapPolicy(value)
        except ValueError:
            raise validation_error("invalid_overlap_policy", policy=str(value)) from None

    async def _run(self, request: SpeechRequest, hooks: RunHooks) -> None:
        progress = request.progress
        if progress is None:  # the queue sets it before running; keep mypy honest
            raise RuntimeError("speech request run before it was scheduled")
        await self._pipeline.run(
            request.source,
            progress,
            on_first_frame=hooks.first_frame,
            before_drive=hooks.before_drive,
        )

    def _create_task(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        return self.hass.async_create_background_task(coro, name, eager_start=False)

    async def _async_on_stop(self, _event: Event) -> None:
        self._unsub_stop = None  # a fired listen_once listener is already gone
        await self.async_shutdown()

    # --- SpeechReporter ---------------------------------------------------------------------

    @callback
    def speech_started(self, request: SpeechRequest, /) -> None:
        """Report the first frame: event and time to first audio."""
        progress = request.progress
        if progress is not None and (ttfa := progress.time_to_first_audio) is not None:
            self.target.record_ttfa(ttfa)
        self.target.fire_speech_event(SpeechEvent.STARTED, request.event_data())

    @callback
    def speech_ended(self, request: SpeechRequest, /) -> None:
        """Report the outcome of a request."""
        data = request.event_data()
        if request.error is not None:
            err = request.error
            _LOGGER.warning(
                "%s could not speak %s: %s", self.target.config.name, request.source.label, err
            )
            self.target.record_error(err)
            self.target.fire_speech_event(SpeechEvent.FAILED, {**data, "error": str(err)})
        elif request.outcome is SpeechOutcome.FINISHED:
            self.target.fire_speech_event(SpeechEvent.FINISHED, data)
        else:
            self.target.fire_speech_event(SpeechEvent.INTERRUPTED, data)

    @callback
    def speaking_changed(self, speaking: bool, /) -> None:
        """Tell the avatar whether it is audible."""
        self.target.set_speaking(speaking)

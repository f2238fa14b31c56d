"""The speech path: HA TTS / media -> s16le PCM -> per-avatar queue -> paced WebSocket drive.

Wiring (one ``SpeechManager`` per ``AvatarCoordinator``)::

    from .speech import SpeechManager, WaitFor

    # async_setup_entry, per avatar, after the coordinator exists:
    speech = SpeechManager(hass, coordinator)
    entry.async_on_unload(...)            # or await speech.async_shutdown() in unload
    # async_unload_entry:
    await speech.async_shutdown()

The manager registers itself with ``coordinator.register_interrupt_handler`` (so the
interrupt button/service, which awaits the handler and then calls InterruptDriveTask,
cancels current and queued speech first) and listens for HA's stop event.

Public API
----------
``SpeechManager(hass, target, *, pacing=None, queue_gap=QUEUE_GAP)``

``await speech.async_say(message, *, engine=None, language=None, options=None,
policy=None, wait=WaitFor.ACCEPTED) -> SpeechResult``
    Text through an HA TTS engine (entity id or legacy provider; None: the avatar's
    ``tts_engine``, else HA's default). The avatar's ``language`` and
    ``voice_options`` apply when the engine is the avatar's own; ``options`` win.

``await speech.async_play(media_id, *, policy=None, wait=WaitFor.ACCEPTED,
entity_id=None) -> SpeechResult``
    ``media-source://tts/<engine>?message=..`` ids are synthesised again directly in the
    avatar's format (``tts.speak`` -> ``play_media`` lands here); ``-stream-`` TTS ids
    read HA's result stream; other media_source ids are resolved (pass the media
    player's ``entity_id``); http(s) URLs and HA paths are decoded by ffmpeg.

``await speech.async_interrupt()`` cancels current + queued speech and returns once the
socket is closed (Stop sent). ``await speech.async_shutdown()`` does that and refuses
new requests. ``speech.speaking`` / ``speech.busy`` are informational.

``policy``: ``"interrupt"`` (cancel current, drop queue; the replaced requests end
with speech_interrupted) or ``"queue"`` (FIFO, each starts after the previous audio has
played out); None uses the avatar's ``overlap_policy``. Never two WebSockets per task.

``wait`` (``WaitFor``):
    ``ACCEPTED`` returns once validated and queued; later failures only show as a
    speech_failed event and the avatar's last error. ``STARTED`` returns at the first
    audio frame (raises if the request fails before). ``FINISHED`` returns when the
    avatar has played it all (raises on failure). A request replaced or interrupted
    before that returns normally with ``outcome == SpeechOutcome.INTERRUPTED``.

Suggested platform choices: ``media_player.async_play_media`` -> ``async_play(...,
wait=WaitFor.STARTED, entity_id=self.entity_id)`` with policy "interrupt" when
``announce`` is set (so ``tts.speak``, which calls with blocking=True, reports a bad
engine/URL/stream but does not block for the whole utterance); ``media_stop`` ->
``async_interrupt`` (or ``coordinator.async_interrupt()``, which also calls ZEGO);
``notify.send_message`` -> ``async_say(message)``; the ``speak`` service ->
``async_say(..., wait=FINISHED if call.data["wait"] else STARTED)`` and
``result.as_dict()`` as response data; ``play_audio`` -> ``async_play``.

``SpeechResult``: ``request_id``, ``outcome`` (``SpeechOutcome``: accepted / started /
finished / interrupted), ``drive_id``, ``audio_seconds``, ``time_to_first_audio`` (from
the request's turn to the first frame), ``stream_wait`` (the part spent in
``ensure_streaming``: a managed cold start shows here); ``as_dict()`` for responses.

What the avatar sees (``SpeechTarget`` protocol, satisfied by AvatarCoordinator):
``set_speaking(True)`` at the first frame and ``False`` when the audio clock says the
avatar has played everything (or a new drive / an interrupt cut it);
``record_ttfa(seconds)`` at the first frame; ``record_error(err)`` on failures;
``fire_speech_event(SpeechEvent.X, data)`` with data ``{"drive_id", "message" or
"media_id", "audio_seconds", "time_to_first_audio"}`` (+ ``"error"`` for failed).

Errors are HomeAssistantError / ServiceValidationError with
``translation_domain=DOMAIN``; their keys are listed in errors.py's callers and in the
integration's translations/en.json ``exceptions``.
"""

from __future__ import annotations

from .manager import SpeechManager
from .models import SpeechOutcome, SpeechResult, WaitFor
from .queue import QUEUE_GAP
from .target import SpeechConfig, SpeechTarget

__all__ = [
    "QUEUE_GAP",
    "SpeechConfig",
    "SpeechManager",
    "SpeechOutcome",
    "SpeechResult",
    "SpeechTarget",
    "WaitFor",
]

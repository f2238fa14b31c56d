"""The speech path: HA TTS / media -> s16le PCM -> per-avatar queue -> paced WebSocket drive.

Wiring: one ``SpeechManager`` per ``AvatarCoordinator``::

    from .speech import SpeechManager, WaitFor

    speech = SpeechManager(hass, coordinator)   # async_setup_entry, per avatar
    ...
    await speech.async_shutdown()               # async_unload_entry (before the client goes)

The manager registers itself with ``coordinator.register_interrupt_handler`` (the
interrupt button/service awaits it, then calls ZEGO's InterruptDriveTask) and stops
by itself on ``EVENT_HOMEASSISTANT_STOP``. Idle, it owns no task and no socket.

Public API
----------
``SpeechManager(hass, target, *, pacing=None, queue_gap=QUEUE_GAP)``
    ``target`` is anything satisfying ``SpeechTarget`` (the coordinator does);
    ``pacing`` is the client's ``PacingConfig`` (default 40 ms frames, 0.3 s head start).

``await speech.async_say(message, *, engine=None, language=None, options=None,
policy=None, wait=WaitFor.ACCEPTED) -> SpeechResult``
    Text through an HA TTS engine (entity id or legacy provider; None: the avatar's
    ``tts_engine``, else HA's default engine). The avatar's ``language`` and
    ``voice_options`` apply when the engine is the avatar's own; ``options`` win.

``await speech.async_play(media_id, *, policy=None, wait=WaitFor.ACCEPTED,
entity_id=None) -> SpeechResult``
    ``media-source://tts/<engine>?message=..`` ids (what ``tts.speak`` hands to
    ``play_media``) are synthesised again straight in the avatar's format;
    ``media-source://tts/-stream-/<token>`` ids read HA's result stream; other
    media_source ids are resolved for ``entity_id`` (pass the media player's);
    http(s) URLs and HA paths are decoded by HA's ffmpeg binary.

``await speech.async_speak(source, *, policy=None, wait=WaitFor.ACCEPTED) -> SpeechResult``
    A source prepared elsewhere: ``sources.TtsSource`` over an existing result stream
    (the Assist satellite's announcements) or ``streamed.StreamedTextSource`` (an agent's
    answer as it is written, fed through a ``streamed.TextFeed``: one drive per answer).

``await speech.async_interrupt()``
    Cancels current and queued speech; returns once the socket is closed (Stop sent).
    A drive caught half-open is first opened fully, then stopped: ZEGO never sees a
    drive abandoned without Start/Stop.

``await speech.async_shutdown()``
    Interrupts and refuses new requests (``speech_unavailable``).

``speech.speaking`` / ``speech.busy``: informational.

``policy``: ``"interrupt"`` cancels the current request and drops the queue (those end
with speech_interrupted), or ``"queue"`` (FIFO; each starts ``queue_gap`` after the
previous audio's playback end, so its DriveByWsStream never cuts the tail). None: the
avatar's ``overlap_policy``. Never two WebSockets for one task (a per-avatar lock held
from DriveByWsStream until the socket has closed).

``wait`` (``WaitFor``):
    ``ACCEPTED`` returns once validated and queued; later failures show only as a
    speech_failed event and the avatar's last error. ``STARTED`` returns at the first
    audio frame (raises if the request fails first). ``FINISHED`` returns when the audio
    clock says the avatar has played it all (raises on failure). A request replaced or
    interrupted first returns normally with ``outcome == SpeechOutcome.INTERRUPTED``.
    Bad input (empty message, unknown engine, language, options, unresolvable media
    id, bad policy) always raises ServiceValidationError before anything changes.

Suggested platform wiring:
    media_player ``async_play_media(media_type, media_id, **kwargs)`` ->
    ``async_play(media_id, wait=WaitFor.STARTED, entity_id=self.entity_id,
    policy="interrupt" if kwargs.get("announce") else None)``: ``tts.speak`` (blocking)
    then reports a bad engine/URL/offline stream, without blocking for the utterance.
    ``async_media_stop`` -> ``coordinator.async_interrupt()`` (runs our handler, then
    ZEGO's InterruptDriveTask). ``BROWSE_MEDIA`` -> ``media_source.async_browse_media``
    with an ``audio/`` content filter. State: PLAYING while ``snapshot.speaking``.
    notify ``async_send_message(message, title)`` -> ``async_say(message)``.
    ``speak`` service -> ``async_say(..., wait=WaitFor.FINISHED if call.data["wait"]
    else WaitFor.STARTED)``, response data ``result.as_dict()``.
    ``play_audio`` service -> ``async_play(media_id, ...)`` likewise.

``SpeechResult``: ``request_id``, ``outcome`` (``SpeechOutcome``: accepted / started /
finished / interrupted), ``drive_id``, ``audio_seconds``, ``time_to_first_audio`` (from
the request's turn to its first frame), ``stream_wait`` (the part spent in
``ensure_streaming``: a managed cold start shows here). ``as_dict()`` gives response
data (seconds rounded to ms).

What the avatar (``SpeechTarget``) is told:
    ``set_speaking(True)`` at the first frame; ``set_speaking(False)`` at the playback
    end per the drive's audio clock (scheduled), or when a newer drive or an interrupt
    cuts it. ``record_ttfa(seconds)`` at the first frame. ``record_error(err)`` for
    failures after acceptance. ``fire_speech_event(SpeechEvent.X, data)`` with data
    ``{"drive_id", "message" | "media_id", "audio_seconds", "time_to_first_audio",
    "stream_wait"}`` (+ ``"error"`` for speech_failed); media URLs lose their query.

Errors are HomeAssistantError / ServiceValidationError with ``translation_domain=DOMAIN``
and keys under ``exceptions`` in translations/en.json (see errors.py and
tests/speech/test_translations.py for the list and the English texts). ZEGO errors
show ZEGO's code, message and RequestId; no secret, signature or token ever appears.
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

"""One speech request, end to end: source + drive session -> paced PCM -> Stop -> close.

Latency and safety: the source starts producing (TTS synthesis, ffmpeg) at once, and a
live stream's status is confirmed meanwhile. The drive (DriveByWsStream, WebSocket connect,
Start) is opened only once the source has produced its first audio: ZEGO interrupts whatever
the avatar is saying at DriveByWsStream, so a request that fails before its first audio (a
URL that is not audio, an engine that refuses) must never issue one. The drive's round trips
are the price, paid once per request after the first audio.

One WebSocket per stream task: a per-avatar lock is held from before DriveByWsStream
until the socket has closed, so a replacing request can synthesise while the replaced
one is still sending its Stop, but cannot connect before that socket is gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
import contextlib
from dataclasses import dataclass
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.exceptions import HomeAssistantError

from custom_components.zego_digital_human.client import PacingConfig, WsDriveSession, ZegoError

from .errors import speech_error, zego_drive_error
from .sources import prepend

if TYPE_CHECKING:
    from .sources import AudioSource
    from .target import SpeechTarget

__all__ = ["DriveProgress", "SpeechPipeline"]

_LOGGER = logging.getLogger(__name__)


@dataclass(kw_only=True, slots=True)
class DriveProgress:
    """What one run did so far; filled in as it goes (also when it fails or is cancelled).

    Times are ``loop.time()`` values.
    """

    began_at: float
    stream_asked_at: float | None = None
    stream_ready_at: float | None = None
    drive_id: str | None = None
    first_frame_at: float | None = None
    audio_seconds: float = 0.0
    # When the avatar will have played everything it received (the drive's audio clock).
    playback_end_at: float | None = None
    completed: bool = False

    @property
    def stream_wait(self) -> float | None:
        """Return how long ensure_streaming took."""
        if self.stream_asked_at is None or self.stream_ready_at is None:
            return None
        return self.stream_ready_at - self.stream_asked_at

    @property
    def time_to_first_audio(self) -> float | None:
        """Return the time from the start of the run to the first frame sent."""
        if self.first_frame_at is None:
            return None
        return self.first_frame_at - self.began_at


class SpeechPipeline:
    """Runs requests for one avatar, one drive session at a time."""

    def __init__(
        self,
        target: SpeechTarget,
        *,
        pacing: PacingConfig | None = None,
    ) -> None:
        """Drive target's stream task with pacing (the client's default if None)."""
        self._target = target
        self._pacing = pacing or PacingConfig()
        # Held from DriveByWsStream until the socket closed: never two sockets per task.
        self._drive_lock = asyncio.Lock()

    async def run(
        self,
        source: AudioSource,
        progress: DriveProgress,
        *,
        on_first_frame: Callable[[float], None],
        before_drive: Callable[[], None] | None = None,
    ) -> None:
        """Speak source; raise a translated HomeAssistantError on failure.

        progress is updated in place; on_first_frame(loop_time) is called when the first
        audio frame has been sent, before_drive() right before DriveByWsStream (which
        pre-empts whatever the avatar still plays). Cancelling sends Stop and closes the
        socket before the CancelledError propagates.

        Nothing reaches ZEGO's drive before the source's first audio: a URL that is not
        audio, or an engine that refuses, fails alone, without interrupting the avatar or
        creating a drive. A live stream's status is confirmed while the source starts; an
        avatar that must start its stream first starts it only once there is audio too
        (a stream task is billed, and shown on screen).
        """
        pcm = source.pcm()
        chained: AsyncGenerator[bytes] | None = None
        session: WsDriveSession | None = None

        def first_frame(at: float) -> None:
            progress.first_frame_at = at
            on_first_frame(at)

        prefetch = asyncio.create_task(_first_chunk(pcm, source.label), name="zego speech source")
        opener = asyncio.create_task(
            self._open(progress, first_frame, before_drive, prefetch), name="zego speech drive"
        )
        try:
            await _both(prefetch, opener)
            session = opener.result()
            chained = prepend(prefetch.result(), pcm)
            try:
                await session.stream(chained)
            finally:
                _copy_report(session, progress)
            progress.completed = True
        except ZegoError as err:
            raise zego_drive_error(err) from err
        finally:
            session = await _settle(opener) if session is None else session
            await _settle(prefetch)
            try:
                if session is not None:
                    await _shielded(session.close())
                    _copy_report(session, progress)
            finally:
                if session is not None:
                    self._drive_lock.release()
                # The session does not close what it iterated; closing stops ffmpeg.
                if chained is not None:
                    await _shielded(chained.aclose())
                await _shielded(_aclose(pcm))

    async def _open(
        self,
        progress: DriveProgress,
        first_frame: Callable[[float], None],
        before_drive: Callable[[], None] | None,
        audio: asyncio.Task[bytes],
    ) -> WsDriveSession:
        """Make the stream live, then open a drive once audio has come; returns with the
        drive lock held."""
        loop = asyncio.get_running_loop()
        if self._target.stream_live:
            # Confirming a live stream issues no drive and starts nothing: overlap it.
            progress.stream_asked_at = loop.time()
            task = await self._target.ensure_streaming()
            progress.stream_ready_at = loop.time()
            await _audio_came(audio)
        else:
            await _audio_came(audio)
            progress.stream_asked_at = loop.time()
            task = await self._target.ensure_streaming()
            progress.stream_ready_at = loop.time()
        session = WsDriveSession(
            self._target.client,
            task.task_id,
            sample_rate=self._target.config.sample_rate,
            pacing=self._pacing,
            on_first_frame=first_frame,
        )
        if before_drive is not None:
            before_drive()  # the queue cancels what this request replaces
        await self._drive_lock.acquire()
        # A drive is never abandoned half-open (issued but not connected, or connected
        # without Start): ZEGO would fail it. A cancellation lets open() finish - every
        # step has a timeout - and then ends the drive properly with Stop.
        opening = asyncio.ensure_future(session.open())
        try:
            await asyncio.shield(opening)
        except asyncio.CancelledError:
            abandon = asyncio.ensure_future(self._abandon(session, opening))
            try:
                await asyncio.shield(abandon)
            except asyncio.CancelledError:
                await abandon
            raise
        except BaseException:
            # open() closes what it opened; the lock is ours to give back.
            self._drive_lock.release()
            raise
        progress.drive_id = session.drive_id
        return session

    async def _abandon(self, session: WsDriveSession, opening: asyncio.Future[None]) -> None:
        """Wait for a cancelled open to finish, then close the drive (Stop) and unlock."""
        try:
            try:
                await opening
            except Exception:  # noqa: BLE001 - open() cleaned up after itself
                return
            await session.close()
        except ZegoError:
            _LOGGER.debug("closing an abandoned drive failed", exc_info=True)
        finally:
            self._drive_lock.release()


async def _first_chunk(pcm: AsyncIterator[bytes], label: str) -> bytes:
    """Wait for the source's first audio; a source without audio is an error."""
    async for chunk in pcm:
        if chunk:
            return chunk
    raise speech_error("no_audio", source=label)


async def _audio_came(audio: asyncio.Task[bytes]) -> None:
    """Wait until the source has audio; its failure is the one run() reports."""
    await asyncio.wait([audio])
    if audio.cancelled():
        raise asyncio.CancelledError
    if (err := audio.exception()) is not None:
        raise err


async def _aclose(iterator: AsyncIterator[bytes]) -> None:
    if isinstance(iterator, AsyncGenerator):
        await iterator.aclose()


async def _both(first: asyncio.Task[bytes], second: asyncio.Task[WsDriveSession]) -> None:
    """Wait for both tasks; the first failure cancels the other and is raised."""
    pending: set[asyncio.Task[bytes] | asyncio.Task[WsDriveSession]] = {first, second}
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.cancelled():
                raise asyncio.CancelledError
            if (err := task.exception()) is not None:
                raise err


async def _settle[T](task: asyncio.Task[T]) -> T | None:
    """Cancel task if still running and wait for it; return its result if it had one.

    A session opened by a task that lost the race is returned so that it gets closed.
    """
    if not task.done():
        task.cancel()
        await asyncio.wait([task])
    if task.cancelled() or task.exception() is not None:
        return None
    return task.result()


async def _shielded(cleanup: Coroutine[Any, Any, None]) -> None:
    """Finish cleanup even if the caller is cancelled meanwhile (then re-raise)."""
    future = asyncio.ensure_future(cleanup)
    try:
        await asyncio.shield(future)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await future
        raise
    except (HomeAssistantError, ZegoError):
        # Cleanup failures (a source failing while being closed) are not the result.
        _LOGGER.debug("speech cleanup failed", exc_info=True)


def _copy_report(session: WsDriveSession, progress: DriveProgress) -> None:
    report = session.report
    if report is None:
        return
    progress.drive_id = report.drive_id
    progress.audio_seconds = report.audio_seconds
    progress.playback_end_at = report.playback_end_at

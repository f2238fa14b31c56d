"""The per-avatar speech queue: overlap policy, audible windows, outcomes.

Policies (per request): ``interrupt`` starts at once, and once its source has audio (right
before its drive) cancels the running request and drops the queued ones (they end as
interrupted); ``queue`` waits its turn and starts when the previous audio has played out.
An interrupting request that fails before its first audio (a bad URL, a refusing engine)
therefore leaves whatever the avatar is saying untouched.

Audible windows keep the speaking state honest. A request's window opens at its first
frame and closes at the drive's playback end (the client's audio clock), or earlier
when it is cut: by the next drive being issued (ZEGO pre-empts the current drive at
DriveByWsStream) or by an explicit interrupt. Speaking = some window is open.

Scheduling is callback-driven (timers and task done-callbacks), so an idle queue owns
no task at all.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from enum import IntEnum
import logging
from typing import TYPE_CHECKING, Any, Final, Protocol
import uuid

from homeassistant.exceptions import HomeAssistantError

from custom_components.zego_digital_human.const import OverlapPolicy

from .errors import speech_error
from .models import SpeechOutcome, SpeechResult, WaitFor
from .pipeline import DriveProgress

if TYPE_CHECKING:
    from .sources import AudioSource

__all__ = ["QUEUE_GAP", "SpeechQueue", "SpeechReporter", "SpeechRequest"]

_LOGGER = logging.getLogger(__name__)

# A queued request starts this long after the previous audio's estimated end: the
# estimate is taken at the sender, the avatar hears the first frame one network trip
# later, and issuing the next drive early would cut the previous one's last words.
QUEUE_GAP: Final = 0.25


class _Phase(IntEnum):
    PENDING = 1  # waiting in the queue
    RUNNING = 2  # source + drive running
    PLAYING = 3  # all audio sent; the avatar plays out its buffer
    DONE = 4


class SpeechRequest:
    """One speech request and what became of it."""

    def __init__(self, source: AudioSource, policy: OverlapPolicy) -> None:
        """Wrap a prepared source."""
        self.request_id = uuid.uuid4().hex[:12]
        self.source = source
        self.policy = policy
        self.progress: DriveProgress | None = None
        self.outcome: SpeechOutcome | None = None
        self.error: HomeAssistantError | None = None
        self.task: asyncio.Task[None] | None = None
        self.seq = 0  # submission order, set by the queue
        self._phase = _Phase.PENDING
        self._cancelled = False  # cancelled by the queue (interrupt, shutdown)
        self._window_open = False
        self._window_cut = False
        self._window_timer: asyncio.TimerHandle | None = None
        self._started = asyncio.Event()
        self._done = asyncio.Event()

    def __repr__(self) -> str:
        """Describe by id, phase and outcome."""
        return (
            f"SpeechRequest({self.request_id}, {self.source.label!r}, "
            f"{self._phase.name}, {self.outcome})"
        )

    @property
    def done(self) -> bool:
        """Return True once the request has an outcome (or failed)."""
        return self._done.is_set()

    def result(self) -> SpeechResult:
        """Return a snapshot of where the request stands."""
        progress = self.progress
        if self.outcome is not None:
            outcome = self.outcome
        elif progress is not None and progress.first_frame_at is not None:
            outcome = SpeechOutcome.STARTED
        else:
            outcome = SpeechOutcome.ACCEPTED
        return SpeechResult(
            request_id=self.request_id,
            outcome=outcome,
            drive_id=progress.drive_id if progress else None,
            audio_seconds=progress.audio_seconds if progress else None,
            time_to_first_audio=progress.time_to_first_audio if progress else None,
            stream_wait=progress.stream_wait if progress else None,
        )

    def event_data(self) -> dict[str, Any]:
        """Return what speech events carry about this request."""
        progress = self.progress
        ttfa = progress.time_to_first_audio if progress else None
        wait = progress.stream_wait if progress else None
        return {
            "drive_id": progress.drive_id if progress else None,
            **self.source.event_data,
            "audio_seconds": round(progress.audio_seconds, 3) if progress else 0.0,
            "time_to_first_audio": None if ttfa is None else round(ttfa, 3),
            "stream_wait": None if wait is None else round(wait, 3),
        }

    async def wait(self, until: WaitFor) -> SpeechResult:
        """Wait for the phase until; raise the request's error if it failed first."""
        if until is WaitFor.STARTED:
            await self._started.wait()
        elif until is WaitFor.FINISHED:
            await self._done.wait()
        if self.error is not None:
            raise self.error
        return self.result()


class SpeechReporter(Protocol):
    """Where the queue reports transitions (the manager forwards them to the avatar)."""

    def speech_started(self, request: SpeechRequest, /) -> None:
        """Handle the first frame of request."""

    def speech_ended(self, request: SpeechRequest, /) -> None:
        """Handle a request reaching an outcome (finished, interrupted or failed)."""

    def speaking_changed(self, speaking: bool, /) -> None:
        """Handle the avatar starting or stopping to be audible."""


type Runner = Callable[[SpeechRequest, RunHooks], Coroutine[Any, Any, None]]
type TaskFactory = Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]]


class RunHooks:
    """What the runner tells the queue while a request runs."""

    def __init__(self, queue: SpeechQueue, request: SpeechRequest) -> None:
        """Bind the hooks to one request."""
        self._queue = queue
        self._request = request

    def first_frame(self, at: float) -> None:
        """Call when the first audio frame was sent (loop time at)."""
        self._queue._on_first_frame(self._request, at)

    def before_drive(self) -> None:
        """Call once the source has audio, right before the drive is issued.

        The drive pre-empts what the avatar plays: an interrupting request takes over here,
        cancelling the running one (whose socket must close before the drive lock frees).
        """
        self._queue._claim(self._request)


class SpeechQueue:
    """Schedules the speech requests of one avatar."""

    def __init__(
        self,
        runner: Runner,
        reporter: SpeechReporter,
        *,
        create_task: TaskFactory | None = None,
        queue_gap: float = QUEUE_GAP,
    ) -> None:
        """Run requests with runner(request, hooks); report through reporter."""
        self._runner = runner
        self._reporter = reporter
        self._create_task: TaskFactory = create_task or (
            lambda coro, name: asyncio.get_running_loop().create_task(coro, name=name)
        )
        self._gap = queue_gap
        self._pending: deque[SpeechRequest] = deque()
        self._current: SpeechRequest | None = None
        # Interrupting requests running up to their first audio, not yet in charge.
        self._contenders: set[SpeechRequest] = set()
        self._submitted = 0
        # Cancelled runs still sending Stop / closing; awaited by interrupt and shutdown.
        self._stopping: set[SpeechRequest] = set()
        self._audible: set[SpeechRequest] = set()
        self._speaking = False
        self._not_before = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    @property
    def busy(self) -> bool:
        """Return True while anything is queued, running or audible."""
        return bool(
            self._pending or self._current or self._contenders or self._stopping or self._audible
        )

    @property
    def speaking(self) -> bool:
        """Return True while some audio window is open."""
        return self._speaking

    # --- submitting -------------------------------------------------------------------------

    def submit(self, request: SpeechRequest) -> None:
        """Take request under its policy."""
        if self._closed:
            raise speech_error("speech_unavailable")
        self._submitted += 1
        request.seq = self._submitted
        if request.policy is OverlapPolicy.INTERRUPT:
            # Older contenders never reached the avatar: the newest request supersedes them.
            self._cancel(list(self._contenders))
            self._contenders.add(request)
            self._start(request)
            return
        self._pending.append(request)
        self._schedule()

    async def async_interrupt(self) -> None:
        """Cut everything now; return once every socket is closed."""
        self._cancel_all(cut=True)
        await self._wait_stopped()

    async def async_shutdown(self) -> None:
        """Interrupt everything and refuse further requests."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self.async_interrupt()

    # --- scheduling ---------------------------------------------------------------------------

    def _schedule(self) -> None:
        """Start the next request if its turn has come (called on every change)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._closed or not self._pending:
            return
        if self._current is not None and not self._current.done:
            return
        if self._contenders:
            return  # what was submitted after an interrupting request waits for it
        request = self._pending[0]
        loop = asyncio.get_running_loop()
        if request.policy is OverlapPolicy.QUEUE and self._not_before > loop.time():
            self._timer = loop.call_at(self._not_before, self._schedule)
            return
        self._pending.popleft()
        self._current = request
        self._start(request)

    def _start(self, request: SpeechRequest) -> None:
        loop = asyncio.get_running_loop()
        request._phase = _Phase.RUNNING
        request.progress = DriveProgress(began_at=loop.time())
        task = request.task = self._create_task(
            self._run(request), f"zego speech {request.request_id}"
        )
        # Also covers a task cancelled before it ever ran (its coroutine never starts).
        task.add_done_callback(lambda _task: self._on_task_done(request))

    async def _run(self, request: SpeechRequest) -> None:
        try:
            await self._runner(request, RunHooks(self, request))
        except asyncio.CancelledError:
            self._end_run(request, SpeechOutcome.INTERRUPTED)
            if not request._cancelled:
                raise  # cancelled from outside (HA stopping): let it propagate
        except HomeAssistantError as err:
            self._end_run(request, None, err)
        except Exception as err:
            _LOGGER.exception("Speech request %s failed unexpectedly", request.request_id)
            self._end_run(request, None, speech_error("speech_failed", error=repr(err)))
        else:
            self._end_run(request, SpeechOutcome.FINISHED)

    def _claim(self, request: SpeechRequest) -> None:
        """request has audio and is about to drive: it takes over the avatar."""
        if request in self._contenders:
            self._contenders.discard(request)
            # What was submitted before it is replaced; what came after still waits.
            while self._pending and self._pending[0].seq < request.seq:
                self._resolve(self._pending.popleft(), SpeechOutcome.INTERRUPTED)
            self._cancel([self._current] if self._current is not None else [])
            self._current = request
            self._not_before = 0.0
        self._cut_windows(keep=request)

    def _on_task_done(self, request: SpeechRequest) -> None:
        self._contenders.discard(request)
        self._stopping.discard(request)
        if self._current is request:
            self._current = None
        if request._phase is _Phase.RUNNING:
            self._end_run(request, SpeechOutcome.INTERRUPTED)
        self._schedule()

    def _end_run(
        self,
        request: SpeechRequest,
        outcome: SpeechOutcome | None,
        error: HomeAssistantError | None = None,
    ) -> None:
        """The run is over: the audio it sent still plays until its playback end."""
        progress = request.progress
        end = progress.playback_end_at if progress is not None else None
        loop = asyncio.get_running_loop()
        if request._window_open and end is not None:
            # The next queued request waits for this audio to play out.
            self._not_before = max(self._not_before, end + self._gap)
            request._window_timer = loop.call_at(end, self._window_elapsed, request)
        elif request._window_open:
            self._close_window(request)
        if outcome is SpeechOutcome.FINISHED:
            if request._window_timer is not None:
                # Finished means played: the outcome comes when the window closes.
                request._phase = _Phase.PLAYING
                return
            if request._window_cut:
                # All sent, but a newer drive or an interrupt cut the playback.
                outcome = SpeechOutcome.INTERRUPTED
        self._resolve(request, outcome, error)

    # --- windows ----------------------------------------------------------------------------

    def _on_first_frame(self, request: SpeechRequest, at: float) -> None:
        request._window_open = True
        self._audible.add(request)
        request._started.set()
        self._report(self._reporter.speech_started, request)
        self._update_speaking()

    def _window_elapsed(self, request: SpeechRequest) -> None:
        request._window_timer = None
        self._close_window(request)
        if request._phase is _Phase.PLAYING:
            self._resolve(request, SpeechOutcome.FINISHED)

    def _cut_windows(self, keep: SpeechRequest | None) -> None:
        """Close every audible window but keep's; played-out requests end interrupted."""
        for request in list(self._audible):
            if request is keep:
                continue
            request._window_cut = True
            self._close_window(request)
            if request._phase is _Phase.PLAYING:
                self._resolve(request, SpeechOutcome.INTERRUPTED)

    def _close_window(self, request: SpeechRequest) -> None:
        if request._window_timer is not None:
            request._window_timer.cancel()
            request._window_timer = None
        request._window_open = False
        self._audible.discard(request)
        self._update_speaking()

    def _update_speaking(self) -> None:
        speaking = bool(self._audible)
        if speaking != self._speaking:
            self._speaking = speaking
            self._report(self._reporter.speaking_changed, speaking)

    # --- ending -------------------------------------------------------------------------------

    def _cancel_all(self, *, cut: bool) -> None:
        """Drop the queue and cancel the running request and any contender; cut windows if
        asked."""
        while self._pending:
            self._resolve(self._pending.popleft(), SpeechOutcome.INTERRUPTED)
        self._cancel([self._current] if self._current is not None else [])
        self._cancel(list(self._contenders))
        self._current = None
        self._not_before = 0.0
        if cut:
            self._cut_windows(keep=None)

    def _cancel(self, requests: list[SpeechRequest]) -> None:
        for request in requests:
            self._contenders.discard(request)
            if request.task is not None and not request.task.done():
                request._cancelled = True
                request.task.cancel()
                self._stopping.add(request)

    async def _wait_stopped(self) -> None:
        """Wait until cancelled runs have sent Stop and closed their sockets."""
        while tasks := [r.task for r in self._stopping if r.task and not r.task.done()]:
            await asyncio.wait(tasks)
        self._stopping.clear()  # their done-callbacks run (or ran) on their own

    def _resolve(
        self,
        request: SpeechRequest,
        outcome: SpeechOutcome | None,
        error: HomeAssistantError | None = None,
    ) -> None:
        """Give request its outcome (or error), once, and report it."""
        if request.done:
            return
        request._phase = _Phase.DONE
        request.outcome = outcome
        request.error = error
        request._started.set()
        request._done.set()
        self._report(self._reporter.speech_ended, request)

    @staticmethod
    def _report[T](report: Callable[[T], None], arg: T) -> None:
        """Tell the reporter; a failing listener must not wedge the queue's bookkeeping."""
        try:
            report(arg)
        except Exception:
            _LOGGER.exception("Speech state listener failed")

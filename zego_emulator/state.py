"""Tasks, drives, tokens and their timers: the emulated service's state machine.

Everything runs on the emulator's event loop, so no locks. Timers are `loop.call_later` handles
kept in one table so shutdown can cancel every one of them.
"""

from __future__ import annotations

import asyncio
from collections import deque
import contextlib
from dataclasses import dataclass
import secrets
from typing import TYPE_CHECKING, Any, Protocol
import uuid

from . import playback
from .events import DRIVE_STATUS_EVENT, TASK_STATUS_EVENT, build_event
from .records import DriveKind, DriveRecord, DriveStatus, TaskRecord, TaskStatus

if TYPE_CHECKING:
    from collections.abc import Callable

    from .config import EmulatorConfig

# WebSocket close codes (see README "WebSocket close codes").
CLOSE_GOING_AWAY = 1001
CLOSE_START_TIMEOUT = 4001
CLOSE_NOT_STARTED = 4002
CLOSE_BAD_COMMAND = 4003
CLOSE_DRIVE_ID_MISMATCH = 4004
CLOSE_BAD_FRAME = 4005
CLOSE_AUDIO_AFTER_STOP = 4006
CLOSE_DRIVE_ID_REUSED = 4007
CLOSE_UNEXPECTED_MESSAGE = 4008
CLOSE_DRIVE_INTERRUPTED = 4009
CLOSE_TASK_ENDED = 4010
CLOSE_REPLACED = 4011


class WsLink(Protocol):
    """What the state machine needs from one open WebSocket connection."""

    task_id: str
    drive_id: str

    def server_close(self, code: int, reason: str) -> None:
        """Close the socket from the server side (asynchronously)."""


class StateObserver(Protocol):
    """Told of what a viewer of the stream would see (the preview feed, preview.py)."""

    def task_status(self, task: TaskRecord) -> None:
        """A task changed status."""

    def audio(self, drive: DriveRecord, data: bytes) -> None:
        """A WebSocket drive's frame was accepted for playback."""

    def audio_end(self, drive: DriveRecord, end_at: float) -> None:
        """A drive's input is over; its playback ends at loop time `end_at`."""


@dataclass(kw_only=True)
class TokenInfo:
    """A WssAddress token: bound to one task and one DriveId."""

    token: str
    task_id: str
    drive_id: str
    issued_at: float
    used: bool = False
    revoked: bool = False


class EmulatorState:
    """The service's tasks and drives for every AppId of one emulator."""

    def __init__(
        self, config: EmulatorConfig, *, clock: Callable[[], float], loop: asyncio.AbstractEventLoop
    ) -> None:
        self.config = config
        self._clock = clock
        self._loop = loop
        self.tasks: dict[str, TaskRecord] = {}
        self.drives: list[DriveRecord] = []
        self.drive_index: dict[str, DriveRecord] = {}
        self.events: list[dict[str, Any]] = []
        self.tokens: dict[str, TokenInfo] = {}
        self.links: dict[str, list[WsLink]] = {}
        self.max_ws_connections_per_task = 0
        self._current: dict[str, str] = {}
        self._queues: dict[str, deque[str]] = {}
        self._durations: dict[str, float] = {}
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._changed = asyncio.Event()
        self.closed = False
        self.observer: StateObserver | None = None

    # --- plumbing ------------------------------------------------------------------------------

    def now(self) -> float:
        """The loop clock every `*_at` field uses."""
        return self._loop.time()

    def _later(self, key: tuple[str, str], delay: float, callback: Callable[[], None]) -> None:
        self._cancel(key)
        if self.closed:
            return

        def fire() -> None:
            self._timers.pop(key, None)
            callback()

        self._timers[key] = self._loop.call_later(max(0.0, delay), fire)

    def _cancel(self, key: tuple[str, str]) -> None:
        handle = self._timers.pop(key, None)
        if handle is not None:
            handle.cancel()

    def owns(self, drive: DriveRecord) -> bool:
        """False for a drive forgotten by a reset (a socket may still be closing for it)."""
        return self.drive_index.get(drive.drive_id) is drive

    def cancel_all_timers(self) -> None:
        """Shutdown: no timer may outlive the emulator."""
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def _notify(self) -> None:
        # Wake every waiter; each re-checks its own condition.
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], seconds: float) -> None:
        """Return once `predicate()` holds; TimeoutError after `seconds`."""
        async with asyncio.timeout(seconds):
            while not predicate():
                # Woken by every state change; the short poll also catches changes to fields
                # that are not announced (a test may wait on any attribute).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.05):
                        await self._changed.wait()

    def _emit(self, app_id: int, task_id: str, event_type: int, detail: dict[str, Any]) -> None:
        self.events.append(
            build_event(
                app_id=app_id,
                task_id=task_id,
                event_type=event_type,
                detail=detail,
                now=self._clock(),
                callback_secret=self.config.callback_secret,
                timestamp_ms=self.config.callback_timestamp_ms,
            )
        )

    # --- tasks ---------------------------------------------------------------------------------

    def live_tasks(self, app_id: int) -> list[TaskRecord]:
        """Tasks of this AppId holding a StreamId and a concurrency slot."""
        return [t for t in self.tasks.values() if t.app_id == app_id and t.live]

    def create_task(
        self,
        *,
        app_id: int,
        digital_human_id: str,
        room_id: str,
        stream_id: str,
        ttl: int,
        max_idle_time: int,
        background_color: str,
        init_fail_reason: str | None = None,
    ) -> TaskRecord:
        """A new task in status 1; start-up, TTL and idle timers armed."""
        now = self.now()
        task = TaskRecord(
            task_id=str(uuid.uuid4()),
            app_id=app_id,
            digital_human_id=digital_human_id,
            room_id=room_id,
            stream_id=stream_id,
            ttl=ttl,
            max_idle_time=max_idle_time,
            background_color=background_color,
            create_time=int(self._clock()),
            created_at=now,
            last_activity_at=now,
        )
        self.tasks[task.task_id] = task
        self._queues[task.task_id] = deque()
        self._set_task_status(task, TaskStatus.INITIALIZING)
        tid = task.task_id
        self._later(
            (tid, "startup"),
            self.config.scaled(self.config.startup_delay),
            lambda: self._on_startup(tid, init_fail_reason),
        )
        self._later((tid, "ttl"), self.config.scaled(ttl), lambda: self._on_ttl(tid))
        self._later((tid, "idle"), self.config.scaled(max_idle_time), lambda: self._on_idle(tid))
        return task

    def _set_task_status(self, task: TaskRecord, status: TaskStatus) -> None:
        task.status = status
        task.status_history.append((status, self.now()))
        detail: dict[str, Any] = {
            "Status": int(status),
            "RoomId": task.room_id,
            "StreamId": task.stream_id,
        }
        if status is TaskStatus.INIT_FAILED:
            detail["FailReason"] = task.fail_reason or ""
        self._emit(task.app_id, task.task_id, TASK_STATUS_EVENT, detail)
        if self.observer is not None:
            self.observer.task_status(task)
        self._notify()

    def _on_startup(self, task_id: str, fail_reason: str | None) -> None:
        task = self.tasks[task_id]
        if task.status is not TaskStatus.INITIALIZING:
            return
        if fail_reason is not None:
            task.fail_reason = fail_reason
            self._set_task_status(task, TaskStatus.INIT_FAILED)
        else:
            self._set_task_status(task, TaskStatus.STREAMING)

    def _on_ttl(self, task_id: str) -> None:
        task = self.tasks[task_id]
        if task.status in (TaskStatus.STOPPING, TaskStatus.STOPPED):
            return
        self.end_task(task, "ttl")

    def _on_idle(self, task_id: str) -> None:
        task = self.tasks[task_id]
        if task.status in (TaskStatus.STOPPING, TaskStatus.STOPPED):
            return
        # Drives only stamp last_activity_at; the timer re-arms itself for the remainder, so a
        # stream of 40 ms frames does not churn timer handles.
        idle_for = self.config.scaled(task.max_idle_time)
        remaining = task.last_activity_at + idle_for - self.now()
        if remaining > 0:
            self._later((task_id, "idle"), remaining, lambda: self._on_idle(task_id))
            return
        self.end_task(task, "idle")

    def touch(self, task: TaskRecord) -> None:
        """A drive action or WS audio frame: restart the MaxIdleTime clock."""
        task.last_activity_at = self.now()

    def end_task(self, task: TaskRecord, reason: str) -> None:
        """Stop, TTL, idle or expiry: status 4 now, 5 after the stopping delay."""
        if task.status in (TaskStatus.STOPPING, TaskStatus.STOPPED):
            return
        task.end_reason = reason
        tid = task.task_id
        for kind in ("startup", "ttl", "idle"):
            self._cancel((tid, kind))
        self._set_task_status(task, TaskStatus.STOPPING)
        self._interrupt_current(tid)
        self._discard_queue(tid)
        for info in self.tokens.values():
            if info.task_id == tid:
                info.revoked = True
        for link in list(self.links.get(tid, [])):
            link.server_close(CLOSE_TASK_ENDED, "task ended")
        self._later(
            (tid, "stopping"),
            self.config.scaled(self.config.stopping_delay),
            lambda: self._on_stopped(tid),
        )

    def _on_stopped(self, task_id: str) -> None:
        task = self.tasks[task_id]
        task.ended_at = self.now()
        self._set_task_status(task, TaskStatus.STOPPED)

    # --- drives --------------------------------------------------------------------------------

    def new_drive(self, task: TaskRecord, kind: DriveKind, **fields: Any) -> DriveRecord:
        """A fresh DriveId in status 1; counts as activity for MaxIdleTime."""
        drive = DriveRecord(
            drive_id=str(uuid.uuid4()),
            task_id=task.task_id,
            kind=kind,
            issued_at=self.now(),
            **fields,
        )
        self.drives.append(drive)
        self.drive_index[drive.drive_id] = drive
        task.drive_ids.append(drive.drive_id)
        self.touch(task)
        self._set_drive_status(drive, DriveStatus.QUEUED)
        return drive

    def _set_drive_status(self, drive: DriveRecord, status: DriveStatus) -> None:
        drive.status = status
        now = self.now()
        drive.status_history.append((status, now))
        if drive.terminal:
            drive.ended_at = now
        task = self.tasks[drive.task_id]
        detail = {"DriveId": drive.drive_id, "Status": int(status)}
        self._emit(task.app_id, task.task_id, DRIVE_STATUS_EVENT, detail)
        self._notify()

    def current_drive(self, task_id: str) -> DriveRecord | None:
        """The drive playing (or about to play) on this task."""
        drive_id = self._current.get(task_id)
        return None if drive_id is None else self.drive_index[drive_id]

    def queued_drives(self, task_id: str) -> list[DriveRecord]:
        """Drives waiting behind the current one."""
        return [self.drive_index[d] for d in self._queues.get(task_id, ())]

    def submit_clip(self, drive: DriveRecord, *, duration: float, interrupt: bool) -> None:
        """DriveByText / DriveByAudio: queue (InterruptMode 0) or pre-empt (1) the current drive."""
        self._durations[drive.drive_id] = duration
        tid = drive.task_id
        if interrupt:
            self._interrupt_current(tid)
        if tid in self._current:
            self._queues[tid].append(drive.drive_id)
        else:
            self._play_clip(drive)

    def _play_clip(self, drive: DriveRecord) -> None:
        self._current[drive.task_id] = drive.drive_id
        self._set_drive_status(drive, DriveStatus.DRIVING)
        drive.playback_end_at = self.now() + self._durations[drive.drive_id]
        did = drive.drive_id
        self._later(
            (did, "end"), self._durations[did], lambda: self.finish(drive, DriveStatus.ENDED)
        )

    def submit_stream(self, drive: DriveRecord) -> None:
        """DriveByWsStream / DriveByRTCStream: pre-empt the current drive, discard the queue."""
        tid = drive.task_id
        self._interrupt_current(tid)
        self._discard_queue(tid)
        self._current[tid] = drive.drive_id
        if drive.kind == "rtc":
            # The source is an RTC stream the emulator cannot hear: it "speaks" until interrupted.
            self._set_drive_status(drive, DriveStatus.DRIVING)

    def interrupt(self, task_id: str) -> None:
        """InterruptDriveTask: stop the current drive and discard the queue."""
        self._interrupt_current(task_id)
        self._discard_queue(task_id)

    def _interrupt_current(self, task_id: str) -> None:
        drive = self.current_drive(task_id)
        if drive is None:
            return
        now = self.now()
        if drive.kind == "ws":
            playback.on_interrupt(drive, now)
        else:
            drive.interrupted = True
            if drive.playback_end_at is not None:
                drive.playback_end_at = min(drive.playback_end_at, now)
        if self.config.ws_on_interrupt == "close":
            for link in list(self.links.get(task_id, [])):
                if link.drive_id == drive.drive_id:
                    link.server_close(CLOSE_DRIVE_INTERRUPTED, "drive interrupted")
        self.finish(drive, self.config.interrupted_drive_status, advance=False)

    def _discard_queue(self, task_id: str) -> None:
        queue = self._queues.get(task_id)
        while queue:
            drive = self.drive_index[queue.popleft()]
            drive.interrupted = True
            self.finish(drive, self.config.interrupted_drive_status, advance=False)

    def finish(
        self,
        drive: DriveRecord,
        status: DriveStatus,
        *,
        fail_reason: str | None = None,
        advance: bool = True,
    ) -> None:
        """Move a drive to a terminal status; then start the next queued drive (`advance`)."""
        self._cancel((drive.drive_id, "end"))
        self._cancel((drive.drive_id, "token"))
        if drive.terminal or not self.owns(drive):
            return
        if fail_reason is not None:
            drive.fail_reason = fail_reason
        self._set_drive_status(drive, status)
        if self.observer is not None and drive.kind == "ws":
            # Interrupted, failed or its task ended: playback stops where it was.
            end = drive.playback_end_at
            self.observer.audio_end(drive, self.now() if end is None else min(end, self.now()))
        tid = drive.task_id
        if self._current.get(tid) == drive.drive_id:
            del self._current[tid]
            queue = self._queues.get(tid)
            if advance and queue:
                self._play_clip(self.drive_index[queue.popleft()])

    def finish_at(
        self, drive: DriveRecord, when: float, status: DriveStatus, fail_reason: str | None = None
    ) -> None:
        """Finish the drive once its buffered audio has played (loop time `when`)."""
        self._later(
            (drive.drive_id, "end"),
            when - self.now(),
            lambda: self.finish(drive, status, fail_reason=fail_reason),
        )

    # --- WebSocket drive input -----------------------------------------------------------------

    def ws_audio(
        self, drive: DriveRecord, data: bytes, arrival: float, *, new_segment: bool
    ) -> None:
        """One accepted binary frame: into the jitter buffer, or discarded if the drive is over."""
        if drive.terminal or not self.owns(drive):
            drive.discarded_bytes += len(data)
            self._notify()
            return
        playback.on_frame(drive, arrival, len(data), new_segment=new_segment)
        if self.config.record_audio:
            drive.append_audio(data)
        if self.observer is not None:
            self.observer.audio(drive, data)
        self.touch(self.tasks[drive.task_id])
        if drive.status is DriveStatus.QUEUED:
            self._set_drive_status(drive, DriveStatus.DRIVING)
        else:
            self._notify()

    def ws_stop(self, drive: DriveRecord, arrival: float) -> None:
        """Stop: the buffer plays out, then the drive ends (4)."""
        if drive.terminal or not self.owns(drive):
            drive.stop_at = arrival
            return
        end = playback.on_stop(drive, arrival)
        if self.observer is not None:
            self.observer.audio_end(drive, end)
        self.finish_at(drive, end, DriveStatus.ENDED)

    def ws_input_lost(
        self, drive: DriveRecord, at: float, *, status: DriveStatus, reason: str
    ) -> None:
        """Input ended without Stop: play what is buffered, then end with `status`."""
        if drive.terminal or not self.owns(drive):
            return
        if drive.first_frame_at is None:
            self.finish(drive, status, fail_reason=reason if status is DriveStatus.FAILED else None)
            return
        end = playback.on_input_lost(drive, at)
        if self.observer is not None:
            self.observer.audio_end(drive, end)
        self.finish_at(
            drive, end, status, fail_reason=reason if status is DriveStatus.FAILED else None
        )

    def reopen_stream(self, drive: DriveRecord) -> None:
        """A second Start with the same DriveId (only when `drive_id_reuse` is "allow")."""
        if not self.owns(drive):
            return
        self._cancel((drive.drive_id, "end"))
        drive.stop_at = None
        drive.playback_end_at = None
        drive.ended_at = None
        if drive.terminal:
            # A new utterance on an old DriveId: like a fresh WS drive, it pre-empts the task.
            tid = drive.task_id
            self._interrupt_current(tid)
            self._discard_queue(tid)
            self._current[tid] = drive.drive_id
            drive.interrupted = False
            self._set_drive_status(drive, DriveStatus.QUEUED)

    # --- WebSocket tokens and links ------------------------------------------------------------

    def issue_token(self, drive: DriveRecord) -> str:
        """A single WssAddress token for this drive; unused tokens expire (`ws_token_ttl`)."""
        token = secrets.token_urlsafe(24)
        self.tokens[token] = TokenInfo(
            token=token, task_id=drive.task_id, drive_id=drive.drive_id, issued_at=self.now()
        )
        ttl = self.config.ws_token_ttl
        if ttl is not None:
            self._later((drive.drive_id, "token"), ttl, lambda: self._on_token_expired(token))
        return token

    def _on_token_expired(self, token: str) -> None:
        info = self.tokens[token]
        info.revoked = True
        drive = self.drive_index[info.drive_id]
        if not info.used:
            drive.violations.append("WebSocket never connected before the token expired")
            self.finish(drive, DriveStatus.FAILED, fail_reason="token expired unused")

    def token_problem(self, token: str) -> tuple[TokenInfo | None, str | None]:
        """The token's record, or why a handshake with it is refused."""
        info = self.tokens.get(token)
        if info is None:
            return None, "unknown token"
        if info.revoked:
            return info, "token no longer valid"
        if info.used and self.config.ws_token_single_use:
            return info, "token already used"
        if self.tasks[info.task_id].status is not TaskStatus.STREAMING:
            return info, "task is not streaming"
        if self.drive_index[info.drive_id].terminal:
            return info, "drive is over"
        return info, None

    def add_link(self, link: WsLink, info: TokenInfo) -> None:
        """A handshake succeeded."""
        info.used = True
        self._cancel((info.drive_id, "token"))
        links = self.links.setdefault(link.task_id, [])
        links.append(link)
        self.max_ws_connections_per_task = max(self.max_ws_connections_per_task, len(links))
        drive = self.drive_index[link.drive_id]
        drive.connections += 1
        if drive.connected_at is None:
            drive.connected_at = self.now()
        self._notify()

    def remove_link(self, link: WsLink) -> None:
        """The connection is closing or closed: it no longer counts as open."""
        links = self.links.get(link.task_id, [])
        if link in links:
            links.remove(link)
            self._notify()

    @property
    def open_ws_connections(self) -> int:
        """Connections open now, over all tasks."""
        return sum(len(v) for v in self.links.values())

    def reset(self) -> None:
        """Forget everything (the admin "reset")."""
        self.cancel_all_timers()
        self.tasks.clear()
        self.drives.clear()
        self.drive_index.clear()
        self.events.clear()
        self.tokens.clear()
        self.links.clear()
        self.max_ws_connections_per_task = 0
        self._current.clear()
        self._queues.clear()
        self._durations.clear()
        self._notify()

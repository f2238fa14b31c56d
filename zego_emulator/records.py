"""What the emulator remembers: tasks, drives and requests, for tests to inspect.

All `*_at` times are `loop.time()` values of the emulator's event loop, so they compare directly
with the client's own `loop.time()` stamps. `create_time` is Unix seconds on the emulator's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
import struct
from typing import Any, Literal

DriveKind = Literal["ws", "text", "audio", "rtc"]


class TaskStatus(IntEnum):
    """Stream task status (zego-api.md §7.1)."""

    INITIALIZING = 1
    INIT_FAILED = 2
    STREAMING = 3
    STOPPING = 4
    STOPPED = 5


class DriveStatus(IntEnum):
    """Drive task status (zego-api.md §7.2)."""

    QUEUED = 1
    DRIVING = 2
    FAILED = 3
    ENDED = 4


TERMINAL_DRIVE_STATUSES = frozenset({DriveStatus.FAILED, DriveStatus.ENDED})


@dataclass(kw_only=True, eq=False)
class TaskRecord:
    """One stream task, live or ended."""

    task_id: str
    app_id: int
    digital_human_id: str
    room_id: str
    stream_id: str
    ttl: int
    max_idle_time: int
    background_color: str
    create_time: int
    created_at: float
    status: TaskStatus = TaskStatus.INITIALIZING
    status_history: list[tuple[TaskStatus, float]] = field(default_factory=list)
    fail_reason: str | None = None
    end_reason: str | None = None
    """Why the task ended: "stopped", "ttl", "idle", "expired" (expire_task) or "reset"."""
    ended_at: float | None = None
    """When it reached status 5."""
    last_activity_at: float = 0.0
    """Last drive action or WS audio frame: the MaxIdleTime clock."""
    drive_ids: list[str] = field(default_factory=list)
    actions_done: list[str] = field(default_factory=list)
    """DoAction names, in order."""

    @property
    def live(self) -> bool:
        """Holds its StreamId and a concurrency slot (status 1-4)."""
        return self.status is not TaskStatus.STOPPED

    @property
    def running(self) -> bool:
        """Listed by QueryDigitalHumanStreamTasks (status 1 or 3)."""
        return self.status in (TaskStatus.INITIALIZING, TaskStatus.STREAMING)

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly summary for the admin API."""
        return {
            "TaskId": self.task_id,
            "AppId": self.app_id,
            "DigitalHumanId": self.digital_human_id,
            "RoomId": self.room_id,
            "StreamId": self.stream_id,
            "Status": int(self.status),
            "CreateTime": self.create_time,
            "TTL": self.ttl,
            "MaxIdleTime": self.max_idle_time,
            "FailReason": self.fail_reason,
            "EndReason": self.end_reason,
            # loop.time() values (the monotonic clock): when it was created and ended.
            "CreatedAt": self.created_at,
            "EndedAt": self.ended_at,
            "DriveIds": list(self.drive_ids),
            "ActionsDone": list(self.actions_done),
        }


@dataclass(kw_only=True, eq=False)
class DriveRecord:
    """One drive. WS drives carry the playback model's figures (see playback.py)."""

    drive_id: str
    task_id: str
    kind: DriveKind
    issued_at: float
    status: DriveStatus = DriveStatus.QUEUED
    status_history: list[tuple[DriveStatus, float]] = field(default_factory=list)
    # WebSocket Start parameters (None until Start arrives)
    sample_rate: int | None = None
    channel: int | None = None
    voice_channel: int | None = None
    # timeline
    connected_at: float | None = None
    start_at: float | None = None
    first_frame_at: float | None = None
    last_frame_at: float | None = None
    stop_at: float | None = None
    closed_at: float | None = None
    playback_end_at: float | None = None
    ended_at: float | None = None
    # input and playback figures
    frames: list[tuple[float, int]] = field(default_factory=list)
    """(arrival loop time, size in bytes) of every accepted audio frame."""
    bytes_received: int = 0
    audio_seconds: float = 0.0
    underruns: int = 0
    underrun_seconds: float = 0.0
    max_lead_seconds: float = 0.0
    last_frame_to_stop: float | None = None
    buffered_until: float | None = None
    """Playback model: when the audio received so far finishes playing."""
    violations: list[str] = field(default_factory=list)
    interrupted: bool = False
    dropped: bool = False
    """The connection was cut by a `ws_drop` fault."""
    discarded_bytes: int = 0
    """Audio that arrived after the drive was interrupted (not played)."""
    connections: int = 0
    close_code: int | None = None
    close_reason: str | None = None
    fail_reason: str | None = None
    # text / audio drive parameters
    text: str | None = None
    timbre_id: str | None = None
    audio_url: str | None = None
    interrupt_mode: int | None = None
    _audio: bytearray = field(default_factory=bytearray, repr=False)

    @property
    def audio(self) -> bytes:
        """The PCM received (when `record_audio` is on), s16le interleaved."""
        return bytes(self._audio)

    @property
    def terminal(self) -> bool:
        """Ended or failed: no further status change."""
        return self.status in TERMINAL_DRIVE_STATUSES

    def append_audio(self, data: bytes) -> None:
        """Keep a copy of received PCM."""
        self._audio += data

    def wav_bytes(self) -> bytes:
        """The recorded PCM as a WAV file (16-bit, the Start's rate and channel count)."""
        rate = self.sample_rate or 16000
        channels = self.channel or 1
        data = bytes(self._audio)
        header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
        fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
        return (
            header
            + b"fmt "
            + struct.pack("<I", len(fmt))
            + fmt
            + b"data"
            + struct.pack("<I", len(data))
            + data
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly summary for the admin API (no audio)."""
        return {
            "drive_id": self.drive_id,
            "task_id": self.task_id,
            "kind": self.kind,
            "status": int(self.status),
            "status_history": [[int(s), t] for s, t in self.status_history],
            "sample_rate": self.sample_rate,
            "channel": self.channel,
            "voice_channel": self.voice_channel,
            "issued_at": self.issued_at,
            "connected_at": self.connected_at,
            "start_at": self.start_at,
            "first_frame_at": self.first_frame_at,
            "last_frame_at": self.last_frame_at,
            "stop_at": self.stop_at,
            "closed_at": self.closed_at,
            "playback_end_at": self.playback_end_at,
            "ended_at": self.ended_at,
            "frame_count": len(self.frames),
            "bytes_received": self.bytes_received,
            "audio_seconds": self.audio_seconds,
            "underruns": self.underruns,
            "underrun_seconds": self.underrun_seconds,
            "max_lead_seconds": self.max_lead_seconds,
            "last_frame_to_stop": self.last_frame_to_stop,
            "violations": list(self.violations),
            "interrupted": self.interrupted,
            "dropped": self.dropped,
            "discarded_bytes": self.discarded_bytes,
            "connections": self.connections,
            "close_code": self.close_code,
            "close_reason": self.close_reason,
            "fail_reason": self.fail_reason,
            "text": self.text,
            "timbre_id": self.timbre_id,
            "audio_url": self.audio_url,
            "interrupt_mode": self.interrupt_mode,
            "audio_recorded_bytes": len(self._audio),
        }


@dataclass(frozen=True, kw_only=True)
class RequestRecord:
    """One REST request as the emulator answered it."""

    action: str | None
    app_id: int | None
    code: int | None
    """ZEGO Code answered; None when a fault answered with a bare HTTP status."""
    http_status: int
    at: float
    request_id: str | None = None
    message: str | None = None
    stream_id: str | None = None
    """The StreamId of the task the request concerned, when known."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly copy for the admin API."""
        return {
            "action": self.action,
            "app_id": self.app_id,
            "code": self.code,
            "http_status": self.http_status,
            "at": self.at,
            "request_id": self.request_id,
            "stream_id": self.stream_id,
            "message": self.message,
        }

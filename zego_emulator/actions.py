"""The actions (zego-api.md §5): parameter rules, resource and state checks, response shapes.

Each handler validates the whole body first (400000001), then resources (400000003/4/5), then
state (400000006/7/8/9/15), and returns the response `Data` (None: no Data key, as documented
for Stop, Interrupt and DoAction).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import codes
from .codes import ApiError, invalid
from .records import TaskRecord, TaskStatus
from .validation import COLOR_RE, STREAM_ID_RE, Body

if TYPE_CHECKING:
    from .config import DigitalHumanSpec, EmulatorConfig, TimbreSpec
    from .faults import FaultSet
    from .state import EmulatorState

MAX_ID_BYTES = 128
MAX_TEXT_CHARS = 1800


@dataclass(kw_only=True)
class ActionContext:
    """What a handler may use for one request."""

    app_id: int
    body: Body
    state: EmulatorState
    config: EmulatorConfig
    faults: FaultSet
    ws_address: Callable[[str], str]
    portrait_url: Callable[[DigitalHumanSpec], str] | None = None
    """Signs a portrait URL of the emulator's own; None: AvatarUrl as configured."""
    describe: Callable[[], dict[str, Any]] | None = None
    """The DescribeEmulator answer; None: the action is unknown, as at ZEGO."""


Handler = Callable[[ActionContext], dict[str, Any] | None]


# --- shared checks ---------------------------------------------------------------------------


def _digital_human(config: EmulatorConfig, digital_human_id: str) -> DigitalHumanSpec:
    for spec in config.digital_humans:
        if spec.digital_human_id == digital_human_id:
            return spec
    raise ApiError(codes.DIGITAL_HUMAN_NOT_FOUND, f"Digital human {digital_human_id!r} not found")


def _find_task(ctx: ActionContext, task_id: str) -> TaskRecord:
    task = ctx.state.tasks.get(task_id)
    if task is None or task.app_id != ctx.app_id:
        raise ApiError(codes.TASK_NOT_FOUND, f"Task {task_id!r} not found")
    return task


def _ended_check(ctx: ActionContext, task: TaskRecord, *, for_stop: bool = False) -> None:
    if task.status is TaskStatus.STOPPED:
        code = ctx.config.ended_task_stop_code if for_stop else ctx.config.ended_task_code
        raise ApiError(code, f"Task {task.task_id!r} has ended")
    if task.status is TaskStatus.STOPPING:
        raise ApiError(ctx.config.ended_task_stop_code, "Video stream already stopped")


def _streaming_task(ctx: ActionContext, task_id: str) -> TaskRecord:
    """A task that can be driven: exists, not ended, and streaming (else 400000006)."""
    task = _find_task(ctx, task_id)
    _ended_check(ctx, task)
    if task.status is not TaskStatus.STREAMING:
        raise ApiError(codes.STREAM_NOT_STARTED, "Video stream not started yet")
    return task


def _task_id(body: Body) -> str:
    return body.required_str("TaskId")


def _interrupt_mode(body: Body) -> int:
    return body.required_int("InterruptMode", default=0, choices=(0, 1))


def _page(body: Body) -> tuple[int, int]:
    offset = body.required_int("Offset", default=0, low=0, high=1_000_000)
    limit = body.required_int("Limit", default=20, low=1, high=20)
    return offset, limit


def _rtc_config(body: Body) -> tuple[str, str]:
    rtc = body.obj("RTCConfig", required=True)
    if rtc is None:  # pragma: no cover - required=True raised already
        raise invalid("RTCConfig", "is required")
    room_id = rtc.required_str("RoomId", max_bytes=MAX_ID_BYTES)
    stream_id = rtc.required_str("StreamId", max_bytes=MAX_ID_BYTES)
    if not STREAM_ID_RE.fullmatch(stream_id):
        raise invalid(rtc.path("StreamId"), "may only contain [0-9A-Za-z_-]")
    return room_id, stream_id


# --- stream tasks ----------------------------------------------------------------------------


def create_stream_task(ctx: ActionContext) -> dict[str, Any]:
    """CreateDigitalHumanStreamTask."""
    body = ctx.body
    dh_config = body.obj("DigitalHumanConfig", required=True)
    if dh_config is None:  # pragma: no cover - required=True raised already
        raise invalid("DigitalHumanConfig", "is required")
    digital_human_id = dh_config.required_str("DigitalHumanId")
    color = dh_config.string("BackgroundColor", required=False)
    if color is not None and not COLOR_RE.fullmatch(color):
        raise invalid(dh_config.path("BackgroundColor"), "must be #RRGGBB or #AARRGGBB")
    room_id, stream_id = _rtc_config(body)
    ttl = body.required_int("TTL", default=86400, low=10, high=86400)
    max_idle = body.required_int("MaxIdleTime", default=900, low=30, high=86400)

    _digital_human(ctx.config, digital_human_id)
    live = ctx.state.live_tasks(ctx.app_id)
    if any(t.stream_id == stream_id for t in live):
        raise ApiError(codes.STREAM_ID_EXISTS, f"StreamId {stream_id!r} already exists")
    if len(live) >= ctx.config.max_concurrent_tasks:
        raise ApiError(
            codes.CONCURRENCY_LIMIT,
            f"Concurrent stream limit exceeded ({ctx.config.max_concurrent_tasks})",
        )
    fail = ctx.faults.take("init_fail")
    task = ctx.state.create_task(
        app_id=ctx.app_id,
        digital_human_id=digital_human_id,
        room_id=room_id,
        stream_id=stream_id,
        ttl=ttl,
        max_idle_time=max_idle,
        background_color=color or "#000000",
        init_fail_reason=None if fail is None else fail.message,
    )
    return {"TaskId": task.task_id}


def stop_stream_task(ctx: ActionContext) -> None:
    """StopDigitalHumanStreamTask."""
    task = _find_task(ctx, _task_id(ctx.body))
    _ended_check(ctx, task, for_stop=True)
    ctx.state.end_task(task, "stopped")


def query_stream_tasks(ctx: ActionContext) -> dict[str, Any]:
    """QueryDigitalHumanStreamTasks: running tasks (status 1 or 3) of this AppId."""
    tasks = [t for t in ctx.state.tasks.values() if t.app_id == ctx.app_id and t.running]
    return {
        "TaskList": [
            {
                "TaskId": t.task_id,
                "RoomId": t.room_id,
                "StreamId": t.stream_id,
                "Status": int(t.status),
                "CreateTime": t.create_time,
            }
            for t in tasks
        ]
    }


def get_stream_task_status(ctx: ActionContext) -> dict[str, Any]:
    """GetDigitalHumanStreamTaskStatus: status 1-4; an ended task is not found."""
    task = _find_task(ctx, _task_id(ctx.body))
    if task.status is TaskStatus.STOPPED:
        raise ApiError(ctx.config.ended_task_code, f"Task {task.task_id!r} has ended")
    data: dict[str, Any] = {
        "Status": int(task.status),
        "RoomId": task.room_id,
        "StreamId": task.stream_id,
        "CreateTime": task.create_time,
    }
    if task.status is TaskStatus.INIT_FAILED:
        data["FailReason"] = task.fail_reason or ""
    return data


# --- drives ----------------------------------------------------------------------------------


def _check_timbre(ctx: ActionContext, task: TaskRecord, timbre_id: str) -> None:
    timbre: TimbreSpec | None = next(
        (t for t in ctx.config.timbres if t.timbre_id == timbre_id), None
    )
    if timbre is None:
        raise ApiError(codes.TIMBRE_NOT_FOUND, f"Timbre {timbre_id!r} not found")
    private_elsewhere = (
        timbre.digital_human_id is not None and timbre.digital_human_id != task.digital_human_id
    )
    if private_elsewhere or (task.digital_human_id, timbre_id) in ctx.config.unsupported_timbres:
        raise ApiError(
            codes.TIMBRE_UNSUPPORTED,
            "This digital human's stream does not support this timbre",
        )


def drive_by_text(ctx: ActionContext) -> dict[str, Any]:
    """DriveByText: queued (InterruptMode 0) or pre-empting (1); plays for an estimated time."""
    body = ctx.body
    task_id = _task_id(body)
    text = body.required_str("Text", max_chars=MAX_TEXT_CHARS)
    mode = _interrupt_mode(body)
    tts = body.obj("TTSConfig", required=True)
    if tts is None:  # pragma: no cover - required=True raised already
        raise invalid("TTSConfig", "is required")
    timbre_id = tts.required_str("TimbreId")
    speech_rate = tts.required_int("SpeechRate", default=0, low=-500, high=500)
    tts.required_int("PitchRate", default=0, low=-500, high=500)
    tts.required_int("Volume", default=50, low=1, high=100)

    task = _streaming_task(ctx, task_id)
    _check_timbre(ctx, task, timbre_id)
    config = ctx.config
    # SpeechRate 500 speaks twice as fast, -500 half as fast.
    seconds = max(config.min_text_drive_seconds, len(text) * config.text_seconds_per_char)
    seconds /= 2 ** (speech_rate / 500)
    drive = ctx.state.new_drive(task, "text", text=text, timbre_id=timbre_id, interrupt_mode=mode)
    ctx.state.submit_clip(drive, duration=config.scaled(seconds), interrupt=mode == 1)
    return {"DriveId": drive.drive_id}


def drive_by_audio(ctx: ActionContext) -> dict[str, Any]:
    """DriveByAudio: like text, with a fixed playback length (the URL is never fetched)."""
    body = ctx.body
    task_id = _task_id(body)
    url = body.required_str("AudioUrl")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid("AudioUrl", "must be an http(s) URL of an MP3 or WAV file")
    mode = _interrupt_mode(body)
    voice_channel = body.required_int("VoiceChannel", default=0, choices=(0, 1, 2))

    task = _streaming_task(ctx, task_id)
    drive = ctx.state.new_drive(
        task, "audio", audio_url=url, interrupt_mode=mode, voice_channel=voice_channel
    )
    duration = ctx.config.scaled(ctx.config.audio_drive_seconds)
    ctx.state.submit_clip(drive, duration=duration, interrupt=mode == 1)
    return {"DriveId": drive.drive_id}


def drive_by_ws_stream(ctx: ActionContext) -> dict[str, Any]:
    """DriveByWsStream: a DriveId and a single-use WssAddress; pre-empts and flushes the queue."""
    task = _streaming_task(ctx, _task_id(ctx.body))
    drive = ctx.state.new_drive(task, "ws")
    ctx.state.submit_stream(drive)
    token = ctx.state.issue_token(drive)
    return {"DriveId": drive.drive_id, "WssAddress": ctx.ws_address(token)}


def drive_by_rtc_stream(ctx: ActionContext) -> dict[str, Any]:
    """DriveByRTCStream: drives until interrupted (the RTC source is not emulated)."""
    task_id = _task_id(ctx.body)
    _rtc_config(ctx.body)
    task = _streaming_task(ctx, task_id)
    drive = ctx.state.new_drive(task, "rtc")
    ctx.state.submit_stream(drive)
    return {"DriveId": drive.drive_id}


def interrupt_drive_task(ctx: ActionContext) -> None:
    """InterruptDriveTask: stop the current drive and discard the queue."""
    task = _streaming_task(ctx, _task_id(ctx.body))
    ctx.state.interrupt(task.task_id)


def do_action(ctx: ActionContext) -> None:
    """DoAction (hidden page): play one of the avatar's actions."""
    body = ctx.body
    task_id = _task_id(body)
    name = body.required_str("Action")
    task = _streaming_task(ctx, task_id)
    spec = _digital_human(ctx.config, task.digital_human_id)
    if name not in {a.action for a in spec.actions}:
        raise invalid("Action", f"{name!r} is not an action of this digital human")
    task.actions_done.append(name)


def get_drive_status(ctx: ActionContext) -> dict[str, Any]:
    """GetDriveStatus (removed from the docs; a test hook): by TaskId and/or DriveId."""
    body = ctx.body
    task_id = body.string("TaskId", required=False)
    drive_id = body.string("DriveId", required=False)
    if task_id is None and drive_id is None:
        raise invalid("TaskId", "or DriveId is required")
    drives = list(ctx.state.drives)
    if task_id is not None:
        task = _find_task(ctx, task_id)
        if task.status is TaskStatus.STOPPED:
            raise ApiError(ctx.config.ended_task_code, f"Task {task_id!r} has ended")
        drives = [d for d in drives if d.task_id == task_id]
    if drive_id is not None:
        drives = [d for d in drives if d.drive_id == drive_id]
        owner = ctx.state.tasks.get(drives[0].task_id) if drives else None
        if owner is None or owner.app_id != ctx.app_id:
            raise invalid("DriveId", "not found")
    return {"DriveList": [{"DriveId": d.drive_id, "Status": int(d.status)} for d in drives]}


# --- catalogue -------------------------------------------------------------------------------


def _human_json(ctx: ActionContext, spec: DigitalHumanSpec) -> dict[str, Any]:
    serve = ctx.portrait_url is not None and ctx.config.serve_portraits
    return {
        "DigitalHumanId": spec.digital_human_id,
        "Name": spec.name,
        "AvatarUrl": ctx.portrait_url(spec) if serve and ctx.portrait_url else spec.avatar_url,
        "IsPublic": spec.is_public,
        "Actions": [{"Action": a.action, "PreviewUrl": a.preview_url} for a in spec.actions],
    }


def _paged(items: Sequence[Any], offset: int, limit: int) -> Sequence[Any]:
    return items[offset : offset + limit]


def get_digital_human_list(ctx: ActionContext) -> dict[str, Any]:
    """GetDigitalHumanList: FetchMode 1 all, 2 public, 3 private; paged."""
    body = ctx.body
    mode = body.required_int("FetchMode", default=1, choices=(1, 2, 3))
    offset, limit = _page(body)
    humans = [
        h
        for h in ctx.config.digital_humans
        if mode == 1 or (mode == 2 and h.is_public) or (mode == 3 and not h.is_public)
    ]
    return {
        "Total": len(humans),
        "DigitalHumans": [_human_json(ctx, h) for h in _paged(humans, offset, limit)],
    }


def get_digital_human_info(ctx: ActionContext) -> dict[str, Any]:
    """GetDigitalHumanInfo."""
    digital_human_id = ctx.body.required_str("DigitalHumanId")
    return _human_json(ctx, _digital_human(ctx.config, digital_human_id))


def get_timbre_list(ctx: ActionContext) -> dict[str, Any]:
    """GetTimbreList: public timbres, or the private ones of one digital human."""
    body = ctx.body
    digital_human_id = body.string("DigitalHumanId", required=False, allow_empty=True)
    offset, limit = _page(body)
    if digital_human_id:
        _digital_human(ctx.config, digital_human_id)
        timbres = [t for t in ctx.config.timbres if t.digital_human_id == digital_human_id]
    else:
        timbres = [t for t in ctx.config.timbres if t.digital_human_id is None]
    return {
        "Total": len(timbres),
        "Timbres": [
            {"TimbreId": t.timbre_id, "Name": t.name, "AvatarUrl": t.avatar_url}
            for t in _paged(timbres, offset, limit)
        ],
    }


def describe_emulator(ctx: ActionContext) -> dict[str, Any]:
    """DescribeEmulator: not a ZEGO action. Only the emulator answers it (ZEGO: 100000007),
    with where its preview feed and stand-in face are; how an account learns it may preview."""
    if ctx.describe is None or not ctx.config.describe_emulator:
        raise ApiError(codes.ACTION_UNSUPPORTED, "Action 'DescribeEmulator' is not supported")
    return ctx.describe()


ACTIONS: dict[str, Handler] = {
    "CreateDigitalHumanStreamTask": create_stream_task,
    "StopDigitalHumanStreamTask": stop_stream_task,
    "QueryDigitalHumanStreamTasks": query_stream_tasks,
    "GetDigitalHumanStreamTaskStatus": get_stream_task_status,
    "DriveByText": drive_by_text,
    "DriveByAudio": drive_by_audio,
    "DriveByWsStream": drive_by_ws_stream,
    "DriveByRTCStream": drive_by_rtc_stream,
    "InterruptDriveTask": interrupt_drive_task,
    "DoAction": do_action,
    "GetDriveStatus": get_drive_status,
    "GetDigitalHumanList": get_digital_human_list,
    "GetDigitalHumanInfo": get_digital_human_info,
    "GetTimbreList": get_timbre_list,
    "DescribeEmulator": describe_emulator,
}

"""The stage page: a stand-in for the avatar's video, served at /stage.

A person watching a demo (or a browser test) sees each stream task's avatar state live and can
play the audio every WebSocket drive delivered. The page is one static HTML file
(stage/index.html, plain JS, nothing fetched from the internet) that polls `/stage/feed.json`,
built here from the emulator's records by `stage_feed`.

Avatar states follow the emulator's own playback model (playback.py): a task is "speaking" while
one of its drives plays (WebSocket: from the first frame to `playback_end_at`; text/audio drives:
while in status 2), "ready" when it streams and is quiet, "starting" in status 1 and "offline"
otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web

from .admin import PREFIX
from .records import DriveRecord, DriveStatus, TaskRecord, TaskStatus

if TYPE_CHECKING:
    from .config import EmulatorConfig
    from .surface import EmulatorSurface

AvatarState = Literal["speaking", "ready", "starting", "offline"]

STAGE_PATH = "/stage"
FEED_PATH = "/stage/feed.json"
RECENT_DRIVES = 20
"""Drives listed on the page, newest first: enough for a demo session, small enough to poll."""

# Read once at import: file I/O inside the event loop would stall it (and HA's tests flag it).
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_PAGE = (Path(__file__).parent / "stage" / "index.html").read_bytes()


def drive_playing(drive: DriveRecord, now: float) -> bool:
    """Whether the avatar is audibly playing this drive at loop time `now`."""
    if drive.kind != "ws":
        return drive.status is DriveStatus.DRIVING
    if drive.first_frame_at is None or now < drive.first_frame_at:
        return False
    if drive.playback_end_at is not None:
        return now < drive.playback_end_at
    # No end known yet: still receiving, unless the drive already failed or ended without audio.
    return not drive.terminal


def task_state(task: TaskRecord, drives: list[DriveRecord], now: float) -> AvatarState:
    """The avatar's state as the stage shows it."""
    if task.status is TaskStatus.INITIALIZING:
        return "starting"
    if task.status is not TaskStatus.STREAMING:
        return "offline"
    if any(drive_playing(d, now) for d in drives):
        return "speaking"
    return "ready"


def _avatar_names(config: EmulatorConfig) -> dict[str, str]:
    return {h.digital_human_id: h.name for h in config.digital_humans}


def _since(later: float | None, earlier: float | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round(later - earlier, 4)


def _drive_json(
    drive: DriveRecord, now: float, avatar: str | None, *, recorded: bool
) -> dict[str, Any]:
    has_audio = recorded and drive.kind == "ws" and drive.bytes_received > 0
    return {
        "drive_id": drive.drive_id,
        "task_id": drive.task_id,
        "avatar": avatar,
        "kind": drive.kind,
        "status": int(drive.status),
        "status_name": drive.status.name.lower(),
        "playing": drive_playing(drive, now),
        "age_seconds": round(now - drive.issued_at, 3),
        # Latency as the avatar sees it: from the Start command to the first audio frame.
        "first_frame_seconds": _since(drive.first_frame_at, drive.start_at),
        "first_frame_after_issue_seconds": _since(drive.first_frame_at, drive.issued_at),
        "audio_seconds": round(drive.audio_seconds, 4),
        "underruns": drive.underruns,
        "underrun_seconds": round(drive.underrun_seconds, 4),
        "max_lead_seconds": round(drive.max_lead_seconds, 4),
        "last_frame_to_stop_seconds": (
            None if drive.last_frame_to_stop is None else round(drive.last_frame_to_stop, 4)
        ),
        "violations": list(drive.violations),
        "interrupted": drive.interrupted,
        "dropped": drive.dropped,
        "fail_reason": drive.fail_reason,
        "text": drive.text,
        "sample_rate": drive.sample_rate,
        "audio_url": (f"{PREFIX}/drives/{drive.drive_id}/audio.wav" if has_audio else None),
    }


def stage_feed(emu: EmulatorSurface, now: float) -> dict[str, Any]:
    """The JSON the stage page polls: every task with its state, and the recent drives."""
    names = _avatar_names(emu.config)
    index = emu.state.drive_index
    tasks: list[dict[str, Any]] = []
    # Live tasks first (newest first), then ended ones: the stage shows what can speak on top.
    ordered = sorted(emu.tasks.values(), key=lambda t: (not t.live, -t.created_at))
    for task in ordered:
        drives = [index[d] for d in task.drive_ids if d in index]
        speaking = [d.drive_id for d in drives if drive_playing(d, now)]
        tasks.append(
            {
                "task_id": task.task_id,
                "avatar": names.get(task.digital_human_id, task.digital_human_id),
                "digital_human_id": task.digital_human_id,
                "status": int(task.status),
                "status_name": task.status.name.lower(),
                "state": task_state(task, drives, now),
                "room_id": task.room_id,
                "stream_id": task.stream_id,
                "background_color": task.background_color,
                "end_reason": task.end_reason,
                "drive_count": len(drives),
                "speaking_drive_id": speaking[-1] if speaking else None,
            }
        )
    recent = list(reversed(emu.drives[-RECENT_DRIVES:]))
    drive_names = {t.task_id: names.get(t.digital_human_id) for t in emu.tasks.values()}
    return {
        "now": now,
        "tasks": tasks,
        "drives": [
            _drive_json(d, now, drive_names.get(d.task_id), recorded=emu.config.record_audio)
            for d in recent
        ],
        "drive_count": len(emu.drives),
    }


@web.middleware
async def _root_to_stage(request: web.Request, handler: _Handler) -> web.StreamResponse:
    # A person typing the emulator's address gets the stage. Only a bare browser GET of "/" is
    # redirected: every ZEGO call carries a query string (Action, AppId, signature), so the
    # REST API on "/" keeps answering exactly as before.
    if (
        request.method == "GET"
        and request.path == "/"
        and not request.query_string
        and "text/html" in request.headers.get("Accept", "")
    ):
        raise web.HTTPFound(STAGE_PATH)
    return await handler(request)


def add_stage_routes(app: web.Application, emu: EmulatorSurface) -> None:
    """Register /stage (the page), /stage/feed.json (its data) and the "/" redirect."""

    async def page(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=_PAGE,
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "no-store"},
        )

    async def feed(request: web.Request) -> web.StreamResponse:
        now = asyncio.get_running_loop().time()
        return web.json_response(stage_feed(emu, now), headers={"Cache-Control": "no-store"})

    app.router.add_get(STAGE_PATH, page)
    app.router.add_get(STAGE_PATH + "/", page)
    app.router.add_get(FEED_PATH, feed)
    app.middlewares.append(_root_to_stage)

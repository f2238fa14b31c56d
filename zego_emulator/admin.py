"""The admin API under /_emulator/ (JSON, no signature, loopback clients only).

GET    /_emulator/state                    settings (secrets masked), tasks, connection counts
GET    /_emulator/drives                   every DriveRecord (without audio)
GET    /_emulator/drives/{id}              one DriveRecord
GET    /_emulator/drives/{id}/audio.wav    the recorded PCM as WAV
GET    /_emulator/events                   callback-shaped events
GET    /_emulator/requests                 REST requests as answered
GET    /_emulator/faults                   active faults
POST   /_emulator/faults                   add a fault (Fault fields as JSON) -> the fault
DELETE /_emulator/faults                   clear every fault
DELETE /_emulator/faults/{fault_id}        remove one fault
POST   /_emulator/tasks/{id}/expire        end a task as if its TTL ran out
POST   /_emulator/credentials/revoke       the ServerSecret stops working -> {"ServerSecret": new}
POST   /_emulator/credentials/secret       {"ServerSecret": "..."} becomes the valid secret
POST   /_emulator/reset                    forget everything, restore the initial secret
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import ipaddress
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .config import config_summary
from .faults import Fault

if TYPE_CHECKING:
    from .surface import EmulatorSurface

PREFIX = "/_emulator"

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _is_loopback(remote: str | None) -> bool:
    if remote is None:
        return False
    try:
        return ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise TypeError("body must be a JSON object")
    return data


def add_admin_routes(app: web.Application, emu: EmulatorSurface) -> None:
    """Register the admin API on the REST application."""

    def loopback_only(handler: _Handler) -> _Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if not _is_loopback(request.remote):
                return _error(403, "the admin API answers loopback clients only")
            return await handler(request)

        return guarded

    async def get_state(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "endpoint": emu.endpoint,
                "ws_endpoint": emu.ws_endpoint,
                "settings": config_summary(emu.config),
                "tasks": [t.to_json() for t in emu.tasks.values()],
                "open_ws_connections": emu.open_ws_connections,
                "max_ws_connections_per_task": emu.max_ws_connections_per_task,
                "drive_count": len(emu.drives),
                "event_count": len(emu.events),
                "request_count": len(emu.requests),
                "faults": [f.to_json() for f in emu.faults],
            }
        )

    async def get_drives(request: web.Request) -> web.Response:
        return web.json_response([d.to_json() for d in emu.drives])

    async def get_drive(request: web.Request) -> web.Response:
        drive = emu.state.drive_index.get(request.match_info["drive_id"])
        if drive is None:
            return _error(404, "unknown DriveId")
        return web.json_response(drive.to_json())

    async def get_audio(request: web.Request) -> web.Response:
        drive = emu.state.drive_index.get(request.match_info["drive_id"])
        if drive is None:
            return _error(404, "unknown DriveId")
        if drive.kind != "ws":
            return _error(404, "only WebSocket drives carry audio")
        return web.Response(body=drive.wav_bytes(), content_type="audio/wav")

    async def get_events(request: web.Request) -> web.Response:
        return web.json_response(emu.events)

    async def get_requests(request: web.Request) -> web.Response:
        return web.json_response([r.to_json() for r in emu.requests])

    async def get_faults(request: web.Request) -> web.Response:
        return web.json_response([f.to_json() for f in emu.faults])

    async def post_fault(request: web.Request) -> web.Response:
        try:
            fault = Fault.from_json(await _json_body(request))
        except (ValueError, TypeError) as err:
            return _error(400, str(err))
        emu.faults.add(fault)
        return web.json_response(fault.to_json(), status=201)

    async def delete_faults(request: web.Request) -> web.Response:
        emu.faults.clear()
        return web.json_response({})

    async def delete_fault(request: web.Request) -> web.Response:
        raw = request.match_info["fault_id"]
        if not raw.isdigit() or not emu.faults.remove(int(raw)):
            return _error(404, "unknown fault_id")
        return web.json_response({})

    async def expire(request: web.Request) -> web.Response:
        task_id = request.match_info["task_id"]
        if task_id not in emu.tasks:
            return _error(404, "unknown TaskId")
        emu.expire_task(task_id)
        return web.json_response(emu.tasks[task_id].to_json())

    async def revoke(request: web.Request) -> web.Response:
        return web.json_response({"ServerSecret": emu.revoke_credentials()})

    async def set_secret(request: web.Request) -> web.Response:
        try:
            body = await _json_body(request)
        except (ValueError, TypeError) as err:
            return _error(400, str(err))
        secret = body.get("ServerSecret")
        if not isinstance(secret, str) or not secret:
            return _error(400, "ServerSecret (a non-empty string) is required")
        emu.set_server_secret(secret)
        return web.json_response({})

    async def reset(request: web.Request) -> web.Response:
        emu.reset()
        return web.json_response({})

    routes: list[tuple[str, str, _Handler]] = [
        ("GET", "/state", get_state),
        ("GET", "/drives", get_drives),
        ("GET", "/drives/{drive_id}", get_drive),
        ("GET", "/drives/{drive_id}/audio.wav", get_audio),
        ("GET", "/events", get_events),
        ("GET", "/requests", get_requests),
        ("GET", "/faults", get_faults),
        ("POST", "/faults", post_fault),
        ("DELETE", "/faults", delete_faults),
        ("DELETE", "/faults/{fault_id}", delete_fault),
        ("POST", "/tasks/{task_id}/expire", expire),
        ("POST", "/credentials/revoke", revoke),
        ("POST", "/credentials/secret", set_secret),
        ("POST", "/reset", reset),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, PREFIX + path, loopback_only(handler))

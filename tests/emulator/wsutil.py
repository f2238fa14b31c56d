"""WebSocket helpers for the emulator's tests."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:
    from .signing import Api

FRAME_16K_40MS = 1280  # 16000 Hz x 2 bytes x 0.04 s


def pcm(seconds: float, rate: int = 16000, channels: int = 1) -> bytes:
    """Silence-ish s16le PCM of the given length (a ramp, so recordings are checkable)."""
    count = round(seconds * rate) * channels
    return bytes((i * 7) % 256 for i in range(count * 2))


def frames(data: bytes, size: int = FRAME_16K_40MS) -> list[bytes]:
    """Split PCM into frames."""
    return [data[i : i + size] for i in range(0, len(data), size)]


def start_msg(drive_id: str, **payload: Any) -> str:
    return json.dumps({"Action": "Start", "Payload": {"DriveId": drive_id, **payload}})


def stop_msg(drive_id: str) -> str:
    return json.dumps({"Action": "Stop", "Payload": {"DriveId": drive_id}})


async def new_drive(api: Api, task_id: str) -> tuple[str, str]:
    """DriveByWsStream -> (DriveId, WssAddress)."""
    data = await api.ok("DriveByWsStream", {"TaskId": task_id})
    return str(data["DriveId"]), str(data["WssAddress"])


async def connect(api: Api, address: str) -> aiohttp.ClientWebSocketResponse:
    """Connect like ZEGO's samples: certificate checks off (the address is a bare IP)."""
    return await api.session.ws_connect(
        address, ssl=False, timeout=aiohttp.ClientWSTimeout(ws_close=5)
    )


async def open_drive(
    api: Api, task_id: str, **start: Any
) -> tuple[str, aiohttp.ClientWebSocketResponse]:
    """DriveByWsStream, connect, Start."""
    drive_id, address = await new_drive(api, task_id)
    ws = await connect(api, address)
    await ws.send_str(start_msg(drive_id, **start))
    return drive_id, ws


async def expect_close(
    ws: aiohttp.ClientWebSocketResponse, limit: float = 5.0
) -> tuple[int | None, str]:
    """Wait for the server to close; returns (close code, reason). Fails on any data message."""
    async with asyncio.timeout(limit):
        while True:
            msg = await ws.receive()
            if msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
            ):
                return ws.close_code, str(msg.extra or "")
            if msg.type is aiohttp.WSMsgType.ERROR:
                return ws.close_code, "error"
            raise AssertionError(f"the server sent a data message: {msg!r}")


async def send_paced(
    ws: aiohttp.ClientWebSocketResponse, chunks: list[bytes], *, head_start: float, rate_bytes: int
) -> None:
    """Send frames against an absolute audio clock: frame k leaves at t0 + pos_k - head_start."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    position = 0.0
    for chunk in chunks:
        delay = t0 + position - head_start - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await ws.send_bytes(chunk)
        position += len(chunk) / rate_bytes

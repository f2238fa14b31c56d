"""An independent signer and raw REST caller for the emulator's tests.

Deliberately not the integration's client: a second implementation written from the spec catches
a mistake that would otherwise hide in both.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import json
import secrets
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiohttp

    from zego_emulator import ZegoEmulator


def md5_signature(app_id: int | str, nonce: str, secret: str, timestamp: int | str) -> str:
    """md5(AppId + SignatureNonce + ServerSecret + Timestamp), lower hex."""
    return hashlib.md5(
        f"{app_id}{nonce}{secret}{timestamp}".encode(), usedforsecurity=False
    ).hexdigest()


def signed_params(
    action: str,
    app_id: int,
    secret: str,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The common query parameters of one request."""
    ts = int(time.time()) if timestamp is None else timestamp
    nonce = secrets.token_hex(8) if nonce is None else nonce
    return {
        "Action": action,
        "AppId": str(app_id),
        "SignatureNonce": nonce,
        "Timestamp": str(ts),
        "Signature": md5_signature(app_id, nonce, secret, ts),
        "SignatureVersion": "2.0",
    }


@dataclass
class Reply:
    """One HTTP answer."""

    status: int
    body: Any
    headers: Any

    @property
    def code(self) -> int:
        return int(self.body["Code"])

    @property
    def message(self) -> str:
        return str(self.body["Message"])

    @property
    def data(self) -> Any:
        return self.body.get("Data")


class Api:
    """Signed raw calls to one emulator."""

    def __init__(self, session: aiohttp.ClientSession, emu: ZegoEmulator) -> None:
        self.session = session
        self.emu = emu

    async def raw(
        self,
        params: dict[str, str],
        body: Any = None,
        *,
        method: str = "POST",
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Send exactly what is given (body as JSON unless `data` is given)."""
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if data is not None:
            kwargs["data"] = data
        elif body is not None:
            kwargs["json"] = body
        async with self.session.request(method, self.emu.endpoint + "/", **kwargs) as resp:
            text = await resp.text()
            try:
                parsed: Any = json.loads(text)
            except ValueError:
                parsed = text
            return Reply(resp.status, parsed, resp.headers)

    async def call(
        self,
        action: str,
        body: Any = None,
        *,
        app_id: int | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        nonce: str | None = None,
    ) -> Reply:
        """A correctly signed POST with a JSON body ({} when None)."""
        cfg = self.emu.config
        params = signed_params(
            action,
            cfg.app_id if app_id is None else app_id,
            cfg.server_secret if secret is None else secret,
            timestamp=int(self.emu.now()) if timestamp is None else timestamp,
            nonce=nonce,
        )
        return await self.raw(params, {} if body is None else body)

    async def ok(self, action: str, body: Any = None, **kwargs: Any) -> Any:
        """Call and require Code 0; returns Data."""
        reply = await self.call(action, body, **kwargs)
        assert reply.status == 200, reply
        assert reply.code == 0, reply.body
        return reply.data

    async def create_task(self, stream_id: str = "stream_1", **extra: Any) -> str:
        """Create a task for Lobby Anna; returns its TaskId."""
        body = {
            "DigitalHumanConfig": {
                "DigitalHumanId": self.emu.config.digital_humans[0].digital_human_id
            },
            "RTCConfig": {"RoomId": "room_1", "StreamId": stream_id},
            **extra,
        }
        data = await self.ok("CreateDigitalHumanStreamTask", body)
        return str(data["TaskId"])

    async def streaming_task(self, stream_id: str = "stream_1", **extra: Any) -> str:
        """Create a task and wait until it streams."""
        from zego_emulator import TaskStatus

        task_id = await self.create_task(stream_id, **extra)
        await self.emu.wait_for_task(task_id, TaskStatus.STREAMING, timeout=5)
        return task_id

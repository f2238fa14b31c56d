"""The preview player's side of the emulator: a stand-in for the avatar's RTC video.

The emulator renders no video. A dashboard card pointed at an emulator account logs into
`/preview/feed` with the same Token04 it would give ZEGO's SDK, and gets, for its room and
stream: whether the stream task is live, and the PCM of every WebSocket drive as the emulator
receives it, framed by audio_start / audio_end (the end carries when the emulator's playback
model says the audio finishes). The card animates `/preview/face.svg` (its element
`id="mouth"` opens with the audio level) and plays the PCM.

The emulator also serves the digital humans' portraits at `/portraits/{id}.svg`: the
AvatarUrl it answers is signed and expires (`portrait_url_ttl`), as ZEGO's 24 h URLs do.

Only the emulator answers `DescribeEmulator` (ZEGO: "unknown action"); its answer is how an
account learns that it may offer the preview.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from aiohttp import WSMsgType, web

from .records import DriveRecord, TaskStatus
from .rtc_token import TokenClaims, TokenRejectedError, verify_token04

if TYPE_CHECKING:
    from .config import DigitalHumanSpec
    from .records import TaskRecord
    from .surface import EmulatorSurface

_LOGGER = logging.getLogger(__name__)

FEED_PATH = "/preview/feed"
FACE_PATH = "/preview/face.svg"
PORTRAIT_PATH = "/portraits/{digital_human_id}.svg"

CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_SLOW = 4408
LOGIN_TIMEOUT = 10.0
# Told this long before the token expires, as ZEGO's SDK fires tokenWillExpire.
TOKEN_WARNING = 30.0
# A viewer that cannot keep up (this many messages queued) is dropped, not buffered forever.
MAX_QUEUED = 2000

_CORS = {"Access-Control-Allow-Origin": "*"}
_FACE_COLOURS = ("#f2c7a5", "#d9a47c", "#a8734f", "#e8b993")


def face_svg(name: str | None = None, colour_index: int = 0) -> str:
    """A 9:16 stand-in face; its `mouth` ellipse is what a player opens with the sound."""
    skin = _FACE_COLOURS[colour_index % len(_FACE_COLOURS)]
    label = (
        f'<text x="180" y="600" font-family="sans-serif" font-size="28" fill="#e6e6e6" '
        f'text-anchor="middle">{escape(name)}</text>'
        if name
        else ""
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 360 640" width="360" height="640">'
        '<rect width="360" height="640" fill="#1c2430"/>'
        '<rect x="70" y="470" width="220" height="170" rx="90" fill="#3b5b7a"/>'
        f'<ellipse cx="180" cy="290" rx="110" ry="140" fill="{skin}"/>'
        '<path d="M70 250 Q180 90 290 250 Q250 170 180 175 Q110 170 70 250Z" fill="#3a2a20"/>'
        '<ellipse cx="140" cy="280" rx="12" ry="9" fill="#222"/>'
        '<ellipse cx="220" cy="280" rx="12" ry="9" fill="#222"/>'
        '<path d="M180 300 L170 340 L188 340" fill="none" stroke="#8a5a40" stroke-width="4"/>'
        '<ellipse id="mouth" cx="180" cy="375" rx="34" ry="22" fill="#7a2430" '
        'style="transform-box:fill-box;transform-origin:center;transform:scaleY(0.12)"/>'
        f"{label}</svg>"
    )


class PreviewViewer:
    """One logged-in feed connection."""

    def __init__(self, hub: PreviewHub, ws: web.WebSocketResponse, claims: TokenClaims) -> None:
        self.hub = hub
        self.ws = ws
        self.app_id = claims.app_id
        self.user_id = claims.user_id
        self.room_id = str(claims.room_id)
        self.stream_id = ""
        self.expires_at = claims.expire
        self.live: bool | None = None
        self.started: set[str] = set()
        self.queue: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self._timers: list[asyncio.TimerHandle] = []
        self.closed = False

    def watches(self, task: TaskRecord) -> bool:
        return (task.app_id, task.room_id, task.stream_id) == (
            self.app_id,
            self.room_id,
            self.stream_id,
        )

    def send(self, message: str | bytes) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= MAX_QUEUED:
            self.close(CLOSE_TOO_SLOW, "viewer too slow")
            return
        self.queue.put_nowait(message)

    def send_json(self, message: dict[str, Any]) -> None:
        self.send(json.dumps(message, separators=(",", ":")))

    def send_live(self, live: bool) -> None:
        if live != self.live:
            self.live = live
            self.send_json({"type": "stream", "live": live})

    def arm_expiry(self) -> None:
        """(Re)start the token_will_expire warning and the expiry close."""
        for timer in self._timers:
            timer.cancel()
        loop = asyncio.get_running_loop()
        left = self.expires_at - self.hub.emu.now()
        self._timers = [
            loop.call_later(
                max(0.0, left - TOKEN_WARNING), self.send_json, {"type": "token_will_expire"}
            ),
            loop.call_later(max(0.0, left), self.close, CLOSE_UNAUTHORIZED, "token expired"),
        ]

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        for timer in self._timers:
            timer.cancel()
        self.queue.put_nowait(None)
        self.hub.spawn(self.ws.close(code=code, message=reason.encode()))


class PreviewHub:
    """Every feed viewer; fed by the emulator's state (EmulatorState.observer)."""

    def __init__(self, emu: EmulatorSurface) -> None:
        self.emu = emu
        self.viewers: set[PreviewViewer] = set()
        # Loop time each drive's playback was last announced to end at.
        self._ended: dict[str, float] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._portrait_key = secrets.token_bytes(32)

    # --- what the state reports ----------------------------------------------------------------

    def _viewers_of(self, drive: DriveRecord) -> list[PreviewViewer]:
        task = self.emu.state.tasks.get(drive.task_id)
        if task is None:
            return []
        return [v for v in self.viewers if v.watches(task)]

    def task_status(self, task: TaskRecord) -> None:
        """A task changed status: its viewers learn whether the stream is live."""
        for viewer in self.viewers:
            if viewer.watches(task):
                viewer.send_live(self._live(viewer))

    def audio(self, drive: DriveRecord, data: bytes) -> None:
        """A WebSocket drive's accepted frame: relayed as it arrived."""
        for viewer in self._viewers_of(drive):
            if drive.drive_id not in viewer.started:
                # Also for a viewer that joined in the middle of the drive.
                viewer.started.add(drive.drive_id)
                viewer.send_json(
                    {
                        "type": "audio_start",
                        "drive_id": drive.drive_id,
                        "sample_rate": drive.sample_rate,
                    }
                )
            viewer.send(bytes(data))

    def audio_end(self, drive: DriveRecord, end_at: float) -> None:
        """The drive's input is over (Stop, lost, interrupted, task ended).

        Announced once; again only when an interruption brings the end forward.
        """
        announced = self._ended.get(drive.drive_id)
        if announced is not None and end_at >= announced - 1e-6:
            return
        self._ended[drive.drive_id] = end_at
        left = max(0.0, end_at - self.emu.state.now())
        for viewer in self._viewers_of(drive):
            if drive.drive_id not in viewer.started:
                continue
            viewer.send_json(
                {"type": "audio_end", "drive_id": drive.drive_id, "playback_end_in": round(left, 4)}
            )

    # --- plumbing ------------------------------------------------------------------------------

    def _live(self, viewer: PreviewViewer) -> bool:
        return any(
            viewer.watches(task) and task.status is TaskStatus.STREAMING
            for task in self.emu.state.tasks.values()
        )

    def spawn(self, coro: Any) -> None:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close_all(self) -> None:
        """Shutdown: close every viewer and wait (bounded) for the closes."""
        for viewer in list(self.viewers):
            viewer.close(1001, "emulator shutting down")
        if self._background:
            await asyncio.wait(list(self._background), timeout=2.0)

    def _verify(self, token: str, user_id: str, room_id: str) -> TokenClaims:
        return verify_token04(
            token,
            secrets_by_app=self.emu.config.secrets_by_app(),
            user_id=user_id,
            room_id=room_id,
            now=self.emu.now(),
        )

    # --- portraits -----------------------------------------------------------------------------

    def _portrait_signature(self, digital_human_id: str, expires: int) -> str:
        message = f"{digital_human_id}:{expires}".encode()
        return hmac.new(self._portrait_key, message, hashlib.sha256).hexdigest()[:32]

    def portrait_url(self, spec: DigitalHumanSpec) -> str:
        """A signed portrait URL of the emulator's own, valid `portrait_url_ttl` seconds."""
        expires = int(self.emu.now() + self.emu.config.portrait_url_ttl)
        path = PORTRAIT_PATH.format(digital_human_id=quote(spec.digital_human_id, safe=""))
        signature = self._portrait_signature(spec.digital_human_id, expires)
        return f"{self.emu.endpoint}{path}?Expires={expires}&Signature={signature}"

    def describe(self) -> dict[str, Any]:
        """The DescribeEmulator answer: what only the emulator says about itself."""
        base = self.emu.endpoint
        return {
            "Emulator": True,
            "PreviewFeedUrl": "ws" + base.removeprefix("http") + FEED_PATH,
            "PreviewFaceUrl": base + FACE_PATH,
        }

    # --- HTTP ----------------------------------------------------------------------------------

    async def handle_face(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            text=face_svg(),
            content_type="image/svg+xml",
            headers={**_CORS, "Cache-Control": "max-age=3600"},
        )

    async def handle_portrait(self, request: web.Request) -> web.StreamResponse:
        digital_human_id = request.match_info["digital_human_id"]
        humans = self.emu.config.digital_humans
        index = next(
            (i for i, h in enumerate(humans) if h.digital_human_id == digital_human_id), None
        )
        try:
            expires = int(request.query.get("Expires", ""))
        except ValueError:
            return web.Response(status=403, text="Forbidden: no expiry", headers=_CORS)
        signature = request.query.get("Signature", "")
        expected = self._portrait_signature(digital_human_id, expires)
        if not hmac.compare_digest(signature, expected):
            return web.Response(status=403, text="Forbidden: bad signature", headers=_CORS)
        if expires <= self.emu.now():
            return web.Response(status=403, text="Forbidden: URL expired", headers=_CORS)
        if index is None:
            return web.Response(status=404, text="Not found", headers=_CORS)
        return web.Response(
            text=face_svg(humans[index].name, index),
            content_type="image/svg+xml",
            headers={**_CORS, "Cache-Control": "private, max-age=600"},
        )

    async def handle_feed(self, request: web.Request) -> web.StreamResponse:
        # No Origin check: the card runs on Home Assistant's page, another origin.
        # No heartbeat: a viewer that vanishes fails the next audio send, and aiohttp 3.14 keeps
        # the heartbeat's timer alive after a refused login's close (a leaked timer per viewer).
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        viewer = await self._login(ws)
        if viewer is None:
            return ws
        self.viewers.add(viewer)
        writer = asyncio.get_running_loop().create_task(self._write(viewer))
        try:
            viewer.send_live(self._live(viewer))
            viewer.arm_expiry()
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    self._on_text(viewer, msg.data)
        finally:
            self.viewers.discard(viewer)
            viewer.close(1000, "bye")
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    def _check_login(self, data: str) -> tuple[TokenClaims, str]:
        """(claims, stream id) of a valid login message; TokenRejectedError otherwise."""
        try:
            login = json.loads(data)
        except ValueError:
            raise TokenRejectedError("login is not JSON") from None
        if not isinstance(login, dict) or login.get("type") != "login":
            raise TokenRejectedError("login expected")
        fields = [login.get(k) for k in ("token", "user_id", "room_id", "stream_id")]
        if not all(isinstance(f, str) and f for f in fields):
            raise TokenRejectedError("login needs token, user_id, room_id and stream_id")
        token, user_id, room_id, stream_id = (str(f) for f in fields)
        return self._verify(token, user_id, room_id), stream_id

    def _check_renewal(self, viewer: PreviewViewer, token: object) -> TokenClaims:
        if not isinstance(token, str):
            raise TokenRejectedError("renew needs a token")
        claims = self._verify(token, viewer.user_id, viewer.room_id)
        if claims.app_id != viewer.app_id:
            raise TokenRejectedError("token was made for another AppID")
        return claims

    async def _login(self, ws: web.WebSocketResponse) -> PreviewViewer | None:
        reason = "login expected"
        try:
            msg = await ws.receive(timeout=LOGIN_TIMEOUT)
        except TimeoutError:
            msg = None
            reason = f"no login within {LOGIN_TIMEOUT:g} s"
        if msg is not None and msg.type is WSMsgType.TEXT:
            try:
                claims, stream_id = self._check_login(msg.data)
            except TokenRejectedError as err:
                reason = err.reason
            else:
                viewer = PreviewViewer(self, ws, claims)
                viewer.stream_id = stream_id
                await ws.send_json({"type": "login", "ok": True, "expires_at": claims.expire})
                return viewer
        _LOGGER.debug("preview login refused: %s", reason)
        if not ws.closed:
            await ws.send_json({"type": "login", "ok": False, "reason": reason})
            await ws.close(code=CLOSE_UNAUTHORIZED, message=b"login refused")
        return None

    def _on_text(self, viewer: PreviewViewer, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict) or message.get("type") != "renew":
            return
        try:
            claims = self._check_renewal(viewer, message.get("token"))
        except TokenRejectedError as err:
            viewer.send_json(
                {
                    "type": "renew",
                    "ok": False,
                    "expires_at": viewer.expires_at,
                    "reason": err.reason,
                }
            )
            return
        viewer.expires_at = claims.expire
        viewer.arm_expiry()
        viewer.send_json({"type": "renew", "ok": True, "expires_at": claims.expire})

    async def _write(self, viewer: PreviewViewer) -> None:
        while True:
            message = await viewer.queue.get()
            if message is None or viewer.ws.closed:
                return
            try:
                if isinstance(message, bytes):
                    await viewer.ws.send_bytes(message)
                else:
                    await viewer.ws.send_str(message)
            except (ConnectionError, RuntimeError):
                return


def add_preview_routes(app: web.Application, hub: PreviewHub) -> None:
    """Register the feed, the stand-in face and the portraits."""
    app.router.add_get(FEED_PATH, hub.handle_feed)
    app.router.add_get(FACE_PATH, hub.handle_face)
    app.router.add_get(PORTRAIT_PATH, hub.handle_portrait)

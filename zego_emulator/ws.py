"""The WebSocket PCM drive channel (zego-api.md §6): handshake checks, Start/PCM/Stop protocol.

The server never sends data messages. It reports problems by recording a violation on the
DriveRecord and closing the socket with a 4xxx code (see state.py and README).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import WSMessage, WSMsgType, web

from . import state as st
from .records import DriveRecord, DriveStatus

if TYPE_CHECKING:
    from .config import EmulatorConfig
    from .faults import Fault, FaultSet

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATES = (16000, 24000)
CHANNELS = (1, 2)
VOICE_CHANNELS = (0, 1, 2)


class _ViolationError(Exception):
    """A protocol violation: record it, close with `code`."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class WsConnection:
    """One accepted WebSocket: the protocol state for the drive its token was issued for."""

    def __init__(
        self,
        *,
        server: WsServer,
        ws: web.WebSocketResponse,
        request: web.Request,
        task_id: str,
        drive: DriveRecord,
        drop_after: int | None,
        silent: Fault | None = None,
    ) -> None:
        self.task_id = task_id
        self.drive_id = drive.drive_id
        self._server = server
        self._state = server.state
        self._config = server.state.config
        self._ws = ws
        self._request = request
        self._drive = drive
        self._drop_after = drop_after
        self._silent = silent
        self._silenced = False
        self._unsilenced = asyncio.Event()
        self._bytes_in = 0
        self._started = False
        self._stopped = False
        self._starts = 0
        self._fresh_segment = False
        self._server_closed = False
        self._dropped = False
        self._close_task: asyncio.Task[bool] | None = None

    # --- closing -------------------------------------------------------------------------------

    def _mark_closed(self, code: int, reason: str) -> bool:
        """First close wins; the connection stops counting as open at once."""
        if self._server_closed:
            return False
        self._server_closed = True
        self._state.remove_link(self)
        self._drive.close_code = code
        self._drive.close_reason = reason
        return True

    def server_close(self, code: int, reason: str) -> None:
        """Close from outside the handler (task ended, interrupt, replaced, shutdown)."""
        self._unsilenced.set()
        if not self._mark_closed(code, reason):
            return
        self._close_task = self._server.spawn(self._ws.close(code=code, message=reason.encode()))

    async def _close(self, code: int, reason: str) -> None:
        if self._mark_closed(code, reason):
            await self._ws.close(code=code, message=reason.encode())

    # --- protocol ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Read until the socket closes; apply every protocol rule."""
        try:
            try:
                msg = await self._ws.receive(timeout=self._config.ws_start_timeout)
            except TimeoutError:
                timeout = self._config.ws_start_timeout
                raise _ViolationError(
                    st.CLOSE_START_TIMEOUT, f"Start not received within {timeout:g} s"
                ) from None
            while self._dispatch(msg):
                if self._silenced:
                    await self._stay_silent()
                msg = await self._ws.receive()
        except _ViolationError as violation:
            self._violate(violation)
            await self._close(violation.code, violation.text[:120])
        finally:
            self._on_end()
            if self._close_task is not None:
                await asyncio.wait([self._close_task], timeout=self._config.ws_close_timeout + 1)
        if not self._dropped and not self._ws.closed:
            # Answer the client's close frame (autoclose is off so the link is dropped first).
            await self._ws.close()

    def _dispatch(self, msg: WSMessage) -> bool:
        """Handle one message; False when the connection is over."""
        if msg.type is WSMsgType.TEXT:
            self._on_text(msg.data)
            return True
        if msg.type is WSMsgType.BINARY:
            return self._on_binary(msg.data)
        if msg.type is WSMsgType.CLOSE:
            # Client-initiated close: stop counting it as open before the reply goes out.
            self._state.remove_link(self)
            if not self._server_closed:
                self._drive.close_code = int(msg.data) if msg.data is not None else None
                self._drive.close_reason = msg.extra or None
        return False

    def _on_text(self, data: str) -> None:
        try:
            command = json.loads(data)
        except ValueError:
            raise _ViolationError(st.CLOSE_BAD_COMMAND, "text frame is not JSON") from None
        if not isinstance(command, dict):
            raise _ViolationError(st.CLOSE_BAD_COMMAND, "text frame is not a JSON object")
        action = command.get("Action")
        payload = command.get("Payload")
        if action not in ("Start", "Stop"):
            raise _ViolationError(st.CLOSE_UNEXPECTED_MESSAGE, f"unknown Action {action!r}")
        if not isinstance(payload, dict):
            raise _ViolationError(st.CLOSE_BAD_COMMAND, f"{action} without a Payload object")
        if action == "Start":
            self._on_start(payload)
        else:
            self._on_stop(payload)

    def _check_drive_id(self, payload: dict[str, Any], action: str) -> None:
        drive_id = payload.get("DriveId")
        if not isinstance(drive_id, str) or not drive_id:
            raise _ViolationError(st.CLOSE_BAD_COMMAND, f"{action} without Payload.DriveId")
        if drive_id != self.drive_id:
            raise _ViolationError(
                st.CLOSE_DRIVE_ID_MISMATCH, f"{action} DriveId does not match the token's drive"
            )

    @staticmethod
    def _choice(payload: dict[str, Any], name: str, default: int, allowed: tuple[int, ...]) -> int:
        value = payload.get(name, default)
        if type(value) is not int or value not in allowed:
            raise _ViolationError(
                st.CLOSE_BAD_COMMAND, f"Start Payload.{name} must be one of {list(allowed)}"
            )
        return value

    def _on_start(self, payload: dict[str, Any]) -> None:
        if self._started and not self._stopped:
            raise _ViolationError(st.CLOSE_UNEXPECTED_MESSAGE, "Start while a drive is in progress")
        if self._stopped and self._config.drive_id_reuse == "reject":
            raise _ViolationError(
                st.CLOSE_DRIVE_ID_REUSED, "DriveId reused: call DriveByWsStream for a new DriveId"
            )
        self._check_drive_id(payload, "Start")
        sample_rate = self._choice(payload, "SampleRate", 16000, SAMPLE_RATES)
        channel = self._choice(payload, "Channel", 1, CHANNELS)
        voice_channel = self._choice(payload, "VoiceChannel", 0, VOICE_CHANNELS)
        drive = self._drive
        drive.sample_rate = sample_rate
        drive.channel = channel
        drive.voice_channel = voice_channel
        if drive.start_at is None:
            drive.start_at = self._state.now()
        self._starts += 1
        if self._starts > 1:
            self._state.reopen_stream(drive)
            self._fresh_segment = True
        self._started = True
        self._stopped = False

    def _on_stop(self, payload: dict[str, Any]) -> None:
        if not self._started:
            raise _ViolationError(st.CLOSE_NOT_STARTED, "Stop before Start")
        if self._stopped:
            raise _ViolationError(st.CLOSE_UNEXPECTED_MESSAGE, "Stop received twice")
        self._check_drive_id(payload, "Stop")
        self._stopped = True
        self._state.ws_stop(self._drive, self._state.now())

    def _on_binary(self, data: bytes) -> bool:
        arrival = self._state.now()
        if not self._started:
            raise _ViolationError(st.CLOSE_NOT_STARTED, "binary frame before Start")
        if self._stopped:
            raise _ViolationError(st.CLOSE_AUDIO_AFTER_STOP, "binary frame after Stop")
        drive = self._drive
        if self._config.strict_frames:
            align = 2 * (drive.channel or 1)
            if not data:
                raise _ViolationError(st.CLOSE_BAD_FRAME, "empty binary frame")
            if len(data) % align:
                raise _ViolationError(
                    st.CLOSE_BAD_FRAME,
                    f"binary frame of {len(data)} bytes is not a multiple of {align}",
                )
        self._state.ws_audio(drive, data, arrival, new_segment=self._fresh_segment)
        self._fresh_segment = False
        self._bytes_in += len(data)
        if self._drop_after is not None and self._bytes_in >= self._drop_after:
            self._drop()
            return False
        if self._silent is not None and self._bytes_in >= self._silent.after_bytes:
            self._silenced = True
        return True

    async def _stay_silent(self) -> None:
        """A `ws_silent` fault: read nothing (the client's buffers fill), close nothing."""
        fault = self._silent
        self._silenced = False
        self._silent = None
        transport = self._request.transport
        if fault is None or transport is None:
            return
        _LOGGER.debug("drive %s: socket silent (fault)", self.drive_id)
        transport.pause_reading()
        try:
            # Ends early when the server closes the link (task ended, reset, shutdown).
            async with asyncio.timeout(fault.delay or None):
                await self._unsilenced.wait()
        except TimeoutError:
            pass
        finally:
            if not transport.is_closing():
                transport.resume_reading()

    def _drop(self) -> None:
        """A `ws_drop` fault: cut the TCP connection without a close frame."""
        self._dropped = True
        self._drive.dropped = True
        self._mark_closed(1006, "dropped (fault)")
        transport = self._request.transport
        if transport is not None:
            transport.abort()

    def _violate(self, violation: _ViolationError) -> None:
        drive = self._drive
        _LOGGER.debug("drive %s: %s (close %d)", drive.drive_id, violation.text, violation.code)
        drive.violations.append(violation.text)
        if not self._started:
            self._state.finish(drive, DriveStatus.FAILED, fail_reason=violation.text)
        else:
            self._state.ws_input_lost(
                drive, self._state.now(), status=DriveStatus.FAILED, reason=violation.text
            )

    def _on_end(self) -> None:
        """The socket is gone: judge how it ended."""
        drive = self._drive
        now = self._state.now()
        drive.closed_at = now
        self._state.remove_link(self)
        client_ended = not self._server_closed or self._dropped
        if not client_ended or drive.terminal or (self._started and self._stopped):
            return
        if self._dropped:
            self._state.ws_input_lost(
                drive, now, status=DriveStatus.FAILED, reason="connection dropped (fault)"
            )
            return
        if not self._started:
            drive.violations.append("socket closed before Start")
            self._state.finish(drive, DriveStatus.FAILED, fail_reason="socket closed before Start")
            return
        drive.violations.append("socket closed without Stop")
        policy = self._config.close_without_stop
        if policy == "wait":
            return
        status = DriveStatus.FAILED if policy == "fail" else DriveStatus.ENDED
        self._state.ws_input_lost(drive, now, status=status, reason="socket closed without Stop")


class WsServer:
    """The `/ws?Token=...` endpoint."""

    def __init__(self, *, state: st.EmulatorState, faults: FaultSet) -> None:
        self.state = state
        self.faults = faults
        self._background: set[asyncio.Task[Any]] = set()

    @property
    def config(self) -> EmulatorConfig:
        """The emulator's settings."""
        return self.state.config

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run a close in the background, tracked so shutdown can wait for it."""
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def drain(self) -> None:
        """Wait for background closes (shutdown)."""
        while self._background:
            await asyncio.wait(list(self._background), timeout=self.config.ws_close_timeout + 1)
            for task in list(self._background):
                if not task.done():
                    task.cancel()

    def close_all(self, code: int, reason: str) -> None:
        """Close every open connection."""
        for links in list(self.state.links.values()):
            for link in list(links):
                link.server_close(code, reason)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Handshake checks, then the protocol loop."""
        stall = self.faults.take("ws_stall")
        if stall is not None:
            # Bounded, so the handler (and the emulator's shutdown) never waits forever.
            await asyncio.sleep(stall.delay or 0.0)
            return web.Response(status=503, text="stalled (fault)")
        fault = self.faults.take("ws_refuse")
        if fault is not None:
            return web.Response(status=fault.effective_http_status, text="refused (fault)")
        info, problem = self.state.token_problem(request.query.get("Token", ""))
        if info is None or problem is not None:
            return web.Response(status=403, text=f"Forbidden: {problem}")
        existing = list(self.state.links.get(info.task_id, []))
        if existing:
            policy = self.config.second_ws_connection
            if policy == "reject_new":
                return web.Response(
                    status=409, text="Conflict: another connection is open for this task"
                )
            if policy == "close_old":
                for link in existing:
                    link.server_close(st.CLOSE_REPLACED, "replaced by a new connection")
        drop = self.faults.take("ws_drop")
        silent = self.faults.take("ws_silent")
        ws = web.WebSocketResponse(
            autoclose=False, autoping=True, timeout=self.config.ws_close_timeout
        )
        await ws.prepare(request)
        drive = self.state.drive_index[info.drive_id]
        connection = WsConnection(
            server=self,
            ws=ws,
            request=request,
            task_id=info.task_id,
            drive=drive,
            drop_after=None if drop is None else drop.after_bytes,
            silent=silent,
        )
        self.state.add_link(connection, info)
        await connection.run()
        return ws

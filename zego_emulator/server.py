"""ZegoEmulator: the REST gateway, the WebSocket listener and the admin API on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
from email.utils import formatdate
import json
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any, Self
import uuid

from aiohttp import web

from . import codes
from .actions import ACTIONS, ActionContext
from .admin import add_admin_routes
from .codes import ApiError
from .config import EmulatorConfig
from .faults import REST_RESPONSE_KINDS, FaultSet
from .gateway import Gateway
from .preview import PreviewHub, add_preview_routes
from .records import DriveRecord, DriveStatus, RequestRecord, TaskRecord, TaskStatus
from .stage import add_stage_routes
from .state import CLOSE_GOING_AWAY, EmulatorState
from .tls import self_signed_pem, server_ssl_context
from .validation import Body, parse_json_object
from .ws import WsServer

if TYPE_CHECKING:
    from collections.abc import Callable, Collection
    from types import TracebackType

_LOGGER = logging.getLogger(__name__)

_SHUTDOWN_TIMEOUT = 2.0


class DriveStatusError(AssertionError):
    """`wait_for_drive`: the drive reached a final status other than the one awaited."""


class ZegoEmulator:
    """A strict local ZEGO Digital Human service. Use `async with ZegoEmulator(config) as emu:`."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        # A private copy: set_server_secret/revoke must not change the caller's object.
        self.config = (
            dataclasses.replace(config, extra_apps=dict(config.extra_apps))
            if config is not None
            else EmulatorConfig()
        )
        self._initial_secret = self.config.server_secret
        self.faults = FaultSet()
        self.requests: list[RequestRecord] = []
        self._state: EmulatorState | None = None
        self._gateway: Gateway | None = None
        self._ws: WsServer | None = None
        self._preview: PreviewHub | None = None
        self._runners: list[web.AppRunner] = []
        self._closing = asyncio.Event()
        self._port = 0
        self._ws_port = 0

    # --- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> Self:
        """Bind the listeners (REST + admin; WebSocket on its own TLS port when `ws_tls`)."""
        if self._runners:
            raise RuntimeError("emulator already started")
        loop = asyncio.get_running_loop()
        self._closing = asyncio.Event()
        state = EmulatorState(self.config, clock=self.now, loop=loop)
        self._state = state
        self._gateway = Gateway(self.config, clock=self.now, monotonic=loop.time, actions=ACTIONS)
        self._ws = WsServer(state=state, faults=self.faults)
        self._preview = PreviewHub(self)
        state.observer = self._preview
        bind_host = self._bind_host()

        app = web.Application()
        app.router.add_route("*", "/", self._handle_rest)
        add_admin_routes(app, self)
        add_stage_routes(app, self)
        add_preview_routes(app, self._preview)
        if not self.config.ws_tls:
            app.router.add_get("/ws", self._ws.handle)
        self._port = await self._serve(app, bind_host, self.config.port, None)
        if self.config.ws_tls:
            ssl_context = await loop.run_in_executor(None, server_ssl_context)
            ws_app = web.Application()
            ws_app.router.add_get("/ws", self._ws.handle)
            self._ws_port = await self._serve(ws_app, bind_host, self.config.ws_port, ssl_context)
        else:
            self._ws_port = self._port
        return self

    async def _serve(self, app: web.Application, host: str, port: int, ssl: Any) -> int:
        runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, host, port, ssl_context=ssl)
        await site.start()
        address = runner.addresses[0]
        return int(address[1])

    async def close(self) -> None:
        """Close every socket, cancel every timer, stop listening. Idempotent."""
        self._closing.set()
        if self._preview is not None:
            await self._preview.close_all()
        if self._ws is not None:
            self._ws.close_all(CLOSE_GOING_AWAY, "emulator shutting down")
            await self._ws.drain()
        if self._state is not None:
            self._state.closed = True
            self._state.cancel_all_timers()
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()
        if self._ws is not None:
            await self._ws.drain()

    # --- addresses and clocks ------------------------------------------------------------------

    def _bind_host(self) -> str:
        return "127.0.0.1" if self.config.host == "localhost" else self.config.host

    def _url_host(self) -> str:
        host = self._bind_host()
        return f"[{host}]" if ":" in host else host

    @property
    def endpoint(self) -> str:
        """Base URL of the REST API and the admin API, e.g. "http://127.0.0.1:8790"."""
        return f"http://{self._url_host()}:{self._port}"

    @property
    def ws_endpoint(self) -> str:
        """Base URL of the WebSocket listener, e.g. "wss://127.0.0.1:41234/ws"."""
        scheme = "wss" if self.config.ws_tls else "ws"
        return f"{scheme}://{self._url_host()}:{self._ws_port}/ws"

    @property
    def tls_certificate_pem(self) -> bytes:
        """The self-signed certificate of the WebSocket listener (to pin it in a test)."""
        return self_signed_pem()[0]

    def now(self) -> float:
        """The emulator's clock in Unix seconds (host clock + `clock_offset`)."""
        return time.time() + self.config.clock_offset

    def _ws_address(self, token: str) -> str:
        return f"{self.ws_endpoint}?Token={token}"

    # --- views for tests -----------------------------------------------------------------------

    @property
    def state(self) -> EmulatorState:
        """The state machine (started emulators only)."""
        if self._state is None:
            raise RuntimeError("emulator not started")
        return self._state

    @property
    def tasks(self) -> dict[str, TaskRecord]:
        """Every task, live and ended, by TaskId."""
        return self.state.tasks

    @property
    def drives(self) -> list[DriveRecord]:
        """Every drive, in issue order."""
        return self.state.drives

    @property
    def events(self) -> list[dict[str, Any]]:
        """Callback-shaped events (EventType 3 task status, 4 drive status), in order."""
        return self.state.events

    @property
    def open_ws_connections(self) -> int:
        """WebSocket connections open now."""
        return self.state.open_ws_connections

    @property
    def max_ws_connections_per_task(self) -> int:
        """The most connections ever open at once for one task."""
        return self.state.max_ws_connections_per_task

    def drive(self, drive_id: str) -> DriveRecord:
        """One drive by DriveId (KeyError if unknown)."""
        return self.state.drive_index[drive_id]

    # --- test controls -------------------------------------------------------------------------

    def expire_task(self, task_id: str) -> None:
        """End a task as if its TTL ran out now (KeyError if unknown)."""
        self.state.end_task(self.state.tasks[task_id], "expired")

    def revoke_credentials(self) -> str:
        """The current ServerSecret stops working (100000005); returns the new, random one."""
        new_secret = secrets.token_hex(16)
        self.config.server_secret = new_secret
        return new_secret

    def set_server_secret(self, secret: str) -> None:
        """Make `secret` the AppId's valid ServerSecret."""
        self.config.server_secret = secret

    def reset(self) -> None:
        """Forget tasks, drives, events, requests, faults, nonces and rate windows; close sockets;
        restore the initial ServerSecret."""
        if self._ws is not None:
            self._ws.close_all(CLOSE_GOING_AWAY, "emulator reset")
        self.state.reset()
        self.faults.clear()
        self.requests.clear()
        if self._gateway is not None:
            self._gateway.reset()
        self.config.server_secret = self._initial_secret

    async def wait_for_drive(
        self,
        drive_id: str,
        status: DriveStatus | Collection[DriveStatus] = DriveStatus.ENDED,
        timeout: float = 5.0,  # noqa: ASYNC109 - the contract's signature
    ) -> DriveRecord:
        """Wait until the drive has reached `status` (one or any of several).

        Raises DriveStatusError if it ends in another final status, TimeoutError after `timeout`.
        """
        wanted = {status} if isinstance(status, DriveStatus) else set(status)
        state = self.state

        def reached() -> bool:
            drive = state.drive_index.get(drive_id)
            if drive is None:
                return False
            if any(s in wanted for s, _ in drive.status_history):
                return True
            if drive.terminal:
                raise DriveStatusError(
                    f"drive {drive_id} ended with {drive.status.name}, not "
                    f"{sorted(s.name for s in wanted)}; violations={drive.violations}"
                )
            return False

        await self._wait(reached, timeout, f"drive {drive_id}", lambda: self._drive_now(drive_id))
        return state.drive_index[drive_id]

    async def wait_for_task(
        self,
        task_id: str,
        status: TaskStatus | Collection[TaskStatus] = TaskStatus.STREAMING,
        timeout: float = 5.0,  # noqa: ASYNC109 - mirrors wait_for_drive
    ) -> TaskRecord:
        """Wait until the task has reached `status` (one or any of several)."""
        wanted = {status} if isinstance(status, TaskStatus) else set(status)
        state = self.state

        def reached() -> bool:
            task = state.tasks.get(task_id)
            return task is not None and any(s in wanted for s, _ in task.status_history)

        def describe() -> str:
            task = state.tasks.get(task_id)
            return "unknown" if task is None else task.status.name

        await self._wait(reached, timeout, f"task {task_id}", describe)
        return state.tasks[task_id]

    def _drive_now(self, drive_id: str) -> str:
        drive = self.state.drive_index.get(drive_id)
        return "unknown" if drive is None else drive.status.name

    async def _wait(
        self, predicate: Callable[[], bool], seconds: float, what: str, now: Callable[[], str]
    ) -> None:
        try:
            await self.state.wait_until(predicate, seconds)
        except TimeoutError:
            raise TimeoutError(f"{what} is still {now()} after {seconds:g} s") from None

    # --- REST ----------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        # The Date header follows the emulator's clock so a client can measure clock skew.
        return {"Date": formatdate(self.now(), usegmt=True)}

    def _answer(
        self,
        request_id: str,
        action: str | None,
        app_id: int | None,
        code: int,
        message: str,
        data: dict[str, Any] | None = None,
    ) -> web.Response:
        status = 200 if code == codes.SUCCESS else self.config.error_http_status
        envelope: dict[str, Any] = {"Code": code, "Message": message, "RequestId": request_id}
        if data is not None:
            envelope["Data"] = data
        self._record(action, app_id, code, status, request_id, message)
        return web.json_response(envelope, status=status, headers=self._headers())

    def _record(
        self,
        action: str | None,
        app_id: int | None,
        code: int | None,
        status: int,
        request_id: str | None,
        message: str | None,
    ) -> None:
        self.requests.append(
            RequestRecord(
                action=action,
                app_id=app_id,
                code=code,
                http_status=status,
                at=self.state.now(),
                request_id=request_id,
                message=message,
            )
        )

    async def _sleep(self, seconds: float) -> None:
        """A delay fault's wait, cut short by shutdown."""
        try:
            async with asyncio.timeout(seconds):
                await self._closing.wait()
        except TimeoutError:
            pass

    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        query = request.query
        action = query.get("Action") or None
        app_id = Gateway.parse_app_id(query)
        delay = self.faults.take("delay", action)
        if delay is not None:
            await self._sleep(delay.delay)
        fault = self.faults.take(REST_RESPONSE_KINDS, action)
        if fault is not None and fault.kind == "http_status":
            status = fault.effective_http_status
            self._record(action, app_id, None, status, None, fault.body)
            return web.Response(status=status, text=fault.body, headers=self._headers())
        if fault is not None:
            return self._answer(request_id, action, app_id, fault.code, fault.message)
        data: dict[str, Any] | None = None
        try:
            data = await self._dispatch(request)
        except ApiError as err:
            _LOGGER.debug("%s answered %d: %s", action, err.code, err.message)
            response = self._answer(request_id, action, app_id, err.code, err.message)
        else:
            response = self._answer(request_id, action, app_id, codes.SUCCESS, "success", data)
        # Same step as the append above (no await between): tells the soak whose request it was.
        stream_id = self._stream_id_of(request, data if response.status == 200 else None)
        self.requests[-1] = dataclasses.replace(self.requests[-1], stream_id=stream_id)
        return response

    def _stream_id_of(self, request: web.Request, data: dict[str, Any] | None) -> str | None:
        """The StreamId a request concerned (by TaskId, or the one being created)."""
        try:
            body = json.loads(getattr(request, "_read_bytes", None) or b"{}")
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        task_id = body.get("TaskId") or (data or {}).get("TaskId")
        task = self.state.tasks.get(task_id) if isinstance(task_id, str) else None
        if task is not None:
            return task.stream_id
        rtc = body.get("RTCConfig")
        stream_id = rtc.get("StreamId") if isinstance(rtc, dict) else None
        return stream_id if isinstance(stream_id, str) else None

    async def _dispatch(self, request: web.Request) -> dict[str, Any] | None:
        if self._gateway is None:  # pragma: no cover - routes exist only after start()
            raise RuntimeError("emulator not started")
        gate = self._gateway.check(request.query)
        if request.method != "POST":
            raise ApiError(
                codes.INVALID_PARAMETER,
                f"Invalid request: method {request.method} not supported; POST a JSON body",
            )
        if self.config.require_json_content_type and request.content_type != "application/json":
            raise ApiError(
                codes.INVALID_PARAMETER,
                "Invalid parameter: Content-Type must be application/json",
            )
        try:
            raw = await request.read()
        except (web.HTTPException, ConnectionError) as err:
            raise ApiError(codes.BODY_UNREADABLE, "Failed to read the HTTP body") from err
        body = Body(parse_json_object(raw), null_as_absent=self.config.null_as_absent)
        context = ActionContext(
            app_id=gate.app_id,
            body=body,
            state=self.state,
            config=self.config,
            faults=self.faults,
            ws_address=self._ws_address,
            portrait_url=None if self._preview is None else self._preview.portrait_url,
            describe=None if self._preview is None else self._preview.describe,
        )
        return ACTIONS[gate.action](context)

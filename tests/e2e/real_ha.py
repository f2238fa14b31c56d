"""A real Home Assistant process with its real frontend, for the dashboard card's browser tests.

Unlike the in-process ``hass`` fixture, this is ``hass -c <tmp config> --skip-pip`` on a free port
(never from the repository root: its ``custom_components`` package would shadow the config's),
with the emulator as a second process. The browser logs in as the demo user through HA's own
login flow, so everything the card does goes through HA's real frontend and WebSocket API.
"""

from __future__ import annotations

import asyncio
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any
import urllib.error
import urllib.parse
import urllib.request

import aiohttp

from tests.hass.process import RUN_HASS, port_from_environment

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "zego_digital_human"
DEMO_CONFIG = ROOT / "config"
STARTUP_LIMIT = 240.0
"""Seconds HA may take to come up on a busy two-core machine."""


def free_port() -> int:
    """A port the OS says is free now (ephemeral range; never 8123 or 8790)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listened on port {port} within {limit} s")


def _start(
    args: list[str], log: Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    # Own session: stopping it stops its children (ffmpeg, espeak-ng) too.
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(proc: subprocess.Popen[bytes] | None, limit: float = 60.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(limit)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


CONFIGURATION = """\
homeassistant:
  name: Card test
frontend:
config:
{http}media_source:
tts:
  - platform: demo_espeak
lovelace:
logger:
  default: warning
  logs:
    custom_components.zego_digital_human: debug
"""
HTTP_YAML = """\
http:
  server_host: 127.0.0.1
  server_port: {port}
"""


@dataclass
class RealHA:
    """HA + emulator processes sharing one temporary folder."""

    base: Path
    sdk_module: Path | None = None
    """A file to serve instead of the bundled ZEGO SDK (the test stand-in), or None."""
    emulator_args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    emulator_port: int = field(default_factory=free_port)
    token: str = ""
    ha: subprocess.Popen[bytes] | None = None
    emulator: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.base / "config"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    def prepare(self, dashboard: dict[str, Any]) -> None:
        """Write the config: the integration (a copy), the demo's TTS, a storage dashboard."""
        config = self.config
        config.mkdir(parents=True)
        # HA 2026.11 takes the port from SETUP_PORT (see start_ha): an `http:` section there is
        # a deprecated setting whose change it asks the user to confirm, over the dashboard.
        http = "" if port_from_environment() else HTTP_YAML.format(port=self.port)
        (config / "configuration.yaml").write_text(CONFIGURATION.format(http=http))
        target = config / "custom_components" / "zego_digital_human"
        shutil.copytree(INTEGRATION, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.copytree(
            DEMO_CONFIG / "custom_components" / "demo_espeak",
            config / "custom_components" / "demo_espeak",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        if self.sdk_module is not None:
            # The stand-in replaces the SDK in the served folder only; the .gz must go too, or a
            # gzip-accepting browser would still get the real SDK.
            (target / "frontend" / "zego-sdk.js.gz").unlink()
            shutil.copyfile(self.sdk_module, target / "frontend" / "zego-sdk.js")
        storage = config / ".storage"
        storage.mkdir()
        (storage / "lovelace").write_text(
            json.dumps(
                {"version": 1, "minor_version": 1, "key": "lovelace", "data": {"config": dashboard}}
            )
        )
        seed = [
            sys.executable,
            str(ROOT / "scripts" / "demo_seed.py"),
            "--config",
            str(config),
            "--endpoint",
            self.emulator_url,
        ]
        done = subprocess.run(seed, cwd=self.base, capture_output=True, check=True, text=True)  # noqa: S603
        self.token = done.stdout.strip().splitlines()[-1]

    def start_emulator(self) -> None:
        args = [sys.executable, "-m", "zego_emulator", "--host", "127.0.0.1"]
        args += ["--port", str(self.emulator_port), *self.emulator_args]
        self.emulator = _start(args, self.base / "emulator.log", ROOT)
        _wait_port(self.emulator_port, 30)

    def start_ha(self) -> None:
        # run_hass.py: hass, also on the Python 3.13.0 that runs HA 2026.2.3 here.
        args = [sys.executable, str(RUN_HASS), "-c", str(self.config), "--skip-pip"]
        env = dict(os.environ)
        if port_from_environment():
            env["SETUP_PORT"] = str(self.port)
        # cwd is the temp folder: from the repository root, its custom_components would win.
        self.ha = _start(args, self.base / "ha.log", self.base, env)
        deadline = time.monotonic() + STARTUP_LIMIT
        while time.monotonic() < deadline:
            if self.ha.poll() is not None:
                raise AssertionError(f"HA exited ({self.ha.returncode}): {self.log_tail()}")
            with suppress(OSError, urllib.error.URLError):
                if self.get("/api/states/media_player.lobby")["state"]:
                    return
            time.sleep(1)
        raise AssertionError(f"HA did not come up within {STARTUP_LIMIT} s: {self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        """The end of HA's log, for failure messages (the folder is gone after the test)."""
        log = self.base / "ha.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def errors(self, last: int = 5) -> list[str]:
        """HA's last ERROR log lines, each with the exception its traceback ended in."""
        log = self.base / "ha.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        found: list[str] = []
        for number, line in enumerate(lines):
            if " ERROR " not in line:
                continue
            following = lines[number + 1 : number + 400]
            if following and following[0].startswith("Traceback"):
                # The exception is the first line after the traceback that is not indented.
                raised = next((x for x in following[1:] if x and not x[0].isspace()), "")
                found.append(f"{line} -> {raised}")
            else:
                found.append(line)
        return found[-last:]

    def stop_ha(self) -> None:
        _stop(self.ha)
        self.ha = None

    def stop(self) -> None:
        self.stop_ha()
        _stop(self.emulator)
        self.emulator = None

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 - loopback URL we built
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            raw = response.read()
        return json.loads(raw) if raw else None

    def get(self, path: str) -> Any:
        return self._request("GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        return self._request("POST", path, body if body is not None else {})

    def state(self, entity_id: str) -> str:
        return str(self.get(f"/api/states/{entity_id}")["state"])

    def call(self, domain: str, service: str, **data: Any) -> None:
        self.post(f"/api/services/{domain}/{service}", data)

    def emulator_get(self, path: str) -> Any:
        with urllib.request.urlopen(self.emulator_url + path, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())

    def ws(self, message: dict[str, Any]) -> dict[str, Any]:
        """One WebSocket API command as the demo user; the whole answer (success or error)."""

        async def run() -> dict[str, Any]:
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(f"{self.url}/api/websocket") as ws,
            ):
                await ws.receive_json()
                await ws.send_json({"type": "auth", "access_token": self.token})
                assert (await ws.receive_json())["type"] == "auth_ok"
                await ws.send_json({"id": 1, **message})
                return dict(await ws.receive_json())

        # A loop of its own, never made current: asyncio.run would leave the main thread with
        # none set, which the fixtures of later in-process tests (HA's loop policy) then trip on.
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(run())
        finally:
            loop.close()

    def browser_tokens(self) -> dict[str, Any]:
        """Tokens for the frontend's localStorage, from HA's own login flow (demo / demo)."""
        client_id = f"{self.url}/"
        flow = self.post(
            "/auth/login_flow",
            {"client_id": client_id, "handler": ["homeassistant", None], "redirect_uri": client_id},
        )
        result = self.post(
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": client_id, "username": "demo", "password": "demo"},
        )
        form = urllib.parse.urlencode(
            {"grant_type": "authorization_code", "code": result["result"], "client_id": client_id}
        ).encode()
        request = urllib.request.Request(f"{self.url}/auth/token", data=form, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            tokens = json.loads(response.read())
        tokens.update(
            hassUrl=self.url,
            clientId=client_id,
            expires=int(time.time() * 1000) + tokens["expires_in"] * 1000,
        )
        return dict(tokens)


@contextmanager
def running_ha(
    dashboard: dict[str, Any],
    *,
    sdk_module: Path | None = None,
    emulator_args: tuple[str, ...] = (),
) -> Iterator[RealHA]:
    """Emulator and HA up with `dashboard` as the default dashboard; all gone afterwards."""
    base = Path(tempfile.mkdtemp(prefix="card-e2e-"))
    ha = RealHA(base, sdk_module=sdk_module, emulator_args=emulator_args)
    try:
        ha.prepare(dashboard)
        ha.start_emulator()
        ha.start_ha()
        yield ha
    finally:
        ha.stop()
        shutil.rmtree(base, ignore_errors=True)

"""The soak's world: the emulator and Home Assistant as separate processes, and HA's APIs.

HA runs from a temporary config directory with the integration copied into its
custom_components (never from the repository root, whose package would shadow it), the
soak's tone TTS and probe, onboarding done and a long-lived token seeded by HA's own auth
manager. Its process gets libfaketime with a control file when the library is installed,
so the soak can step HA's wall clock (never the machine's) while its monotonic clock runs on.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
import importlib.util
import itertools
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import sys
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
RUN_HASS = ROOT / "scripts" / "run_hass.py"
DOMAIN = "zego_digital_human"
ENTRY_ID = "01JS0AK0ENTRY0000000000000"
FAKETIME_LIBS = (
    Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
    Path("/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"),
    Path("/usr/lib/faketime/libfaketime.so.1"),
)


def free_port() -> int:
    """A port the OS says is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def faketime_lib() -> Path | None:
    """libfaketime when installed (Debian: apt-get install libfaketime)."""
    return next((path for path in FAKETIME_LIBS if path.exists()), None)


@dataclass(frozen=True, kw_only=True)
class AvatarSpec:
    """One avatar of the kiosk."""

    key: str
    name: str
    subentry_id: str
    managed: bool
    keep_alive: bool = False
    policy: str = "interrupt"
    ttl: int = 86400
    max_idle_time: int = 86400
    digital_human_id: str = "dh_lobby_anna"

    @property
    def stream_id(self) -> str:
        """The StreamId of its task (attached tasks are created by the soak with it too)."""
        return f"soak_{self.key}"

    @property
    def slug(self) -> str:
        """The entity-id prefix HA derives from the device name."""
        return self.name.lower()

    def entity(self, domain: str, key: str = "") -> str:
        """An entity id of the avatar."""
        return f"{domain}.{self.slug}_{key}" if key else f"{domain}.{self.slug}"

    def subentry_data(self, task_id: str | None) -> dict[str, Any]:
        """What the avatar subentry stores."""
        speech = {
            "tts_engine": "soak_tts",
            "language": "en-US",
            "voice_options": {},
            "sample_rate": 16000,
            "overlap_policy": self.policy,
        }
        if not self.managed:
            return {
                "name": self.name,
                "digital_human_id": self.digital_human_id,
                "stream_mode": "attached",
                "task_id": task_id,
                **speech,
            }
        return {
            "name": self.name,
            "digital_human_id": self.digital_human_id,
            "stream_mode": "managed",
            "room_id": f"room_{self.key}",
            "stream_id": self.stream_id,
            "ttl": self.ttl,
            "max_idle_time": self.max_idle_time,
            "background_color": "#000000",
            "keep_alive": self.keep_alive,
            **speech,
        }


def _load_seed() -> Any:
    """scripts/demo_seed.py (a script, not a package): its onboarding and auth seeding."""
    spec = importlib.util.spec_from_file_location("soak_demo_seed", ROOT / "scripts/demo_seed.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("scripts/demo_seed.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ManagedProcess:
    """A child process in its own session, stopped by its pid only."""

    def __init__(self, name: str, log_path: Path) -> None:
        """Nothing runs until start()."""
        self.name = name
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        """The child's pid while it runs."""
        proc = self.process
        return proc.pid if proc is not None and proc.returncode is None else None

    async def spawn(self, args: list[str], *, cwd: Path, env: dict[str, str]) -> None:
        """Start the process; output goes to the log file (appended across restarts)."""
        log = self.log_path.open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                *args, cwd=cwd, env=env, stdout=log, stderr=log, start_new_session=True
            )
        finally:
            log.close()

    async def stop(self, timeout: float = 60.0, *, sig: int = signal.SIGTERM) -> None:  # noqa: ASYNC109
        """Signal the child, wait for it, kill it if it does not exit in time."""
        proc = self.process
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


class Emulator(ManagedProcess):
    """`python -m zego_emulator` with a compressed clock, restartable on the same port."""

    def __init__(self, workdir: Path, *, time_scale: float) -> None:
        """Pick the port once: HA keeps the endpoint across emulator restarts."""
        super().__init__("emulator", workdir / "emulator.log")
        self.port = free_port()
        self.time_scale = time_scale
        self.secret = "0123456789abcdef0123456789abcdef"  # noqa: S105 - the emulator's demo secret
        self.app_id = "1234567890"
        self.requests: list[dict[str, Any]] = []

    @property
    def endpoint(self) -> str:
        """The REST endpoint HA is configured with."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self, session: aiohttp.ClientSession) -> None:
        """Start and wait until the admin API answers."""
        await self.spawn(
            [
                sys.executable,
                "-m",
                "zego_emulator",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--time-scale",
                f"{self.time_scale:.10f}",
                "--server-secret",
                self.secret,
                "--set",
                "ws_token_ttl=none",
                "--set",
                "record_audio=false",
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(300):
            with contextlib.suppress(aiohttp.ClientError, OSError):
                await self.admin(session, "GET", "state")
                return
            if self.pid is None:
                raise RuntimeError(f"the emulator exited; see {self.log_path}")
            await asyncio.sleep(0.1)
        raise RuntimeError("the emulator did not come up")

    async def stop_keeping_requests(self, session: aiohttp.ClientSession) -> None:
        """Collect the requests it answered (they die with it), then stop it."""
        await self.collect_requests(session)
        await self.stop(10.0)

    async def collect_requests(self, session: aiohttp.ClientSession) -> None:
        """Keep the requests this emulator process answered (call once, before it stops).

        Their `at` is the emulator's loop.time(): the monotonic clock, which every process
        on the machine shares, so it compares with the soak's own loop.time().
        """
        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
            answered = await self.admin(session, "GET", "requests")
            if isinstance(answered, list):
                self.requests.extend(answered)

    async def admin(
        self, session: aiohttp.ClientSession, method: str, path: str, body: Any = None
    ) -> Any:
        """Call the emulator's admin API."""
        async with asyncio.timeout(10):
            async with session.request(
                method, f"{self.endpoint}/_emulator/{path}", json=body
            ) as response:
                response.raise_for_status()
                if response.content_type == "application/json":
                    return await response.json()
                return await response.text()


class HomeAssistant(ManagedProcess):
    """A `hass` process on a temporary config directory."""

    def __init__(self, workdir: Path, venv_bin: Path) -> None:
        """Prepare paths; setup() writes the config."""
        super().__init__("home-assistant", workdir / "hass-stdout.log")
        self.config_dir = workdir / "ha-config"
        self.venv_bin = venv_bin
        self.port = free_port()
        self.token = ""
        self.clock_file = workdir / "faketime"
        self.faketime = faketime_lib()
        self.starts = 0

    @property
    def url(self) -> str:
        """HA's base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def setup(
        self, emulator: Emulator, avatars: list[AvatarSpec], tasks: dict[str, str]
    ) -> None:
        """Write configuration.yaml, copy the integration, seed storage and a token."""
        config = self.config_dir
        (config / "custom_components").mkdir(parents=True, exist_ok=True)
        shutil.copytree(
            ROOT / "custom_components" / DOMAIN,
            config / "custom_components" / DOMAIN,
            ignore=shutil.ignore_patterns("__pycache__"),
            dirs_exist_ok=True,
        )
        from .components import install_helpers

        install_helpers(config)
        (config / "configuration.yaml").write_text(
            "\n".join(
                [
                    "homeassistant:",
                    "  name: ZEGO soak",
                    "http:",
                    "  server_host: 127.0.0.1",
                    f"  server_port: {self.port}",
                    "api:",
                    "config:",
                    "websocket_api:",
                    "soak_probe:",
                    "tts:",
                    "  - platform: soak_tts",
                    "logger:",
                    "  default: warning",
                    "  logs:",
                    f"    custom_components.{DOMAIN}: info",
                    "",
                ]
            )
        )
        seed = _load_seed()
        seed.seed_onboarding(config)
        # The demo's entry shape (HA 2025.4's as_dict()), with the soak's project and avatars.
        entry = seed.config_entry(emulator.endpoint)
        entry.update(
            entry_id=ENTRY_ID,
            title=f"ZEGO {emulator.app_id}",
            unique_id=emulator.app_id,
            data={
                "app_id": emulator.app_id,
                "server_secret": emulator.secret,
                "endpoint": emulator.endpoint,
            },
            subentries=[
                {
                    "data": avatar.subentry_data(tasks.get(avatar.key)),
                    "subentry_id": avatar.subentry_id,
                    "subentry_type": "avatar",
                    "title": avatar.name,
                    "unique_id": None,
                }
                for avatar in avatars
            ],
        )
        storage = config / ".storage"
        storage.mkdir(exist_ok=True)
        (storage / "core.config_entries").write_text(
            json.dumps(
                {
                    "version": 1,
                    "minor_version": 5,
                    "key": "core.config_entries",
                    "data": {"entries": [entry]},
                }  # fmt: skip
            )
        )
        self.token = await seed.seed_auth(config)
        self.clock_file.write_text("+0\n")

    def set_clock_offset(self, seconds: int) -> None:
        """Step HA's wall clock (only HA's: libfaketime reads this file at run time)."""
        self.clock_file.write_text(f"{seconds:+d}\n")

    async def start(self, session: aiohttp.ClientSession, timeout: float = 300.0) -> float:  # noqa: ASYNC109
        """Start HA; return once our entry is loaded (seconds taken)."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
        if self.faketime is not None:
            env.update(
                {
                    "LD_PRELOAD": str(self.faketime),
                    "FAKETIME_TIMESTAMP_FILE": str(self.clock_file),
                    # An NTP step moves the wall clock only.
                    "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                    "FAKETIME_CACHE_DURATION": "1",
                }
            )
        loop = asyncio.get_running_loop()
        began = loop.time()
        # Through scripts/run_hass.py, as the browser tests do: HA 2026.2.3's hass refuses the
        # Python 3.13.0 its environment runs on here.
        await self.spawn(
            [
                str(self.venv_bin / "python"),
                str(RUN_HASS),
                "--config",
                str(self.config_dir),
                "--skip-pip",
            ],
            cwd=self.config_dir,
            env=env,
        )
        self.starts += 1
        headers = {"Authorization": f"Bearer {self.token}"}
        while loop.time() - began < timeout:
            if self.pid is None:
                raise RuntimeError(
                    f"Home Assistant exited; see {self.config_dir}/home-assistant.log"
                )
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError, ValueError):
                async with asyncio.timeout(10):
                    async with session.get(
                        f"{self.url}/api/config/config_entries/entry", headers=headers
                    ) as response:
                        if response.status == 200:
                            entries = await response.json()
                            mine = [e for e in entries if e.get("domain") == DOMAIN]
                            if mine and mine[0].get("state") in ("loaded", "setup_error",
                                                                   "setup_retry"):  # fmt: skip
                                return loop.time() - began
            await asyncio.sleep(0.5)
        raise RuntimeError("Home Assistant did not load the entry in time")


class HaApi:
    """HA's REST and websocket APIs, reconnecting after a restart."""

    def __init__(self, session: aiohttp.ClientSession, ha: HomeAssistant) -> None:
        """Bind to the HA process."""
        self.session = session
        self.ha = ha
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.ha.token}"}

    async def close(self) -> None:
        """Close the websocket."""
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def _socket(self) -> aiohttp.ClientWebSocketResponse:
        if self._ws is not None and not self._ws.closed:
            return self._ws
        ws = await self.session.ws_connect(f"{self.ha.url}/api/websocket", heartbeat=None)
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": self.ha.token})
        answer = await ws.receive_json()
        if answer.get("type") != "auth_ok":
            raise RuntimeError(f"websocket auth failed: {answer.get('type')}")
        self._ws = ws
        return ws

    async def ws_call(self, message: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Send one command, return its result message (one command at a time)."""
        async with self._lock:
            try:
                async with asyncio.timeout(timeout):
                    ws = await self._socket()
                    msg_id = next(self._ids)
                    await ws.send_json({"id": msg_id, **message})
                    while True:
                        answer = await ws.receive_json()
                        if answer.get("id") == msg_id and answer.get("type") == "result":
                            return dict(answer)
            except BaseException:
                # A half-read answer would confuse the next command: start over.
                stale, self._ws = self._ws, None
                if stale is not None:
                    with contextlib.suppress(Exception):
                        await stale.close()
                raise

    async def speak(
        self, avatar: AvatarSpec, seconds: float, *, policy: str, wait: bool
    ) -> dict[str, Any]:
        """The speak action; returns the websocket result (success or error)."""
        return await self.ws_call(
            {
                "type": "call_service",
                "domain": DOMAIN,
                "service": "speak",
                "service_data": {
                    "entity_id": avatar.entity("media_player"),
                    "message": f"soak {seconds:g}",
                    "tts_engine": "soak_tts",
                    "policy": policy,
                    "wait": wait,
                },
            },
            timeout=60.0 + seconds,
        )

    async def probe(self) -> dict[str, Any]:
        """soak_probe/stats: HA's asyncio task count."""
        answer = await self.ws_call({"type": "soak_probe/stats"}, timeout=20)
        return dict(answer.get("result") or {})

    async def states(self) -> dict[str, dict[str, Any]]:
        """Every state, by entity id."""
        async with asyncio.timeout(10):
            async with self.session.get(f"{self.ha.url}/api/states", headers=self._headers) as r:
                r.raise_for_status()
                return {item["entity_id"]: item for item in await r.json()}

    async def rest(self, method: str, path: str, body: Any = None) -> Any:
        """Any REST call (the flow APIs)."""
        async with asyncio.timeout(30):
            async with self.session.request(
                method, f"{self.ha.url}{path}", json=body, headers=self._headers
            ) as response:
                text = await response.text()
                if response.status >= 400:
                    raise RuntimeError(f"{method} {path}: HTTP {response.status} {text[:200]}")
                return json.loads(text) if text else None

"""The soak: a kiosk's simulated month against real HA and the emulator, with disturbances.

Time: the emulator's clock is compressed (time_scale = 1 / compression), so a task's TTL
and MaxIdleTime pass `compression` times faster; a simulated day lasts 86400 / compression
real seconds. Home Assistant runs on real time (its 30 s status poll is real), so every
bound about HA (recovery, keep-alive gaps, stuck states) is in real seconds.

Speech goes through HA's websocket API (the `speak` action) on every avatar in turn, a
few per simulated hour; a disturbance of the schedule runs beside it. Afterwards each
failed speech is matched against the disturbance windows (plus the task endings the
emulator recorded, TTL and idle): a failure outside every window is unexplained.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import asdict, dataclass, field
import itertools
import logging
import os
from pathlib import Path
import tempfile
import time
from typing import Any

import aiohttp

from custom_components.zego_digital_human.client import (
    RateLimiter,
    StreamTaskSpec,
    StreamTaskStatus,
    ZegoClient,
    ZegoError,
    ZegoStreamIdConflictError,
)
from zego_emulator.config import KIOSK_BEN_ID, LOBBY_ANNA_ID

from .world import ENTRY_ID, ROOT, AvatarSpec, Emulator, HaApi, HomeAssistant

_LOGGER = logging.getLogger("soak")

DAY = 86400
POLL_INTERVAL = 30.0  # the integration's STATUS_POLL_INTERVAL, real seconds
STUCK_BOUND = {"starting": 90.0, "speaking": 60.0}  # start timeout 60 s + one poll
DISTURBANCES: tuple[str, ...] = (
    "console_stop",
    "http_5xx",
    "ws_silent",
    "rate_limit",
    "emulator_restart",
    "clock_jump",
    "ha_restart",
    "unreachable",
    "secret_rotation",
)
SPEECH_SECONDS = (0.6, 0.9, 1.2, 1.5)
RECOVERY_GIVE_UP = 120.0


@dataclass(kw_only=True)
class Options:
    """What one soak run does."""

    days: float = 30.0
    compression: float = 1440.0
    speech_every: float = 2.0
    disturbances: tuple[str, ...] = DISTURBANCES
    disturbances_per_day: int = 1
    outage: float = 20.0
    desk_idle_real: float = 3.0
    workdir: Path | None = None
    venv_bin: Path = ROOT / ".venv" / "bin"


@dataclass(kw_only=True)
class Speech:
    """One speak call."""

    avatar: str
    asked_at: float
    done_at: float
    ok: bool
    reason: str | None
    policy: str
    wait: bool
    sim_day: int
    explained_by: str | None = None


@dataclass(kw_only=True)
class Window:
    """A disturbance: from its start to its end (real loop times); avatars None = all."""

    kind: str
    start: float
    end: float
    sim_day: int
    avatars: tuple[str, ...] | None = None
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class Sample:
    """HA's resources at a simulated day boundary."""

    sim_day: int
    ha_start: int
    rss_kb: int | None
    sockets: int | None
    fds: int | None
    tasks: int | None
    zego_tasks: dict[str, int] | None


def avatars_for(options: Options) -> list[AvatarSpec]:
    """The kiosk's avatars: managed with keep-alive, managed without, attached."""
    desk_idle = max(30, round(options.desk_idle_real * options.compression))
    return [
        AvatarSpec(
            key="lobby",
            name="Lobby",
            subentry_id="01JS0AK0AVATARL0BBY0000000",
            managed=True,
            keep_alive=True,
            policy="interrupt",
            digital_human_id=LOBBY_ANNA_ID,
        ),
        AvatarSpec(
            key="desk",
            name="Desk",
            subentry_id="01JS0AK0AVATARDESK00000000",
            managed=True,
            keep_alive=False,
            policy="queue",
            max_idle_time=desk_idle,
            digital_human_id=LOBBY_ANNA_ID,
        ),
        AvatarSpec(
            key="kiosk",
            name="Kiosk",
            subentry_id="01JS0AK0AVATARKI0SK0000000",
            managed=False,
            policy="queue",
            digital_human_id=KIOSK_BEN_ID,
        ),
    ]


def _proc_stats(pid: int | None) -> tuple[int | None, int | None, int | None]:
    """RSS (kB), open sockets and open fds of a process, from /proc."""
    if pid is None:
        return None, None, None
    try:
        rss = None
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        fds = os.listdir(f"/proc/{pid}/fd")
        sockets = 0
        for fd in fds:
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                    sockets += 1
    except OSError:
        return None, None, None
    return rss, sockets, len(fds)


class Soak:
    """One run."""

    def __init__(self, options: Options, session: aiohttp.ClientSession, workdir: Path) -> None:
        """Prepare the world; run() starts it."""
        self.options = options
        self.session = session
        self.workdir = workdir
        self.avatars = avatars_for(options)
        self.by_key = {avatar.key: avatar for avatar in self.avatars}
        self.emulator = Emulator(workdir, time_scale=1.0 / options.compression)
        self.ha = HomeAssistant(workdir, options.venv_bin)
        self.api = HaApi(session, self.ha)
        self.speeches: list[Speech] = []
        self.windows: list[Window] = []
        self.samples: list[Sample] = []
        self.stuck: list[dict[str, Any]] = []
        self.keep_alive_gaps: list[tuple[float, float]] = []
        self.idle_violations: list[dict[str, Any]] = []
        self.tasks_seen: list[dict[str, Any]] = []
        self.notes: dict[str, Any] = {}
        self.ha_up = False
        self.kiosk_expires_at = 0.0
        self.t0 = 0.0
        self._disturbance: asyncio.Task[None] | None = None
        self._renew_lock = asyncio.Lock()

    # --- clocks -------------------------------------------------------------------------------

    def now(self) -> float:
        """The soak's clock (loop time: the monotonic clock, as the emulator's records)."""
        return asyncio.get_running_loop().time()

    def sim(self, at: float | None = None) -> float:
        """Simulated seconds since the start."""
        return ((self.now() if at is None else at) - self.t0) * self.options.compression

    def sim_day(self, at: float | None = None) -> int:
        """The simulated day (from 0)."""
        return int(self.sim(at) // DAY)

    # --- our own ZEGO client (the kiosk owner and the console) ------------------------------

    def client(self) -> ZegoClient:
        """A client with the emulator's current secret."""
        return ZegoClient(
            app_id=self.emulator.app_id,
            server_secret=self.emulator.secret,
            session=self.session,
            endpoint=self.emulator.endpoint,
            rate_limiter=RateLimiter(),
        )

    async def create_kiosk_task(self) -> str:
        """Create the attached avatar's task as its owner would; wait until it streams."""
        kiosk = self.by_key["kiosk"]
        client = self.client()
        deadline = self.now() + 30
        while True:
            try:
                task_id = await client.create_stream_task(
                    StreamTaskSpec(
                        digital_human_id=kiosk.digital_human_id,
                        room_id="room_kiosk",
                        stream_id=kiosk.stream_id,
                        ttl=DAY,
                        max_idle_time=DAY,
                    )
                )
                break
            except ZegoStreamIdConflictError:
                # Renewed meanwhile (the owner's timer and a disturbance both renew): use it.
                live = await self._live_kiosk_task()
                if live is not None:
                    task_id = live
                    break
                if self.now() > deadline:
                    raise
                await asyncio.sleep(0.2)
            except ZegoError:
                if self.now() > deadline:
                    raise
                await asyncio.sleep(0.2)
        while self.now() < deadline:
            task = await client.get_stream_task_status(task_id)
            if task.status is StreamTaskStatus.STREAMING:
                break
            await asyncio.sleep(0.05)
        self.kiosk_expires_at = self.now() + DAY / self.options.compression
        return task_id

    async def _live_kiosk_task(self) -> str | None:
        state = await self.emulator.admin(self.session, "GET", "state")
        for task in state.get("tasks", []):
            if task.get("StreamId") == self.by_key["kiosk"].stream_id and task.get("Status") in (
                1,
                3,
            ):
                return str(task["TaskId"])
        return None

    async def renew_kiosk(self, reason: str) -> None:
        """Replace the attached task and enter it through the subentry reconfigure flow."""
        async with self._renew_lock:
            if reason == "ttl" and self.now() < self.kiosk_expires_at:
                return  # a disturbance renewed it meanwhile
            start = self.now()
            kiosk = self.by_key["kiosk"]
            task_id = await self.create_kiosk_task()
            for _ in range(60):
                try:
                    await self._reconfigure_attached(kiosk, task_id)
                    break
                except RuntimeError as err:
                    # The entry may be reloading (another disturbance): try again shortly.
                    _LOGGER.info("reconfigure of the kiosk failed, retrying: %s", err)
                    await asyncio.sleep(1)
            await self.wait_entry_loaded()
            self.windows.append(
                Window(
                    kind=f"attached_renew ({reason})",
                    start=start,
                    end=self.now(),
                    sim_day=self.sim_day(start),
                )
            )

    async def kiosk_owner(self) -> None:
        """The attached task's owner: replaces it when its TTL is up (whatever else runs)."""
        while True:
            await asyncio.sleep(max(0.1, self.kiosk_expires_at - self.now()))
            try:
                await self.renew_kiosk("ttl")
            except (ZegoError, RuntimeError, aiohttp.ClientError, OSError, TimeoutError) as err:
                # ZEGO may be down (a disturbance): the owner tries again shortly.
                _LOGGER.info("kiosk owner could not renew yet: %s", err)
                await asyncio.sleep(2)

    async def _reconfigure_attached(self, kiosk: AvatarSpec, task_id: str) -> None:
        flow = await self.api.rest(
            "POST",
            "/api/config/config_entries/subentries/flow",
            {"handler": [ENTRY_ID, "avatar"], "subentry_id": kiosk.subentry_id},
        )
        path = f"/api/config/config_entries/subentries/flow/{flow['flow_id']}"
        data = kiosk.subentry_data(task_id)
        steps = {
            "reconfigure": {k: data[k] for k in ("name", "digital_human_id", "stream_mode")},
            "attached": {"task_id": task_id},
            # The flow's engine picker offers TTS entities only; the soak's tone engine is a
            # legacy one, so each speak call names it instead.
            "speech": {
                "language": "en-US",
                "voice_options": {},
                "sample_rate": "16000",
                "overlap_policy": data["overlap_policy"],
            },
        }
        while flow.get("type") == "form":
            step = flow["step_id"]
            if flow.get("errors"):
                raise RuntimeError(f"step {step}: {flow['errors']}")
            flow = await self.api.rest("POST", path, steps[step])
        if flow.get("type") != "abort" or flow.get("reason") != "reconfigure_successful":
            raise RuntimeError(f"reconfigure ended with {flow.get('type')} {flow.get('reason')}")

    async def wait_entry_loaded(self, timeout: float = 120.0) -> None:  # noqa: ASYNC109
        """Wait until the entry is loaded again (after a reload or a restart)."""
        deadline = self.now() + timeout
        while self.now() < deadline:
            with contextlib.suppress(RuntimeError, aiohttp.ClientError, OSError, TimeoutError):
                entries = await self.api.rest("GET", "/api/config/config_entries/entry")
                mine = [e for e in entries if e.get("entry_id") == ENTRY_ID]
                if mine and mine[0].get("state") == "loaded":
                    return
            await asyncio.sleep(0.5)

    # --- the run ------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        """Start everything, soak, stop everything; return the figures."""
        await self.emulator.start(self.session)
        kiosk_task = await self.create_kiosk_task()
        await self.ha.setup(self.emulator, self.avatars, {"kiosk": kiosk_task})
        started = await self.ha.start(self.session)
        self.notes["ha_first_start_seconds"] = round(started, 1)
        self.notes["faketime"] = str(self.ha.faketime) if self.ha.faketime else None
        await self.check_no_recovery_mode()
        self.ha_up = True
        self.t0 = self.now()
        helpers = [
            asyncio.create_task(self.monitor()),
            asyncio.create_task(self.kiosk_owner()),
        ]
        try:
            await self.soak()
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.wait(helpers)
            if self._disturbance is not None and not self._disturbance.done():
                await asyncio.wait([self._disturbance])
            await self.sample_resources()
            await self.collect_emulator()
            await self.api.close()
            await self.ha.stop()
            await self.emulator.stop(10)
        return self.figures()

    async def check_no_recovery_mode(self) -> None:
        """HA must start normally (no recovery mode, every integration set up)."""
        config = await self.api.rest("GET", "/api/config")
        self.notes["recovery_mode"] = bool(config.get("recovery_mode"))
        self.notes["ha_version"] = config.get("version")
        if self.notes["recovery_mode"]:
            raise RuntimeError("Home Assistant started in recovery mode")

    async def soak(self) -> None:
        options = self.options
        total = options.days * DAY
        per_day = max(1, options.disturbances_per_day)
        schedule = [
            (DAY * (day + (slot + 0.5) / per_day), kind)
            for day, slot, kind in (
                (index // per_day, index % per_day, kind)
                for index, kind in enumerate(
                    itertools.islice(
                        itertools.cycle(options.disturbances),
                        int(options.days * per_day),
                    )
                )
            )
        ]
        rotation = itertools.cycle(["lobby", "kiosk", "desk", "lobby", "kiosk"])
        counts: dict[str, int] = dict.fromkeys(self.by_key, 0)
        day_sampled = -1
        await self.sample_resources()
        day_sampled = 0
        # Disturbances still due when the time is up run too: every run has all of them.
        while self.sim() < total or schedule or not self._idle():
            slot_start = self.now()
            if self.sim_day() > day_sampled:
                day_sampled = self.sim_day()
                await self.sample_resources()
            if schedule and self.sim() >= schedule[0][0] and self._idle():
                _, kind = schedule.pop(0)
                self._disturbance = asyncio.create_task(self.disturb(kind))
            key = next(rotation)
            counts[key] += 1
            seconds = SPEECH_SECONDS[counts[key] % len(SPEECH_SECONDS)]
            policy = "interrupt" if counts[key] % 2 else "queue"
            if counts[key] % 4 == 0:
                # Two requests back to back: the second interrupts or queues behind the first.
                await self.speak(key, seconds, policy=policy, wait=False)
                other = "queue" if policy == "interrupt" else "interrupt"
                await self.speak(key, seconds, policy=other, wait=True)
            else:
                await self.speak(key, seconds, policy=policy, wait=True)
            await asyncio.sleep(max(0.05, slot_start + options.speech_every - self.now()))
        if self._disturbance is not None:
            await asyncio.wait([self._disturbance])

    def _idle(self) -> bool:
        return self._disturbance is None or self._disturbance.done()

    async def speak(self, key: str, seconds: float, *, policy: str, wait: bool) -> None:
        """One speak action; a failure keeps its reason."""
        avatar = self.by_key[key]
        asked = self.now()
        ok, reason = False, None
        try:
            answer = await self.api.speak(avatar, seconds, policy=policy, wait=wait)
        except Exception as err:  # noqa: BLE001 - HA gone mid-call (restart): a figure
            reason = f"ha_unreachable: {type(err).__name__}"
        else:
            if answer.get("success"):
                ok = True
            else:
                error = answer.get("error") or {}
                reason = str(error.get("translation_key") or error.get("code") or "unknown")
                message = str(error.get("message") or "")[:160]
                reason = f"{reason}: {message}"
        self.speeches.append(
            Speech(
                avatar=key,
                asked_at=asked,
                done_at=self.now(),
                ok=ok,
                reason=reason,
                policy=policy,
                wait=wait,
                sim_day=self.sim_day(asked),
            )
        )

    # --- monitoring ---------------------------------------------------------------------------

    async def monitor(self) -> None:
        """Every second: stuck states, keep-alive gaps, stream time while not streaming."""
        since: dict[str, tuple[str, float]] = {}
        reported: set[tuple[str, float]] = set()
        gap_start: float | None = None
        desk_off: tuple[float, float] | None = None  # (since, stream time then)
        lobby, desk = self.by_key["lobby"], self.by_key["desk"]
        while True:
            await asyncio.sleep(1.0)
            if not self.ha_up:
                since.clear()
                continue
            try:
                states = await self.api.states()
            except Exception:  # noqa: BLE001, S112 - HA restarting or refusing: try next second
                continue
            now = self.now()
            for avatar in self.avatars:
                state = states.get(avatar.entity("sensor", "avatar_state"), {}).get("state")
                if state is None:
                    continue
                previous = since.get(avatar.key)
                if previous is None or previous[0] != state:
                    since[avatar.key] = (state, now)
                    continue
                bound = STUCK_BOUND.get(state)
                if bound is not None and now - previous[1] > bound:
                    marker = (avatar.key, previous[1])
                    if marker not in reported:
                        reported.add(marker)
                        self.stuck.append(
                            {
                                "avatar": avatar.key,
                                "state": state,
                                "since": previous[1],
                                "sim_day": self.sim_day(previous[1]),
                            }  # fmt: skip
                        )
            gap_start = self._track_gap(states, lobby, gap_start, now)
            desk_off = self._track_idle(states, desk, desk_off, now)

    def _track_gap(
        self, states: dict[str, Any], lobby: AvatarSpec, gap_start: float | None, now: float
    ) -> float | None:
        """Keep-alive: how long the lobby's stream was not streaming."""
        status = states.get(lobby.entity("sensor", "stream_status"), {}).get("state")
        if status == "streaming" and gap_start is not None:
            self.keep_alive_gaps.append((gap_start, now))
            return None
        if status not in ("streaming", None, "unavailable") and gap_start is None:
            return now
        return gap_start

    def _track_idle(
        self,
        states: dict[str, Any],
        desk: AvatarSpec,
        desk_off: tuple[float, float] | None,
        now: float,
    ) -> tuple[float, float] | None:
        """Keep-alive off: while the desk does not stream, its stream time must not move."""
        desk_status = states.get(desk.entity("sensor", "stream_status"), {}).get("state")
        raw = states.get(desk.entity("sensor", "stream_time"), {}).get("state")
        try:
            desk_time = float(raw) if raw is not None else None
        except ValueError:
            desk_time = None
        if desk_status in ("unavailable", "unknown", None):
            # Reloading (the kiosk's reconfigure, a reauth): the total shown next is the
            # restored one, exact to the moment of the reload. Compare from there.
            return None
        if desk_status == "streaming" or desk_time is None:
            return None
        if desk_off is None:
            return (now, desk_time)
        if desk_time > desk_off[1] + 0.01:
            self.idle_violations.append(
                {"since": desk_off[0], "at": now, "from": desk_off[1], "to": desk_time}
            )
            return (now, desk_time)
        return desk_off

    async def sample_resources(self) -> None:
        """HA's RSS, sockets, fds and asyncio tasks now."""
        tasks, zego = None, None
        if self.ha_up:
            with contextlib.suppress(Exception):
                stats = await self.api.probe()
                tasks = stats.get("tasks")
                zego = stats.get("zego_tasks")
        rss, sockets, fds = _proc_stats(self.ha.pid)
        self.samples.append(
            Sample(
                sim_day=self.sim_day() if self.t0 else 0,
                ha_start=self.ha.starts,
                rss_kb=rss,
                sockets=sockets,
                fds=fds,
                tasks=tasks,
                zego_tasks=zego,
            )
        )

    async def collect_emulator(self) -> None:
        """Keep what this emulator process knows: its requests and its tasks."""
        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
            state = await self.emulator.admin(self.session, "GET", "state")
            self.tasks_seen.extend(state.get("tasks", []))
        await self.emulator.collect_requests(self.session)

    # --- disturbances -------------------------------------------------------------------------

    async def disturb(self, kind: str) -> None:
        """Run one disturbance; record its window."""
        start = self.now()
        notes: dict[str, Any] = {}
        handler = getattr(self, f"_disturb_{kind}")
        try:
            await handler(notes)
        except Exception as err:
            _LOGGER.exception("disturbance %s failed", kind)
            notes["harness_error"] = repr(err)
        window = Window(
            kind=kind, start=start, end=self.now(), sim_day=self.sim_day(start), notes=notes
        )
        self.windows.append(window)
        window.notes["recovery_probe"] = await self.probe_recovery(window.end)
        _LOGGER.info("disturbance %s: %.1f s %s", kind, window.end - start, notes)

    async def probe_recovery(self, since: float) -> dict[str, float | None]:
        """Speak on each avatar until it works: seconds from the window's end (None: never)."""
        out: dict[str, float | None] = {}
        for avatar in self.avatars:
            out[avatar.key] = None
            while self.now() - since < RECOVERY_GIVE_UP:
                before = len(self.speeches)
                await self.speak(avatar.key, 0.3, policy="queue", wait=True)
                if self.speeches[before:] and self.speeches[-1].ok:
                    out[avatar.key] = round(self.speeches[-1].done_at - since, 1)
                    break
                await asyncio.sleep(0.5)
        return out

    async def _fault(self, body: dict[str, Any]) -> None:
        await self.emulator.admin(self.session, "POST", "faults", body)

    async def _clear_faults(self) -> None:
        await self.emulator.admin(self.session, "DELETE", "faults")

    async def _disturb_console_stop(self, notes: dict[str, Any]) -> None:
        state = await self.emulator.admin(self.session, "GET", "state")
        client = self.client()
        stopped = []
        for task in state.get("tasks", []):
            if task.get("Status") == 3 and task.get("StreamId") == self.by_key["lobby"].stream_id:
                with contextlib.suppress(ZegoError):
                    await client.stop_stream_task(task["TaskId"])
                    stopped.append(task["TaskId"])
        notes["stopped"] = len(stopped)

    async def _disturb_http_5xx(self, notes: dict[str, Any]) -> None:
        await self._fault({"kind": "http_status", "http_status": 503, "count": 12})
        await asyncio.sleep(8)
        await self._clear_faults()

    async def _disturb_rate_limit(self, notes: dict[str, Any]) -> None:
        await self._fault({"kind": "zego_error", "code": 400010009, "message": "busy", "count": 12})
        await asyncio.sleep(8)
        await self._clear_faults()

    async def _disturb_ws_silent(self, notes: dict[str, Any]) -> None:
        # The next drive goes silent after its first 0.1 s of audio, for 10 s.
        await self._fault({"kind": "ws_silent", "after_bytes": 3200, "delay": 10.0, "count": 1})
        # The disturbance lasts until the silent socket is over and HA had time to notice.
        await asyncio.sleep(10 + 5 + 2)
        await self._clear_faults()

    async def _restart_emulator(self, down: float = 0.0) -> None:
        await self.collect_emulator()
        await self.emulator.stop(10)
        await asyncio.sleep(down)
        await self.emulator.start(self.session)

    async def _disturb_emulator_restart(self, notes: dict[str, Any]) -> None:
        await self._restart_emulator()
        # Its tasks died with it: the kiosk's owner makes a new one.
        await self.renew_kiosk("emulator restart")

    async def _disturb_unreachable(self, notes: dict[str, Any]) -> None:
        outage = self.options.outage
        # Refused: nothing listens on the port.
        await self._restart_emulator(down=outage)
        # Timeouts: every request answered only after HA's 10 s request timeout.
        await self._fault({"kind": "delay", "delay": 15.0, "count": None})
        await asyncio.sleep(outage)
        await self._clear_faults()
        await self.renew_kiosk("unreachable")

    async def _disturb_ha_restart(self, notes: dict[str, Any]) -> None:
        lobby = self.by_key["lobby"]
        before = await self._stream_times()
        # A long utterance, cut by the restart.
        speaking = asyncio.create_task(self.speak("lobby", 6.0, policy="interrupt", wait=True))
        # Stop HA while that utterance plays (the main loop may hold the websocket first).
        sensor = lobby.entity("sensor", "avatar_state")
        state = None
        for _ in range(40):
            await asyncio.sleep(0.25)
            state = (await self.api.states()).get(sensor, {}).get("state")
            if state == "speaking":
                await asyncio.sleep(0.5)
                break
        notes["state_at_stop"] = state
        self.ha_up = False
        await self.api.close()
        await self.ha.stop()
        await asyncio.wait([speaking])
        notes["start_seconds"] = round(await self.ha.start(self.session), 1)
        self.ha_up = True
        after = await self._stream_times()
        notes["stream_time_before"] = before
        notes["stream_time_after"] = after
        notes["stream_time_survived"] = all(
            after.get(key, -1) >= value for key, value in before.items()
        )

    async def _stream_times(self) -> dict[str, float]:
        states = await self.api.states()
        out = {}
        for avatar in self.avatars:
            raw = states.get(avatar.entity("sensor", "stream_time"), {}).get("state")
            with contextlib.suppress(TypeError, ValueError):
                out[avatar.key] = float(raw)  # type: ignore[arg-type]
        return out

    async def _disturb_secret_rotation(self, notes: dict[str, Any]) -> None:
        answer = await self.emulator.admin(self.session, "POST", "credentials/revoke")
        self.emulator.secret = answer["ServerSecret"]
        flow_id = None
        for _ in range(120):
            answer = await self.api.ws_call({"type": "config_entries/flow/progress"})
            flows = answer.get("result") or []
            reauth = [
                f
                for f in flows
                if f.get("handler") == "zego_digital_human"
                and f.get("context", {}).get("source") == "reauth"
            ]
            if reauth:
                flow_id = reauth[0]["flow_id"]
                break
            await asyncio.sleep(1)
        notes["reauth_asked"] = flow_id is not None
        if flow_id is None:
            return
        result = await self.api.rest(
            "POST",
            f"/api/config/config_entries/flow/{flow_id}",
            {"server_secret": self.emulator.secret},
        )
        notes["reauth_result"] = f"{result.get('type')} {result.get('reason')}"
        await self.wait_entry_loaded()

    async def _disturb_clock_jump(self, notes: dict[str, Any]) -> None:
        if self.ha.faketime is None:
            notes["skipped"] = "libfaketime is not installed (apt-get install libfaketime)"
            return
        # An NTP step forward by an hour, then back; only HA's process sees it.
        self.ha.set_clock_offset(3600)
        await asyncio.sleep(20)
        self.ha.set_clock_offset(0)
        await asyncio.sleep(20)
        self.ha.set_clock_offset(-1800)
        await asyncio.sleep(20)
        self.ha.set_clock_offset(0)
        await asyncio.sleep(2)

    # --- figures ------------------------------------------------------------------------------

    def _task_windows(self) -> list[Window]:
        """Task endings ZEGO decided (TTL, idle), as short windows of their avatar."""
        by_stream = {avatar.stream_id: avatar.key for avatar in self.avatars}
        windows = []
        for task in self.tasks_seen:
            ended = task.get("EndedAt")
            reason = task.get("EndReason")
            avatar = by_stream.get(task.get("StreamId", ""))
            if ended is None or reason not in ("ttl", "idle") or avatar is None:
                continue
            windows.append(
                Window(
                    kind=f"task_{reason}",
                    start=float(ended) - 0.5,
                    end=float(ended) + 0.5,
                    sim_day=self.sim_day(float(ended)),
                    avatars=(avatar,),
                )
            )
        return windows

    def figures(self) -> dict[str, Any]:
        """Everything the run measured, with the goals."""
        grace = POLL_INTERVAL
        windows = self.windows + self._task_windows()
        for speech in self.speeches:
            if speech.ok:
                continue
            for window in windows:
                if window.avatars is not None and speech.avatar not in window.avatars:
                    continue
                if speech.done_at >= window.start and speech.asked_at <= window.end + grace:
                    speech.explained_by = window.kind
                    break
        failed = [s for s in self.speeches if not s.ok]
        unexplained = [s for s in failed if s.explained_by is None]
        reasons: dict[str, int] = {}
        for speech in failed:
            short = (speech.reason or "?").split(":")[0]
            reasons[short] = reasons.get(short, 0) + 1

        recoveries: list[dict[str, Any]] = []
        probed: list[dict[str, float | None]] = []
        for window in self.windows:
            probe = window.notes.get("recovery_probe")
            if probe is not None:
                probed.append(probe)
            recoveries.append(
                {
                    "kind": window.kind,
                    "sim_day": window.sim_day,
                    "duration": round(window.end - window.start, 1),
                    "recovery_seconds": probe,
                    "notes": {k: v for k, v in window.notes.items() if k != "recovery_probe"},
                }
            )
        worst_recovery = max((v for p in probed for v in p.values() if v is not None), default=0.0)
        never = sum(1 for p in probed for v in p.values() if v is None)

        def in_window(start: float, end: float) -> bool:
            return any(
                start <= w.end + grace and end >= w.start for w in self.windows if w.avatars is None
            )

        gaps = [
            {
                "seconds": round(end - start, 1),
                "sim_day": self.sim_day(start),
                "in_disturbance": in_window(start, end),
            }  # fmt: skip
            for start, end in self.keep_alive_gaps
        ]
        quiet_gaps = [g["seconds"] for g in gaps if not g["in_disturbance"]]

        requests = self.emulator.requests
        run_hours = max(1e-9, (self.now() - self.t0) / 3600)
        per_avatar_hour = {
            avatar.key: round(
                sum(1 for r in requests if r.get("stream_id") == avatar.stream_id) / run_hours, 1
            )
            for avatar in self.avatars
        }
        per_second: dict[tuple[str, int], int] = {}
        for item in requests:
            bucket = (str(item.get("action")), int(float(item.get("at", 0))))
            per_second[bucket] = per_second.get(bucket, 0) + 1
        peak: dict[str, int] = {}
        for (action, _), count in per_second.items():
            peak[action] = max(peak.get(action, 0), count)

        desk_tasks = [
            t for t in self.tasks_seen if t.get("StreamId") == self.by_key["desk"].stream_id
        ]
        idle_stops = sum(1 for t in desk_tasks if t.get("EndReason") == "idle")
        desk_live = sum(
            float(t["EndedAt"]) - float(t["CreatedAt"])
            for t in desk_tasks
            if t.get("EndedAt") is not None and t.get("CreatedAt") is not None
        )

        resources = [asdict(sample) for sample in self.samples]
        drift = _drift(self.samples)
        goals = {
            "unexplained_failures": {
                "value": len(unexplained),
                "goal": "0",
                "met": not unexplained,
            },
            "stuck_states": {"value": len(self.stuck), "goal": "0", "met": not self.stuck},
            "worst_recovery_seconds": {
                "value": worst_recovery,
                "goal": f"<= {POLL_INTERVAL:g} (one poll interval)",
                "met": worst_recovery <= POLL_INTERVAL and never == 0,
            },
            "keep_alive_max_gap_seconds": {
                "value": max(quiet_gaps, default=0.0),
                "goal": f"<= {POLL_INTERVAL:g} outside disturbances",
                "met": max(quiet_gaps, default=0.0) <= POLL_INTERVAL + 2,
            },
            "idle_stream_time_violations": {
                "value": len(self.idle_violations),
                "goal": "0 (stream time still while not streaming)",
                "met": not self.idle_violations,
            },
            "peak_qps_per_action": {
                "value": max(peak.values(), default=0),
                "goal": "<= 10",
                "met": max(peak.values(), default=0) <= 10,
            },
            "resource_drift": {
                "value": drift,
                "goal": "flat (see tolerance)",
                "met": drift["flat"],
            },
        }
        return {
            "options": {
                "days": self.options.days,
                "compression": self.options.compression,
                "sim_day_real_seconds": DAY / self.options.compression,
                "speech_every_real_seconds": self.options.speech_every,
                "disturbances": list(self.options.disturbances),
                "avatars": [
                    {
                        "key": a.key,
                        "managed": a.managed,
                        "keep_alive": a.keep_alive,
                        "policy": a.policy,
                        "ttl": a.ttl,
                        "max_idle_time": a.max_idle_time,
                    }  # fmt: skip
                    for a in self.avatars
                ],
            },
            "real_seconds": round(self.now() - self.t0, 1),
            "notes": self.notes,
            "speeches": {
                "asked": len(self.speeches),
                "said": len(self.speeches) - len(failed),
                "failed": len(failed),
                "failed_by_reason": reasons,
                "failed_by_window": _count(s.explained_by or "UNEXPLAINED" for s in failed),
                "unexplained": [asdict(s) for s in unexplained],
            },
            "disturbances": recoveries,
            "stuck": self.stuck,
            "keep_alive_gaps": gaps,
            "cost": {
                "desk_idle_stops": idle_stops,
                "desk_tasks": len(desk_tasks),
                "desk_emulator_live_seconds": round(desk_live, 1),
                "idle_violations": self.idle_violations,
            },
            "resources": resources,
            "requests": {
                "total": len(requests),
                "per_avatar_per_hour": per_avatar_hour,
                "peak_per_second_by_action": peak,
                "budget_qps": 10,
            },
            "goals": goals,
        }


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


# Tolerances for "flat": per HA process, from its first to its last day-boundary sample.
TASKS_TOLERANCE = 25
SOCKETS_TOLERANCE = 10
RSS_TOLERANCE = 0.30


def _drift(samples: list[Sample]) -> dict[str, Any]:
    """Growth of tasks, sockets and RSS within each HA process (restarts start over)."""
    worst: dict[str, Any] = {"tasks": 0, "sockets": 0, "rss_ratio": 0.0}
    by_start: dict[int, list[Sample]] = {}
    for sample in samples:
        by_start.setdefault(sample.ha_start, []).append(sample)
    for group in by_start.values():
        usable = [s for s in group if s.tasks is not None and s.rss_kb and s.sockets is not None]
        if len(usable) < 2:
            continue
        # The first sample of a process is taken soon after start: compare from the second.
        first, last = (usable[1] if len(usable) > 2 else usable[0]), usable[-1]
        worst["tasks"] = max(worst["tasks"], (last.tasks or 0) - (first.tasks or 0))
        worst["sockets"] = max(worst["sockets"], (last.sockets or 0) - (first.sockets or 0))
        worst["rss_ratio"] = max(
            worst["rss_ratio"], round((last.rss_kb or 0) / (first.rss_kb or 1) - 1, 3)
        )
    worst["flat"] = (
        worst["tasks"] <= TASKS_TOLERANCE
        and worst["sockets"] <= SOCKETS_TOLERANCE
        and worst["rss_ratio"] <= RSS_TOLERANCE
    )
    worst["tolerance"] = {
        "tasks": TASKS_TOLERANCE,
        "sockets": SOCKETS_TOLERANCE,
        "rss_ratio": RSS_TOLERANCE,
    }
    return worst


async def run_soak(options: Options) -> dict[str, Any]:
    """Run one soak in a temporary directory (kept when options.workdir is given)."""
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        if options.workdir is not None:
            options.workdir.mkdir(parents=True, exist_ok=True)
            soak = Soak(options, session, options.workdir)
            return await soak.run()
        with tempfile.TemporaryDirectory(prefix="zego-soak-") as tmp:
            soak = Soak(options, session, Path(tmp))
            began = time.monotonic()
            figures = await soak.run()
            figures["wall_seconds"] = round(time.monotonic() - began, 1)
            return figures

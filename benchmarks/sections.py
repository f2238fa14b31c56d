"""The five measurements. Each appends rows to Results; figures are loop.time() differences."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
import gc
import os
from pathlib import Path
import random
import socket
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any
import weakref

import aiohttp
from aiohttp import web
from homeassistant.components import tts
from homeassistant.components.tts.const import DATA_TTS_MANAGER

from custom_components.zego_digital_human.client import (
    PacingConfig,
    RateLimiter,
    WsDriveSession,
    ZegoClient,
)
from custom_components.zego_digital_human.const import DOMAIN
from custom_components.zego_digital_human.speech.queue import QUEUE_GAP
from zego_emulator import DriveRecord, DriveStatus, EmulatorConfig, TaskStatus, ZegoEmulator

from .assist import section_assist
from .card import section_card
from .env import ENGINE, RATE, bench_hass, player, tone_pcm, unique_message, wav_header
from .report import Results, Row, median, percentile

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from homeassistant.core import HomeAssistant

FRAME = PacingConfig().frame_bytes(RATE)


@dataclass(frozen=True)
class Sizes:
    """How big each section runs; three presets (quick, default, full)."""

    mode: str
    ttfa_runs: int
    pacing_utterances: int
    pacing_parallel: int
    pacing_min: float
    pacing_max: float
    long_utterance: float
    concurrency: tuple[int, ...]
    concurrency_seconds: float
    memory_short: float
    memory_long: float
    cold_runs: int
    cold_delays: tuple[float, ...]


PRESETS = {
    "quick": Sizes("quick", 3, 4, 4, 0.5, 1.5, 3.0, (1, 2), 1.0, 1.0, 3.0, 1, (0.3,)),
    "default": Sizes(
        "default", 20, 50, 10, 2.0, 20.0, 60.0, (1, 5, 20), 10.0, 10.0, 120.0, 2, (0.5, 1.5)
    ),
    "full": Sizes(
        "full", 40, 50, 10, 2.0, 20.0, 300.0, (1, 5, 20), 30.0, 10.0, 600.0, 3, (0.5, 1.5, 3.0)
    ),
}


def _ms(seconds: float) -> float:
    return seconds * 1000


# --- shared helpers -----------------------------------------------------------------------


async def speak(
    hass: HomeAssistant, index: int, seconds: float, latency_ms: float = 0, *, wait: bool
) -> None:
    """zego_digital_human.speak on avatar index with a fresh message of `seconds`."""
    await hass.services.async_call(
        DOMAIN,
        "speak",
        {
            "entity_id": player(index),
            "message": unique_message(f"a{index}"),
            "options": {"seconds": seconds, "latency_ms": latency_ms},
            "wait": wait,
        },
        blocking=True,
    )


async def start_streams(hass: HomeAssistant, count: int) -> None:
    """Warm every avatar's stream (start_stream waits until it streams)."""
    await hass.services.async_call(
        DOMAIN,
        "start_stream",
        {"entity_id": [player(i) for i in range(1, count + 1)]},
        blocking=True,
    )


def streaming_task(emu: ZegoEmulator) -> str:
    """The id of a task that is streaming now."""
    for task in emu.tasks.values():
        if task.status is TaskStatus.STREAMING:
            return task.task_id
    raise RuntimeError("no streaming task")


async def one_pcm(pcm: bytes) -> AsyncIterator[bytes]:
    """An async iterator over one buffer (WsDriveSession reframes it)."""
    yield pcm


def _client(app_id: int, secret: str, endpoint: str, session: aiohttp.ClientSession) -> ZegoClient:
    # Its own rate limiter: the reference client must not queue behind HA's requests.
    return ZegoClient(
        app_id=app_id,
        server_secret=secret,
        session=session,
        endpoint=endpoint,
        rate_limiter=RateLimiter(),
    )


def pcm_of_wav(data: bytes) -> bytes:
    """The samples after the data chunk header (HA's WAV may carry LIST and unknown sizes)."""
    at = data.find(b"data")
    if at < 0:
        raise ValueError("no data chunk")
    pcm = data[at + 8 :]
    return pcm[: len(pcm) - len(pcm) % 2]


def new_drive(emu: ZegoEmulator, before: int) -> DriveRecord:
    """The drive issued after `before` drives existed."""
    if len(emu.drives) <= before:
        raise RuntimeError("no drive was issued")
    return emu.drives[before]


@asynccontextmanager
async def cpu_burner() -> AsyncIterator[None]:
    """Keep the other core busy: a subprocess spinning in pure Python."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "while True: pass")
    try:
        yield
    finally:
        proc.terminate()
        await proc.wait()


class LagSampler:
    """Event-loop lag: how late a 5 ms sleep wakes up, sampled continuously."""

    PERIOD = 0.005

    def __init__(self) -> None:
        """Not running until start()."""
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sampling (clears earlier samples)."""
        self.samples = []
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> list[float]:
        """Stop and return the lags in seconds."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        return self.samples

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.PERIOD)
            self.samples.append(max(0.0, loop.time() - before - self.PERIOD))


def rss_bytes() -> int:
    """Resident set size of this process now (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


# --- an emulator in a subprocess: HA's CPU and RSS are then measured alone ------------------


@dataclass
class RemoteEmulator:
    """`python -m zego_emulator` on a free loopback port; records through the admin API."""

    endpoint: str
    app_id: int
    server_secret: str
    session: aiohttp.ClientSession

    async def drives(self) -> list[dict[str, Any]]:
        """Every DriveRecord as JSON (loop times: CLOCK_MONOTONIC, same as ours on Linux)."""
        async with self.session.get(f"{self.endpoint}/_emulator/drives") as resp:
            data = await resp.json()
        drives = data["drives"] if isinstance(data, dict) else data
        return list(drives)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@asynccontextmanager
async def remote_emulator(*settings: str) -> AsyncIterator[RemoteEmulator]:
    """Start the emulator process, wait until it answers, stop it afterwards."""
    port = _free_port()
    config = EmulatorConfig()
    args = [sys.executable, "-m", "zego_emulator", "--port", str(port), "--no-ws-tls"]
    for setting in settings:
        args += ["--set", setting]
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                with suppress(aiohttp.ClientError):
                    async with session.get(f"{endpoint}/_emulator/state") as resp:
                        if resp.status == 200:
                            break
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError("the emulator subprocess did not come up")
            yield RemoteEmulator(endpoint, config.app_id, config.server_secret, session)
    finally:
        proc.terminate()
        with suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 10)


# --- 1. time to first audio ---------------------------------------------------------------


async def _protocol_floor(emu: ZegoEmulator, session: aiohttp.ClientSession) -> float:
    """DriveByWsStream + connect + Start + one frame, by the bare client."""
    client = _client(emu.config.app_id, emu.config.server_secret, emu.endpoint, session)
    loop = asyncio.get_running_loop()
    before = len(emu.drives)
    started = loop.time()
    async with WsDriveSession(client, streaming_task(emu), sample_rate=RATE) as drive:
        await drive.stream(one_pcm(tone_pcm(0.04)))
    record = new_drive(emu, before)
    await emu.wait_for_drive(record.drive_id, status=DriveStatus.ENDED, timeout=10)
    if record.first_frame_at is None:
        raise RuntimeError("floor drive has no first frame")
    return record.first_frame_at - started


# What a straightforward implementation asks HA for: the avatar's exact format.
_HA_FORMAT = {
    tts.ATTR_PREFERRED_FORMAT: "wav",
    tts.ATTR_PREFERRED_SAMPLE_RATE: RATE,
    tts.ATTR_PREFERRED_SAMPLE_CHANNELS: 1,
    tts.ATTR_PREFERRED_SAMPLE_BYTES: 2,
}


async def _naive(
    hass: HomeAssistant,
    emu: ZegoEmulator,
    session: aiohttp.ClientSession,
    seconds: float,
    latency_ms: float,
) -> float:
    """Synthesize everything in the avatar's format, then drive it: the sequential baseline."""
    client = _client(emu.config.app_id, emu.config.server_secret, emu.endpoint, session)
    loop = asyncio.get_running_loop()
    before = len(emu.drives)
    started = loop.time()
    stream = tts.async_create_stream(
        hass,
        ENGINE,
        None,
        {"seconds": seconds, "latency_ms": latency_ms, **_HA_FORMAT},
    )
    stream.async_set_message(unique_message("naive"))
    data = b"".join([chunk async for chunk in stream.async_stream_result()])
    async with WsDriveSession(client, streaming_task(emu), sample_rate=RATE) as drive:
        await drive.stream(one_pcm(pcm_of_wav(data)))
    record = new_drive(emu, before)
    await emu.wait_for_drive(record.drive_id, status=DriveStatus.ENDED, timeout=seconds + 10)
    if record.first_frame_at is None:
        raise RuntimeError("naive drive has no first frame")
    return record.first_frame_at - started


async def _ours(hass: HomeAssistant, emu: ZegoEmulator, seconds: float, latency_ms: float) -> float:
    # From an idle avatar: after an utterance the queue keeps QUEUE_GAP of silence
    # before the next one (announcements must not run together), which is not latency.
    await asyncio.sleep(QUEUE_GAP)
    loop = asyncio.get_running_loop()
    before = len(emu.drives)
    started = loop.time()
    await speak(hass, 1, seconds, latency_ms, wait=False)  # returns at the first frame
    record = new_drive(emu, before)
    await emu.wait_for_drive(record.drive_id, status=DriveStatus.ENDED, timeout=seconds + 10)
    if record.first_frame_at is None:
        raise RuntimeError("speak drive has no first frame")
    return record.first_frame_at - started


async def section_ttfa(results: Results, sizes: Sizes) -> None:
    """TTFA of speak (0 and 300 ms engines) against the protocol floor and the naive path."""
    seconds = 2.0  # utterance length: long enough that "synthesize all" costs something
    config = EmulatorConfig(port=0, time_scale=0.01, ws_tls=True)
    async with (
        ZegoEmulator(config) as emu,
        bench_hass(
            app_id=config.app_id,
            server_secret=config.server_secret,
            endpoint=emu.endpoint,
            avatars=1,
        ) as (hass, _log),
        aiohttp.ClientSession() as session,
    ):
        await start_streams(hass, 1)
        await _ours(hass, emu, 0.2, 0)  # warm-up: first-use imports and connections
        await _protocol_floor(emu, session)
        floor: list[float] = []
        ours: dict[int, list[float]] = {0: [], 300: []}
        naive: dict[int, list[float]] = {0: [], 300: []}
        # Interleaved, so load from other users of the machine hits every figure alike.
        for _ in range(sizes.ttfa_runs):
            floor.append(await _protocol_floor(emu, session))
            for latency in (0, 300):
                ours[latency].append(await _ours(hass, emu, seconds, latency))
                naive[latency].append(await _naive(hass, emu, session, seconds, latency))
    s = "1 TTFA"
    floor_p50, floor_p90 = median(floor), percentile(floor, 90)
    results.add(Row(s, "protocol floor p50", _ms(floor_p50), "ms"))
    results.add(Row(s, "protocol floor p90", _ms(floor_p90), "ms"))
    for latency in (0, 300):
        p50, p90 = median(ours[latency]), percentile(ours[latency], 90)
        reference = floor_p50 + latency / 1000
        ref_name = "floor" if latency == 0 else "floor+300ms"
        results.add(
            Row(s, f"speak {latency}ms engine p50", _ms(p50), "ms", _ms(reference), ref_name)
        )
        results.add(
            Row(
                s,
                f"speak {latency}ms engine p90",
                _ms(p90),
                "ms",
                _ms(floor_p90 + latency / 1000),
                ref_name,
            )
        )
        if latency == 0:
            overhead = p50 - floor_p50
            results.add(
                Row(
                    s,
                    "overhead over floor p50 (0ms)",
                    _ms(overhead),
                    "ms",
                    _ms(floor_p50),
                    "floor",
                    "<= 15 ms",
                    _ms(overhead) <= 15,
                )
            )
        else:
            results.add(
                Row(
                    s,
                    "TTFA p50 (300ms)",
                    _ms(p50),
                    "ms",
                    _ms(reference),
                    ref_name,
                    "<= 315 ms",
                    _ms(p50) <= 315,
                )
            )
        naive_p50 = median(naive[latency])
        results.add(
            Row(s, f"naive sequential {latency}ms p50", _ms(naive_p50), "ms", _ms(p50), "speak p50")
        )
    results.notes.append(
        f"TTFA: {sizes.ttfa_runs} runs each, {seconds:g} s utterances, TLS WebSocket, emulator "
        "in-process; TTFA = emulator first_frame_at - loop time before the service call."
    )


# --- 2. pacing ----------------------------------------------------------------------------


def lead_profile(record: DriveRecord) -> list[tuple[float, float]]:
    """(arrival, lead) per frame: audio buffered ahead of playback after the frame arrived."""
    profile: list[tuple[float, float]] = []
    buffered_until: float | None = None
    for arrival, size in record.frames:
        duration = size / (2 * RATE)
        start = arrival if buffered_until is None or buffered_until < arrival else buffered_until
        buffered_until = start + duration
        profile.append((arrival, buffered_until - arrival))
    return profile


def lead_drift(record: DriveRecord) -> float:
    """Mean lead over the last tenth minus over the first tenth (after the first second)."""
    profile = [
        (t, lead)
        for t, lead in lead_profile(record)
        if record.first_frame_at is not None and t - record.first_frame_at >= 1.0
    ]
    if len(profile) < 20:
        return 0.0
    tenth = len(profile) // 10
    first = [lead for _, lead in profile[:tenth]]
    last = [lead for _, lead in profile[-tenth:]]
    return sum(last) / len(last) - sum(first) / len(first)


async def section_pacing(results: Results, sizes: Sizes) -> None:
    """Many utterances in parallel avatars while another process burns a core."""
    rng = random.Random(5)
    lengths = [
        rng.uniform(sizes.pacing_min, sizes.pacing_max) for _ in range(sizes.pacing_utterances)
    ]
    parallel = sizes.pacing_parallel
    config = EmulatorConfig(
        port=0,
        time_scale=0.01,
        ws_tls=True,
        max_concurrent_tasks=parallel + 5,
        qps_scope="off",
        record_audio=False,
    )
    async with (
        ZegoEmulator(config) as emu,
        bench_hass(
            app_id=config.app_id,
            server_secret=config.server_secret,
            endpoint=emu.endpoint,
            avatars=parallel + 1,
        ) as (hass, _log),
        aiohttp.ClientSession() as session,
    ):
        await start_streams(hass, parallel + 1)
        long_index = parallel + 1
        long_task = next(
            t.task_id for t in emu.tasks.values() if t.stream_id == f"bench_stream_{long_index}"
        )

        async def lane(index: int) -> None:
            for seconds in lengths[index - 1 :: parallel]:
                await speak(hass, index, seconds, wait=True)

        async def long_one() -> None:
            await speak(hass, long_index, sizes.long_utterance, wait=True)

        async def reference() -> DriveRecord:
            # The bare client on the same loop, with the same busy core: pacing without HA.
            # It borrows the long avatar's task before that avatar's utterance starts.
            await asyncio.sleep(0.5)
            client = _client(config.app_id, config.server_secret, emu.endpoint, session)
            before = {d.drive_id for d in emu.drives}
            async with WsDriveSession(client, long_task, sample_rate=RATE) as drive:
                await drive.stream(one_pcm(tone_pcm(10.0)))
            record = next(d for d in emu.drives if d.drive_id not in before)
            await emu.wait_for_drive(record.drive_id, status=DriveStatus.ENDED, timeout=30)
            return record

        async with cpu_burner():
            ref = await reference()
            first = len(emu.drives)
            await asyncio.gather(*(lane(i) for i in range(1, parallel + 1)), long_one())
            await asyncio.sleep(0.5)
            drives = [d for d in emu.drives[first:] if d.kind == "ws"]
    long_drive = next(d for d in drives if d.task_id == long_task)
    short = [d for d in drives if d.task_id != long_task]
    s = "2 pacing"
    stops = [d.last_frame_to_stop for d in drives if d.last_frame_to_stop is not None]
    underruns = sum(d.underruns for d in drives)
    results.add(Row(s, "utterances", float(len(short)), "", float(len(lengths)), "asked"))
    results.add(
        Row(
            s,
            "underruns (all)",
            float(underruns),
            "",
            float(ref.underruns),
            "bare client",
            "0",
            underruns == 0,
        )
    )
    results.add(
        Row(
            s,
            "max lead",
            _ms(max(d.max_lead_seconds for d in drives)),
            "ms",
            _ms(ref.max_lead_seconds),
            "bare client",
        )
    )
    results.add(
        Row(
            s,
            f"lead drift over {sizes.long_utterance:g} s",
            _ms(lead_drift(long_drive)),
            "ms",
            _ms(lead_drift(ref)),
            "bare 10 s",
        )
    )
    worst_stop = max(stops) if stops else 0.0
    starved = [d for d in drives if d.underruns]
    if starved:
        results.notes.append(
            "pacing underruns: "
            + ", ".join(
                f"{d.audio_seconds:.1f} s drive: {d.underruns} ({_ms(d.underrun_seconds):.0f} ms)"
                for d in starved
            )
        )
    results.add(
        Row(
            s,
            "last frame to Stop p50",
            _ms(median(stops)),
            "ms",
            _ms(ref.last_frame_to_stop or 0),
            "bare client",
        )
    )
    results.add(
        Row(
            s,
            "last frame to Stop max",
            _ms(worst_stop),
            "ms",
            _ms(ref.last_frame_to_stop or 0),
            "bare client",
            "<= 20 ms",
            _ms(worst_stop) <= 20,
        )
    )
    results.notes.append(
        f"pacing: {len(lengths)} utterances of {sizes.pacing_min:g}-{sizes.pacing_max:g} s over "
        f"{parallel} avatars in parallel plus one {sizes.long_utterance:g} s utterance "
        f"({'the issue asks 5 min: --full' if sizes.long_utterance < 300 else 'as asked'}), "
        "one CPU-burning subprocess running; reference: one 10 s drive by the bare client "
        "alone, with the same CPU burner, just before."
    )


# --- 3. concurrency -----------------------------------------------------------------------


async def _measure(
    body: Callable[[], Awaitable[None]],
) -> tuple[list[float], float, float]:
    """Run body while sampling loop lag; return (lags, cpu seconds, wall seconds)."""
    sampler = LagSampler()
    sampler.start()
    cpu, wall = time.process_time(), time.monotonic()
    await body()
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    return await sampler.stop(), cpu, wall


async def section_concurrency(results: Results, sizes: Sizes) -> None:
    """1, 5 and 20 avatars at once; HA alone in this process (emulator in a subprocess)."""
    most = max(sizes.concurrency)
    seconds = sizes.concurrency_seconds
    async with (
        remote_emulator(
            f"max_concurrent_tasks={most + 5}",
            "qps_scope=off",
            "record_audio=false",
            "time_scale=0.01",
        ) as emu,
        bench_hass(
            app_id=emu.app_id, server_secret=emu.server_secret, endpoint=emu.endpoint, avatars=most
        ) as (hass, _log),
    ):
        await start_streams(hass, most)
        await asyncio.sleep(0.5)
        idle_lags, idle_cpu, idle_wall = await _measure(lambda: asyncio.sleep(seconds))
        idle_rate = idle_cpu / idle_wall
        s = "3 concurrency"
        results.add(Row(s, "idle loop lag p50", _ms(median(idle_lags)), "ms"))
        results.add(Row(s, "idle loop lag p99", _ms(percentile(idle_lags, 99)), "ms"))
        results.add(Row(s, "idle CPU", idle_rate, "cpu s/s"))
        for count in sizes.concurrency:
            known = {d["drive_id"] for d in await emu.drives()}

            async def body(count: int = count) -> None:
                await asyncio.gather(
                    *(speak(hass, i, seconds, wait=True) for i in range(1, count + 1))
                )

            lags, cpu, wall = await _measure(body)
            drives = [d for d in await emu.drives() if (d["drive_id"]) not in known]
            underruns = sum(int(d.get("underruns", 0)) for d in drives)
            per_stream = max(0.0, cpu - idle_rate * wall) / (count * seconds)
            p99 = _ms(percentile(lags, 99))
            target = "<= 10 ms" if count == most else ""
            results.add(
                Row(
                    s,
                    f"{count} avatars: loop lag p50",
                    _ms(median(lags)),
                    "ms",
                    _ms(median(idle_lags)),
                    "idle",
                )
            )
            results.add(
                Row(
                    s,
                    f"{count} avatars: loop lag p99",
                    p99,
                    "ms",
                    _ms(percentile(idle_lags, 99)),
                    "idle",
                    target,
                    (p99 <= 10) if target else None,
                )
            )
            results.add(
                Row(
                    s,
                    f"{count} avatars: CPU per audio s per stream",
                    per_stream,
                    "s/s",
                    idle_rate,
                    "idle cpu s/s",
                    "<= 0.01",
                    per_stream <= 0.01,
                )
            )
            results.add(
                Row(
                    s,
                    f"{count} avatars: underruns",
                    float(underruns),
                    "",
                    None,
                    "",
                    "0",
                    underruns == 0,
                )
            )
            if len(drives) != count:
                results.errors.append(f"concurrency {count}: {len(drives)} drives recorded")
    results.notes.append(
        f"concurrency: {seconds:g} s utterances, emulator in a subprocess (HA's CPU measured "
        "alone), CPU = process time minus the idle rate measured in the same run; "
        "lag = overshoot of 5 ms sleeps."
    )


# --- 4. memory ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Growth:
    """Peak RSS growth while an action ran, in MB, and how much of it HA's TTS cache held."""

    peak: float
    ha_cache_peak: float
    beyond_ha_cache: float  # peak of (RSS growth - growth of HA's TTS cache), same samples


async def _peak_growth(hass: HomeAssistant, action: Callable[[], Awaitable[None]]) -> Growth:
    """Sample RSS and HA's TTS cache every 50 ms while action runs."""
    gc.collect()
    await asyncio.sleep(0.2)
    base, cache_base = rss_bytes() / 1e6, ha_tts_cache_mb(hass)
    peak = cache_peak = beyond = 0.0
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak, cache_peak, beyond
        while not done.is_set():
            grown, cached = rss_bytes() / 1e6 - base, ha_tts_cache_mb(hass) - cache_base
            peak, cache_peak = max(peak, grown), max(cache_peak, cached)
            beyond = max(beyond, grown - cached)
            await asyncio.sleep(0.05)

    sampler = asyncio.get_running_loop().create_task(sample())
    try:
        await action()
    finally:
        done.set()
        await sampler
    return Growth(peak, cache_peak, beyond)


# Every TTS cache entry seen, for as long as something keeps it alive: HA drops an entry
# from its cache dict after time_memory, but a listener still reading it keeps it whole.
_SEEN_CACHES: weakref.WeakSet[Any] = weakref.WeakSet()


def ha_tts_cache_mb(hass: HomeAssistant) -> float:
    """What HA's TTS cache entries hold now, in MB.

    Attribution only, so it reads HA's private fields. HA reads the engine as fast as it
    answers and keeps each message's audio whole in its cache entry, for tts'
    time_memory (300 s by default) and for as long as a listener is still reading it.
    """
    manager = hass.data.get(DATA_TTS_MANAGER)
    _SEEN_CACHES.update(getattr(manager, "mem_cache", {}).values())
    total = 0
    for cache in _SEEN_CACHES:
        total += len(getattr(cache, "_result_data", None) or b"")
        total += sum(len(part) for part in getattr(cache, "_partial_data", None) or ())
    return total / 1e6


def write_tone_wav(path: Path, seconds: float) -> None:
    """A 16 kHz mono WAV of `seconds`, written a second at a time (never whole in memory)."""
    one = tone_pcm(1.0)
    whole, rest = divmod(round(seconds * RATE) * 2, len(one))
    with path.open("wb") as file:
        file.write(wav_header(whole * len(one) + rest))
        for _ in range(whole):
            file.write(one)
        file.write(one[:rest])


@asynccontextmanager
async def file_server(directory: Path) -> AsyncIterator[str]:
    """Serve directory over plain HTTP on loopback; yields the base URL."""
    app = web.Application()
    app.router.add_static("/", directory)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        sock.close()


async def play_file(hass: HomeAssistant, index: int, url: str) -> None:
    """zego_digital_human.play_audio of url on avatar index, waiting until it has played."""
    await hass.services.async_call(
        DOMAIN,
        "play_audio",
        {"entity_id": player(index), "media_id": url, "wait": True},
        blocking=True,
    )


async def section_memory(results: Results, sizes: Sizes) -> None:
    """Peak RSS growth of HA for a short and a long utterance (emulator in a subprocess).

    Measured twice: spoken through TTS, where HA's TTS memory cache keeps the whole
    utterance, and played from a WAV file through ffmpeg, where nothing is cached.
    """
    short_s, long_s = sizes.memory_short, sizes.memory_long
    with tempfile.TemporaryDirectory(prefix="zego-bench-media-") as media:
        write_tone_wav(Path(media) / "short.wav", short_s)
        write_tone_wav(Path(media) / "long.wav", long_s)
        async with (
            # 0.1, not 0.01: the avatar's TTL (a day) must outlast two 10-minute utterances.
            remote_emulator("record_audio=false", "time_scale=0.1") as emu,
            bench_hass(
                app_id=emu.app_id, server_secret=emu.server_secret, endpoint=emu.endpoint, avatars=1
            ) as (hass, _log),
            file_server(Path(media)) as base,
        ):
            await start_streams(hass, 1)
            # Warm-up: lazily built objects (and ffmpeg's first start) are not growth.
            await speak(hass, 1, 1.0, wait=True)
            await play_file(hass, 1, f"{base}/short.wav")
            tts_short = await _peak_growth(hass, lambda: speak(hass, 1, short_s, wait=True))
            tts_long = await _peak_growth(hass, lambda: speak(hass, 1, long_s, wait=True))
            file_short = await _peak_growth(hass, lambda: play_file(hass, 1, f"{base}/short.wav"))
            file_long = await _peak_growth(hass, lambda: play_file(hass, 1, f"{base}/long.wav"))
    s = "4 memory"
    short_name, long_name = f"{short_s:g} s", f"{long_s:g} s"
    for label, short, long in (
        ("speak", tts_short, tts_long),
        ("play_audio file", file_short, file_long),
    ):
        results.add(Row(s, f"{label}: peak RSS growth {short_name}", short.peak, "MB"))
        results.add(
            Row(
                s,
                f"{label}: peak RSS growth {long_name}",
                long.peak,
                "MB",
                short.peak,
                short_name,
                "within 5 MB",
                abs(long.peak - short.peak) <= 5,
            )
        )
    results.add(
        Row(
            s,
            f"speak: HA TTS cache peak ({long_name})",
            tts_long.ha_cache_peak,
            "MB",
            long_s * RATE * 2 / 1e6,
            "the audio",
            note="HA keeps each synthesized message whole for time_memory (300 s)",
        )
    )
    results.add(
        Row(
            s,
            f"speak: growth beyond HA's cache {long_name}",
            tts_long.beyond_ha_cache,
            "MB",
            tts_short.beyond_ha_cache,
            short_name,
            "within 5 MB",
            abs(tts_long.beyond_ha_cache - tts_short.beyond_ha_cache) <= 5,
        )
    )
    results.notes.append(
        f"memory: {short_name} vs {long_name}"
        f"{'' if long_s >= 600 else ' (the issue asks 10 min: --full)'}; "
        "emulator in a subprocess, RSS of this process sampled every 50 ms; "
        "the file is 16 kHz WAV over loopback HTTP, decoded by ffmpeg."
    )


# --- 5. managed cold start ----------------------------------------------------------------


async def section_cold_start(results: Results, sizes: Sizes) -> None:
    """speak on an offline managed avatar: task creation, start-up wait, polling overhead."""
    s = "5 cold start"
    for delay in sizes.cold_delays:
        config = EmulatorConfig(
            port=0, time_scale=1.0, ws_tls=True, startup_delay=delay, stopping_delay=0.05
        )
        waits: list[float] = []
        overheads: list[float] = []
        intervals: list[float] = []
        async with (
            ZegoEmulator(config) as emu,
            bench_hass(
                app_id=config.app_id,
                server_secret=config.server_secret,
                endpoint=emu.endpoint,
                avatars=1,
            ) as (hass, _log),
        ):
            loop = asyncio.get_running_loop()
            for _ in range(sizes.cold_runs):
                await hass.services.async_call(
                    DOMAIN, "stop_stream", {"entity_id": player(1)}, blocking=True
                )
                for _ in range(200):
                    if not any(t.live for t in emu.tasks.values()):
                        break
                    await asyncio.sleep(0.02)
                # Not the queue's pause between utterances (see _ours).
                await asyncio.sleep(QUEUE_GAP)
                tasks_before = set(emu.tasks)
                drives_before = len(emu.drives)
                started = loop.time()
                await speak(hass, 1, 0.5, wait=False)
                drive = new_drive(emu, drives_before)
                task = next(t for t in emu.tasks.values() if t.task_id not in tasks_before)
                streaming_at = next(
                    at for st, at in task.status_history if st is TaskStatus.STREAMING
                )
                polls = [
                    r.at
                    for r in emu.requests
                    if r.action == "GetDigitalHumanStreamTaskStatus" and r.at >= task.created_at
                ]
                seen = next((at for at in polls if at >= streaming_at), drive.issued_at)
                previous = max((at for at in polls if at < streaming_at), default=task.created_at)
                waits.append(drive.issued_at - started)
                overheads.append(drive.issued_at - streaming_at)
                intervals.append(seen - previous)
                await emu.wait_for_drive(drive.drive_id, status=DriveStatus.ENDED, timeout=10)
        overhead = median(overheads)
        interval = median(intervals)
        results.add(
            Row(
                s,
                f"stream wait (delay {delay:g} s)",
                _ms(median(waits)),
                "ms",
                _ms(delay),
                "startup delay",
            )
        )
        results.add(
            Row(
                s,
                f"polling overhead (delay {delay:g} s)",
                _ms(overhead),
                "ms",
                _ms(interval),
                "poll interval",
                "<= 1 poll interval",
                overhead <= interval + 0.005,
            )
        )
    results.notes.append(
        "cold start: stream wait = service call to DriveByWsStream; overhead = DriveByWsStream "
        "- the emulator's switch to streaming; poll interval = gap between the status polls "
        "around that switch."
    )


SECTIONS: dict[str, Callable[[Results, Sizes], Awaitable[None]]] = {
    "ttfa": section_ttfa,
    "pacing": section_pacing,
    "concurrency": section_concurrency,
    "memory": section_memory,
    "cold": section_cold_start,
    "assist": section_assist,
    "card": section_card,
}

"""Fixtures of the speech tests: a media server, the emulator, a test avatar, a test TTS engine."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import shutil
import subprocess
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.zego_digital_human.client import (
    PacingConfig,
    RateLimiter,
    RetryPolicy,
    StreamTask,
    StreamTaskSpec,
    StreamTaskStatus,
    ZegoClient,
)
from custom_components.zego_digital_human.const import DOMAIN, OverlapPolicy, SpeechEvent
from custom_components.zego_digital_human.speech import SpeechManager
from zego_emulator import EmulatorConfig, ZegoEmulator
from zego_emulator.config import LOBBY_ANNA_ID

from .audio import tone, wav
from .tts_engine import (
    ENGINE,
    EngineLog,
    speech_test_engines,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
    from pathlib import Path

    from homeassistant.core import HomeAssistant

MEDIA_RATE = 16000


@dataclass(frozen=True)
class MediaFiles:
    """Audio (and non-audio) files generated once per test session."""

    wav16: bytes
    wav16_pcm: bytes
    wav24: bytes
    wav24_pcm: bytes
    mp3: bytes
    mp3_reference_pcm: bytes
    png: bytes


def _ffmpeg(*args: str, stdin: bytes | None = None) -> bytes:
    """Run the real ffmpeg synchronously (session setup only, never on the loop)."""
    result = subprocess.run(  # noqa: S603 - fixed arguments, test setup
        [shutil.which("ffmpeg") or "ffmpeg", "-hide_banner", "-loglevel", "error", *args],
        input=stdin,
        capture_output=True,
        check=True,
    )
    return result.stdout


@pytest.fixture(scope="session")
def media_files() -> MediaFiles:
    """WAV at both rates, an MP3 encoded by ffmpeg now, and a PNG."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg")
    wav16_pcm = tone(0.4, 16000, freq=523)
    wav24_pcm = tone(0.4, 24000, freq=659)
    mp3_pcm = tone(0.5, MEDIA_RATE, freq=392)
    mp3 = _ffmpeg(
        *("-f", "s16le", "-ar", str(MEDIA_RATE), "-ac", "1", "-i", "pipe:0"),
        *("-f", "mp3", "-b:a", "64k", "pipe:1"),
        stdin=mp3_pcm,
    )
    png = _ffmpeg(
        *("-f", "lavfi", "-i", "color=c=red:s=16x16"),
        *("-frames:v", "1", "-f", "image2", "-c:v", "png", "pipe:1"),
    )
    return MediaFiles(
        wav16=wav(wav16_pcm, 16000, list_chunk=True),
        wav16_pcm=wav16_pcm,
        wav24=wav(wav24_pcm, 24000),
        wav24_pcm=wav24_pcm,
        mp3=mp3,
        mp3_reference_pcm=mp3_pcm,
        png=png,
    )


@dataclass
class MediaServer:
    """An HTTP server on 127.0.0.1 serving the media files (and a few bad ones)."""

    server: TestServer
    files: MediaFiles
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    @property
    def mp3(self) -> bytes:
        return self.files.mp3

    @property
    def mp3_reference_pcm(self) -> bytes:
        return self.files.mp3_reference_pcm


@pytest.fixture
async def media_server(
    socket_enabled: None, media_files: MediaFiles, tmp_path: Path
) -> AsyncIterator[MediaServer]:
    """Serve /tone16.wav /tone24.wav /tone.mp3 /notes.txt /picture.png /empty.wav,
    403 at /forbidden.mp3, 404 elsewhere, and /stall.mp3 that never finishes."""
    release = asyncio.Event()
    static: dict[str, tuple[bytes, str]] = {
        "/tone16.wav": (media_files.wav16, "audio/wav"),
        "/tone24.wav": (media_files.wav24, "audio/wav"),
        "/tone.mp3": (media_files.mp3, "audio/mpeg"),
        "/notes.txt": (b"this is not audio\n" * 20, "text/plain"),
        "/picture.png": (media_files.png, "image/png"),
        "/empty.wav": (wav(b"", 16000), "audio/wav"),
    }
    holder: list[MediaServer] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        holder[0].requests.append(request.path)
        if request.path in static:
            body, content_type = static[request.path]
            return web.Response(body=body, content_type=content_type)
        if request.path == "/forbidden.mp3":
            return web.Response(status=403)
        if request.path == "/stall.mp3":
            response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
            await response.prepare(request)
            await response.write(media_files.mp3[:100])
            await release.wait()
            return response
        return web.Response(status=404)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    holder.append(MediaServer(server=server, files=media_files))
    try:
        yield holder[0]
    finally:
        release.set()
        await server.close()


async def wait_until(predicate: Callable[[], bool], limit: float = 10.0) -> None:
    """Poll state that another party updates (bounded; never a timing assertion)."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - the emulator and HA own this state
            await asyncio.sleep(0.01)


# --- the emulator and a test avatar --------------------------------------------------------


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """Fast simulated service times; WebSocket playback is always real time.

    Plain ws:// by default: an interrupt may cancel a drive in the middle of its TLS
    handshake, which asyncio's TLS server (the emulator) logs as an error, and the HA
    harness fails any test whose loop logged one. TLS itself is covered by the tests
    that request ``tls_emulator_config`` and by the client's own tests.
    """
    return EmulatorConfig(port=0, time_scale=0.01, ws_tls=True)


TLS_EMULATOR = EmulatorConfig(port=0, time_scale=0.01, ws_tls=True)


@pytest.fixture
async def emulator(
    socket_enabled: None, emulator_config: EmulatorConfig
) -> AsyncIterator[ZegoEmulator]:
    """A strict emulator on loopback."""
    async with ZegoEmulator(emulator_config) as emu:
        yield emu


@pytest.fixture
async def zego_client(emulator: ZegoEmulator) -> AsyncIterator[ZegoClient]:
    """A real client pointed at the emulator (own session, closed before the emulator)."""
    async with aiohttp.ClientSession() as session:
        yield ZegoClient(
            app_id=emulator.config.app_id,
            server_secret=emulator.config.server_secret,
            session=session,
            endpoint=emulator.endpoint,
            request_timeout=5.0,
            retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05),
            rate_limiter=RateLimiter(),
        )


@dataclass(frozen=True, kw_only=True)
class AvatarSettings:
    """The speech settings a SpeechTarget exposes (like data.AvatarConfig)."""

    name: str = "Lobby"
    sample_rate: int = 16000
    tts_engine: str | None = ENGINE
    language: str | None = None
    voice_options: Mapping[str, object] = field(default_factory=dict)
    overlap_policy: OverlapPolicy = OverlapPolicy.INTERRUPT


class TestAvatar:
    """A small, real SpeechTarget: the real client, a real task on the emulator.

    It records everything the speech path tells it.
    """

    __test__ = False  # not a test class

    def __init__(self, client: ZegoClient, config: AvatarSettings) -> None:
        self.client = client
        self.config = config
        self.offline = False
        self.task: StreamTask | None = None
        self.ensure_calls = 0
        self.speaking = False
        self.speaking_log: list[bool] = []
        self.ttfa: list[float] = []
        self.errors: list[HomeAssistantError] = []
        self.events: list[tuple[SpeechEvent, dict[str, object]]] = []
        self.handlers: list[Callable[[], Awaitable[None] | None]] = []
        self._lock = asyncio.Lock()

    @property
    def stream_live(self) -> bool:
        return self.task is not None and not self.offline

    async def ensure_streaming(self) -> StreamTask:
        self.ensure_calls += 1
        async with self._lock:
            if self.offline:
                # What the core raises for an attached avatar whose task has ended.
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="attached_task_ended",
                    translation_placeholders={"avatar": self.config.name},
                )
            if self.task is None:
                task_id = await self.client.create_stream_task(
                    StreamTaskSpec(
                        digital_human_id=LOBBY_ANNA_ID, room_id="room_1", stream_id="stream_1"
                    )
                )
                async with asyncio.timeout(10):
                    while True:
                        task = await self.client.get_stream_task_status(task_id)
                        if task.status is StreamTaskStatus.STREAMING:
                            break
                        await asyncio.sleep(0.005)
                self.task = task
            return self.task

    def set_speaking(self, speaking: bool) -> None:
        self.speaking = speaking
        self.speaking_log.append(speaking)

    def record_ttfa(self, seconds: float) -> None:
        self.ttfa.append(seconds)

    def record_error(self, err: BaseException) -> None:
        assert isinstance(err, HomeAssistantError)
        self.errors.append(err)

    def fire_speech_event(self, event_type: SpeechEvent, data: Mapping[str, object]) -> None:
        self.events.append((SpeechEvent(event_type), dict(data)))

    def register_interrupt_handler(
        self, handler: Callable[[], Awaitable[None] | None]
    ) -> Callable[[], None]:
        self.handlers.append(handler)
        return lambda: self.handlers.remove(handler)

    async def async_interrupt(self) -> None:
        """Like AvatarCoordinator.async_interrupt: the speech queue first, then ZEGO."""
        for handler in list(self.handlers):
            result = handler()
            if result is not None:
                await result
        if self.task is not None:
            await self.client.interrupt_drive_task(self.task.task_id)

    def events_of(self, event_type: SpeechEvent) -> list[dict[str, object]]:
        return [data for kind, data in self.events if kind is event_type]


@pytest.fixture
def avatar_settings() -> AvatarSettings:
    """A test overrides this to change the avatar's speech defaults."""
    return AvatarSettings()


@pytest.fixture
def avatar(zego_client: ZegoClient, avatar_settings: AvatarSettings) -> TestAvatar:
    """The test avatar."""
    return TestAvatar(zego_client, avatar_settings)


@pytest.fixture
async def engine_log(hass: HomeAssistant, tmp_path: Path) -> AsyncIterator[EngineLog]:
    """ffmpeg, tts and media_source set up, with the test TTS engines registered."""
    async with speech_test_engines(hass, str(tmp_path)) as log:
        yield log


# Short gaps keep the queue tests quick; the pacing is the production default.
TEST_QUEUE_GAP = 0.1


@pytest.fixture
async def speech(
    hass: HomeAssistant, engine_log: EngineLog, avatar: TestAvatar
) -> AsyncIterator[SpeechManager]:
    """The speech manager of the test avatar, shut down (sockets closed) after the test."""
    manager = SpeechManager(hass, avatar, pacing=PacingConfig(), queue_gap=TEST_QUEUE_GAP)
    try:
        yield manager
    finally:
        await manager.async_shutdown()
        # A request that failed early leaves HA's TTS conversion running in HA's own
        # background task; HA cancels it at teardown without killing its ffmpeg.
        await hass.async_block_till_done(wait_background_tasks=True)

"""The benchmark world: an in-process Home Assistant, the integration, a benchmark TTS engine.

HA is built with pytest-homeassistant-custom-component's async_test_home_assistant (it works
outside pytest: it is an async context manager over a real HomeAssistant with in-memory
registries). The emulator runs in the same process and loop unless a section asks for a
subprocess, so every `*_at` stamp is a loop.time() value comparable with ours.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
import itertools
import math
import struct
import tempfile
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

import aiohttp
from homeassistant import loader
from homeassistant.components import tts
from homeassistant.components.tts import TextToSpeechEntity
from homeassistant.components.tts.entity import TTSAudioRequest, TTSAudioResponse
from homeassistant.config_entries import ConfigEntry, ConfigEntryState, ConfigFlow
from homeassistant.helpers import frame
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    MockConfigEntry,
    MockModule,
    MockPlatform,
    async_test_home_assistant,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from custom_components.zego_digital_human.const import (
    CONF_APP_ID,
    CONF_BACKGROUND_COLOR,
    CONF_DIGITAL_HUMAN_ID,
    CONF_ENDPOINT,
    CONF_KEEP_ALIVE,
    CONF_LANGUAGE,
    CONF_MAX_IDLE_TIME,
    CONF_NAME,
    CONF_OVERLAP_POLICY,
    CONF_ROOM_ID,
    CONF_SAMPLE_RATE,
    CONF_SERVER_SECRET,
    CONF_STREAM_ID,
    CONF_STREAM_MODE,
    CONF_TTL,
    CONF_TTS_ENGINE,
    CONF_VOICE_OPTIONS,
    DOMAIN,
    SUBENTRY_TYPE_AVATAR,
)
from zego_emulator.config import LOBBY_ANNA_ID

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator, Iterator

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddEntitiesCallback

BENCH_DOMAIN = "zego_bench_tts"
ENGINE = "tts.zego_bench"
RATE = 16000
_IDS = itertools.count(1)


def tone_pcm(seconds: float, rate: int = RATE) -> bytes:
    """A 440 Hz s16le mono tone: audio content does not matter to pacing, only its length."""
    count = round(seconds * rate)
    period = [round(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(rate // 40)]
    one = struct.pack(f"<{len(period)}h", *period)
    data = one * (count // len(period) + 1)
    return data[: count * 2]


def wav_header(data_bytes: int, rate: int = RATE) -> bytes:
    """A canonical 44-byte PCM WAV header."""
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


@dataclass
class EngineLog:
    """When the engine emitted its first byte for each message (loop.time())."""

    first_byte_at: dict[str, float] = field(default_factory=dict)


class BenchTTS(TextToSpeechEntity):
    """Streams a tone of `seconds` after `latency_ms`, in 0.5 s chunks, as fast as asked.

    The audio is generated lazily, chunk by chunk, so a 10-minute utterance never exists
    in one piece inside the engine (the memory section measures the speech path, not us).
    """

    _attr_has_entity_name = False
    _attr_name = "zego_bench"
    _attr_unique_id = "zego_bench"
    _attr_supported_languages = ["en-US"]  # noqa: RUF012
    _attr_default_language = "en-US"
    _attr_supported_options = [  # noqa: RUF012
        "seconds",
        "latency_ms",
        tts.ATTR_PREFERRED_FORMAT,
        tts.ATTR_PREFERRED_SAMPLE_RATE,
        tts.ATTR_PREFERRED_SAMPLE_CHANNELS,
        tts.ATTR_PREFERRED_SAMPLE_BYTES,
    ]

    def __init__(self, log: EngineLog) -> None:
        """Log first bytes into log."""
        self._log = log

    async def async_stream_tts_audio(self, request: TTSAudioRequest) -> TTSAudioResponse:
        """Answer with a streamed WAV of the requested length and latency."""
        message = "".join([part async for part in request.message_gen])
        seconds = float(request.options.get("seconds", 1.0))
        latency = float(request.options.get("latency_ms", 0)) / 1000
        rate = int(request.options.get(tts.ATTR_PREFERRED_SAMPLE_RATE) or RATE)
        return TTSAudioResponse("wav", self._generate(message, seconds, latency, rate))

    async def _generate(
        self, message: str, seconds: float, latency: float, rate: int
    ) -> AsyncGenerator[bytes]:
        if latency > 0:
            await asyncio.sleep(latency)
        total = round(seconds * rate) * 2
        chunk = tone_pcm(0.5, rate)
        self._log.first_byte_at.setdefault(message, asyncio.get_running_loop().time())
        yield wav_header(total, rate)
        sent = 0
        while sent < total:
            part = chunk[: total - sent]
            sent += len(part)
            yield part
            await asyncio.sleep(0)  # chunks really arrive apart, as from a streaming engine


class _BenchFlow(ConfigFlow):
    VERSION = 1


def unique_message(label: str) -> str:
    """A message HA's TTS cache has never seen: every run synthesizes afresh."""
    return f"bench {label} {next(_IDS)}"


def managed_avatar(index: int) -> dict[str, Any]:
    """Subentry of a managed avatar number index (entity ids media_player.bench_<index>)."""
    data: dict[str, Any] = {
        CONF_NAME: f"Bench {index}",
        CONF_DIGITAL_HUMAN_ID: LOBBY_ANNA_ID,
        CONF_STREAM_MODE: "managed",
        CONF_ROOM_ID: f"bench_room_{index}",
        CONF_STREAM_ID: f"bench_stream_{index}",
        CONF_TTL: 86400,
        CONF_MAX_IDLE_TIME: 86400,
        CONF_BACKGROUND_COLOR: "#000000",
        CONF_KEEP_ALIVE: False,
        CONF_TTS_ENGINE: ENGINE,
        CONF_LANGUAGE: None,
        CONF_VOICE_OPTIONS: {},
        CONF_SAMPLE_RATE: RATE,
        CONF_OVERLAP_POLICY: "queue",
    }
    return {
        "data": data,
        "subentry_id": f"01JBENCHAVATAR{index:012d}",
        "subentry_type": SUBENTRY_TYPE_AVATAR,
        "title": data[CONF_NAME],
        "unique_id": None,
    }


def player(index: int) -> str:
    """The media player entity of avatar index."""
    return f"media_player.bench_{index}"


@asynccontextmanager
async def bench_hass(
    *, app_id: int, server_secret: str, endpoint: str, avatars: int
) -> AsyncIterator[tuple[HomeAssistant, EngineLog]]:
    """HA with tts, the benchmark engine and the integration with `avatars` managed avatars."""
    log = EngineLog()
    with tempfile.TemporaryDirectory(prefix="zego-bench-") as config_dir, _no_mdns_resolver():
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            # Reports of HA's frame helper need it bound to this instance (a second HA in
            # the same process finds it reset by the first one's teardown).
            frame.async_setup(hass)
            # The test harness blocks custom integrations unless a fixture lifts it.
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
            await _setup_engine(hass, log)
            entry = MockConfigEntry(
                domain=DOMAIN,
                title=f"ZEGO {app_id}",
                unique_id=str(app_id),
                data={
                    CONF_APP_ID: app_id,
                    CONF_SERVER_SECRET: server_secret,
                    CONF_ENDPOINT: endpoint,
                },
                subentries_data=[managed_avatar(i) for i in range(1, avatars + 1)],
            )
            entry.add_to_hass(hass)
            if not await hass.config_entries.async_setup(entry.entry_id):
                raise RuntimeError("the integration did not set up against the emulator")
            await hass.async_block_till_done()
            try:
                yield hass, log
            finally:
                if entry.state is ConfigEntryState.LOADED:
                    await hass.config_entries.async_unload(entry.entry_id)
                    await hass.async_block_till_done()


@contextmanager
def _no_mdns_resolver() -> Iterator[None]:
    """Plain DNS for HA's shared session: a real zeroconf instance is not under test."""
    target = "homeassistant.helpers.aiohttp_client._async_make_resolver"
    with patch(target, side_effect=lambda hass: aiohttp.ThreadedResolver()):
        yield


async def _setup_engine(hass: HomeAssistant, log: EngineLog) -> None:
    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, ["tts"])
        return True

    async def unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        return await hass.config_entries.async_unload_platforms(entry, ["tts"])

    async def tts_setup_entry(
        hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddEntitiesCallback
    ) -> None:
        async_add_entities([BenchTTS(log)])

    # A custom integration, like the TTS engines users add: HA 2025.4 wants a bool from
    # async_setup_entry, HA 2026.11 fails built-in integrations that return one (custom ones
    # still may).
    mock_integration(
        hass,
        MockModule(BENCH_DOMAIN, async_setup_entry=setup_entry, async_unload_entry=unload_entry),
        built_in=False,
    )
    mock_platform(hass, f"{BENCH_DOMAIN}.tts", MockPlatform(async_setup_entry=tts_setup_entry))
    mock_platform(hass, f"{BENCH_DOMAIN}.config_flow", None)
    # "homeassistant" is always loaded in a real HA; conversation (our dependency) needs it.
    for domain in ("homeassistant", "ffmpeg", "tts", "media_source"):
        if not await async_setup_component(hass, domain, {}):
            raise RuntimeError(f"HA component {domain} did not set up")
    with mock_config_flow(BENCH_DOMAIN, _BenchFlow):
        engine_entry = MockConfigEntry(domain=BENCH_DOMAIN)
        engine_entry.add_to_hass(hass)
        if not await hass.config_entries.async_setup(engine_entry.entry_id):
            raise RuntimeError("the benchmark TTS engine did not set up")
        await hass.async_block_till_done()
    if hass.states.get(ENGINE) is None:
        raise RuntimeError(f"{ENGINE} is missing")

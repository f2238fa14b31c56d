"""A TTS engine registered through HA's real machinery (mock_integration + mock_platform).

It speaks a tone whose pitch encodes the message (audio.message_pcm), in the shape the
"variant" option asks for. The integration asks for WAV only, so HA hands WAV over as
the engine made it; the MP3 engine's output is converted to WAV by HA's own ffmpeg
(2025.4: buffered, one chunk with a LIST chunk; 2026.x: streamed, many chunks,
0xFFFFFFFF sizes), so the speech path sees HA's real output.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
import shutil
import struct
from typing import TYPE_CHECKING, Any

from homeassistant.components import tts
from homeassistant.components.tts import TextToSpeechEntity
from homeassistant.components.tts.entity import TTSAudioRequest, TTSAudioResponse
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from .audio import chunk, fmt_chunk, message_pcm, split, wav

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddEntitiesCallback

TEST_DOMAIN = "speech_test"
ENGINE = "tts.speech_test"
MP3_ENGINE = "tts.speech_test_mp3"
MAX_MESSAGE = 120
VARIANTS = (
    "canonical",
    "list",
    "stream",
    "slow",
    "native22k",
    "float_stereo",
    "adpcm",
    "stall",
    "stall22k",
    "corrupt",
    "empty",
)
IEEE_FLOAT = 3


@dataclass
class EngineLog:
    """What the engines did, for assertions (loop.time() stamps)."""

    messages: list[str] = field(default_factory=list)
    first_byte_at: dict[str, float] = field(default_factory=dict)
    slow_first_byte: float = 0.3
    seconds: float = 0.3


class SpeechTestTTS(TextToSpeechEntity):
    """Emits WAV in several shapes; honours a preferred sample rate, as some engines do."""

    _attr_has_entity_name = False
    _attr_supported_languages = ["en-US", "de-DE"]  # noqa: RUF012
    _attr_default_language = "en-US"
    _attr_supported_options = [  # noqa: RUF012
        "voice",
        "variant",
        tts.ATTR_PREFERRED_FORMAT,
        tts.ATTR_PREFERRED_SAMPLE_RATE,
        tts.ATTR_PREFERRED_SAMPLE_CHANNELS,
        tts.ATTR_PREFERRED_SAMPLE_BYTES,
    ]

    def __init__(self, log: EngineLog, name: str = "speech_test") -> None:
        """Log into log."""
        self._log = log
        self._attr_name = name
        self._attr_unique_id = name

    async def async_stream_tts_audio(self, request: TTSAudioRequest) -> TTSAudioResponse:
        """Speak the message's tone in the requested variant."""
        message = "".join([part async for part in request.message_gen])
        self._log.messages.append(message)
        if len(message) > MAX_MESSAGE:
            raise HomeAssistantError(f"Message too long ({len(message)} > {MAX_MESSAGE} chars)")
        rate = int(request.options.get(tts.ATTR_PREFERRED_SAMPLE_RATE) or 16000)
        variant = str(request.options.get("variant", "canonical"))
        return TTSAudioResponse("wav", self._generate(message, rate, variant))

    async def _generate(self, message: str, rate: int, variant: str) -> AsyncGenerator[bytes]:
        loop = asyncio.get_running_loop()
        parts = variant_parts(message, rate, variant, self._log.seconds)
        if variant == "slow":
            await asyncio.sleep(self._log.slow_first_byte)
        self._log.first_byte_at.setdefault(message, loop.time())
        for index, part in enumerate(parts):
            yield part
            if variant.startswith("stall"):
                # Far longer than the idle timeout the test sets; finite, so that HA's
                # own loader task still ends before the test tears HA down.
                await asyncio.sleep(2.0)
                return
            if variant in ("stream", "slow", "float_stereo") and index % 8 == 0:
                await asyncio.sleep(0)  # hand the loop over: chunks really arrive apart


def variant_parts(message: str, rate: int, variant: str, seconds: float) -> list[bytes]:  # noqa: PLR0911 - one return per variant
    """The chunks the engine yields for message in variant."""
    pcm = message_pcm(message, rate, seconds)
    if variant == "list":
        return [wav(pcm, rate, list_chunk=True)]
    if variant in ("stream", "slow"):
        return split(wav(pcm, rate, list_chunk=True, unknown_sizes=True), (7, 5, 300, 1, 256))
    if variant == "native22k":
        return [wav(message_pcm(message, 22050, seconds), 22050)]
    if variant == "float_stereo":
        # 32-bit float, two channels, 24 kHz, streamed in small pieces.
        mono = message_pcm(message, 24000, seconds)
        samples = struct.unpack(f"<{len(mono) // 2}h", mono)
        frames = [value / 32768 for sample in samples for value in (sample, sample)]
        floats = struct.pack(f"<{len(frames)}f", *frames)
        fmt = fmt_chunk(24000, channels=2, bits=32, tag=IEEE_FLOAT)
        return split(wav(floats, 24000, fmt=fmt, unknown_sizes=True), (7, 5, 300, 1, 256))
    if variant in ("stall", "stall22k"):
        # A tenth of a second of audio, then the engine goes quiet.
        stall_rate = 22050 if variant == "stall22k" else rate
        return [wav(message_pcm(message, stall_rate, 0.1), stall_rate, unknown_sizes=True)]
    if variant == "adpcm":
        # IMA ADPCM: a real WAV codec, but not one the avatar path can resample.
        ima = chunk(b"fmt ", struct.pack("<HHIIHH", 0x0011, 1, 22050, 11100, 256, 4))
        return [wav(b"\0" * 2048, 22050, fmt=ima)]
    if variant == "corrupt":
        return [b"RIFF\xff\xff\xff\xffWAVEfmt \x10\0\0\0garbage-not-a-format" * 4]
    if variant == "empty":
        return [wav(b"", rate)]
    return [wav(pcm, rate)]


class SpeechTestMp3TTS(TextToSpeechEntity):
    """Emits MP3 like cloud engines; HA transcodes (no preferred options claimed)."""

    _attr_has_entity_name = False
    _attr_supported_languages = ["en-US"]  # noqa: RUF012
    _attr_default_language = "en-US"

    def __init__(self, log: EngineLog) -> None:
        """Log into log."""
        self._log = log
        self._attr_name = "speech_test_mp3"
        self._attr_unique_id = "speech_test_mp3"

    async def async_get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> tts.TtsAudioType:
        """Encode the message's tone as MP3 with ffmpeg."""
        self._log.messages.append(message)
        pcm = message_pcm(message, 16000, self._log.seconds)
        process = await asyncio.create_subprocess_exec(
            shutil.which("ffmpeg") or "ffmpeg",
            *("-hide_banner", "-loglevel", "error", "-f", "s16le", "-ar", "16000"),
            *("-ac", "1", "-i", "pipe:0", "-f", "mp3", "pipe:1"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        mp3, _ = await process.communicate(pcm)
        return "mp3", mp3


class SpeechTestFlow(ConfigFlow):
    """The config flow HA insists the test integration has."""

    VERSION = 1


def register_test_engines(hass: HomeAssistant, log: EngineLog) -> None:
    """Register the test integration and its tts platform (use with mock_config_flow)."""

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, ["tts"])
        return True

    async def unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        return await hass.config_entries.async_unload_platforms(entry, ["tts"])

    async def tts_setup_entry(
        hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddEntitiesCallback
    ) -> None:
        async_add_entities([SpeechTestTTS(log), SpeechTestMp3TTS(log)])

    # A custom integration, like the TTS engines users add: HA 2025.4 wants a bool from
    # async_setup_entry, HA 2026.11 fails built-in integrations that return one (custom ones
    # still may).
    mock_integration(
        hass,
        MockModule(TEST_DOMAIN, async_setup_entry=setup_entry, async_unload_entry=unload_entry),
        built_in=False,
    )
    mock_platform(hass, f"{TEST_DOMAIN}.tts", MockPlatform(async_setup_entry=tts_setup_entry))
    mock_platform(hass, f"{TEST_DOMAIN}.config_flow", None)


async def async_setup_test_engines(hass: HomeAssistant, config_dir: str) -> None:
    """Set up ffmpeg, tts, media_source and the test engines (inside mock_config_flow)."""
    # The TTS file cache lives in the config dir: keep it out of phcc's testing_config.
    hass.config.config_dir = config_dir
    assert await async_setup_component(hass, "ffmpeg", {})
    assert await async_setup_component(hass, "tts", {})
    assert await async_setup_component(hass, "media_source", {})
    entry = MockConfigEntry(domain=TEST_DOMAIN)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(ENGINE) is not None
    assert hass.states.get(MP3_ENGINE) is not None


@asynccontextmanager
async def speech_test_engines(
    hass: HomeAssistant, config_dir: str, log: EngineLog | None = None
) -> AsyncIterator[EngineLog]:
    """Register and set up the test engines; yields the log their speech goes into.

    Use it before the integration loads (its manifest pulls in tts, which must find the
    config dir already pointed away from phcc's testing_config).
    """
    log = log if log is not None else EngineLog()
    register_test_engines(hass, log)
    with mock_config_flow(TEST_DOMAIN, SpeechTestFlow):
        await async_setup_test_engines(hass, config_dir)
        yield log

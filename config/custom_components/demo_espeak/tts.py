"""espeak-ng wrapped as a legacy HA TTS provider that returns WAV."""

from __future__ import annotations

import asyncio
import shutil
from typing import TYPE_CHECKING, Any

from homeassistant.components.tts import Provider, TtsAudioType
from homeassistant.exceptions import HomeAssistantError

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType

# HA language tag -> espeak-ng voice. A small set: the demo only needs a few.
VOICES: dict[str, str] = {
    "en-US": "en-us",
    "en-GB": "en-gb",
    "de-DE": "de",
    "fr-FR": "fr-fr",
    "es-ES": "es",
    "zh-CN": "cmn",
}
DEFAULT_LANGUAGE = "en-US"
# A stuck synthesizer must not hold a speech request forever.
SYNTH_TIMEOUT = 30.0


async def async_get_engine(
    hass: HomeAssistant, config: ConfigType, discovery_info: DiscoveryInfoType | None = None
) -> Provider:
    """Return the provider; espeak-ng's absence shows up on the first request, not here."""
    return EspeakProvider()


class EspeakProvider(Provider):
    """Runs espeak-ng once per message and hands its WAV to HA."""

    def __init__(self) -> None:
        """Name the engine."""
        self.name = "Demo espeak-ng"

    @property
    def default_language(self) -> str:
        """English unless asked otherwise."""
        return DEFAULT_LANGUAGE

    @property
    def supported_languages(self) -> list[str]:
        """The languages mapped to espeak-ng voices."""
        return list(VOICES)

    @property
    def supported_options(self) -> list[str]:
        """Words per minute."""
        return ["speed"]

    async def async_get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> TtsAudioType:
        """Synthesize message; espeak-ng writes a 22.05 kHz mono WAV to stdout."""
        binary = shutil.which("espeak-ng")
        if binary is None:
            raise HomeAssistantError("espeak-ng is not installed (apt-get install espeak-ng)")
        args = [binary, "--stdout", "-v", VOICES.get(language, "en-us")]
        if (speed := options.get("speed")) is not None:
            args += ["-s", str(int(speed))]
        # The message goes through stdin, so text starting with "-" is never read as a flag.
        process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(SYNTH_TIMEOUT):
                stdout, stderr = await process.communicate(message.encode())
        except TimeoutError as err:
            process.kill()
            await process.wait()
            raise HomeAssistantError("espeak-ng timed out") from err
        if process.returncode != 0 or not stdout.startswith(b"RIFF"):
            detail = stderr.decode(errors="replace").strip()[:200]
            raise HomeAssistantError(f"espeak-ng failed ({process.returncode}): {detail}")
        return "wav", fix_wav_sizes(stdout)


def fix_wav_sizes(data: bytes) -> bytes:
    """Write the real RIFF and data sizes: espeak-ng streams with placeholder sizes."""
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        if chunk_id == b"data":
            size = len(data) - offset - 8
            head = bytearray(data[: offset + 8])
            head[4:8] = (len(data) - 8).to_bytes(4, "little")
            head[offset + 4 : offset + 8] = size.to_bytes(4, "little")
            return bytes(head) + data[offset + 8 :]
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        offset += 8 + size + (size & 1)
    raise HomeAssistantError("espeak-ng output has no data chunk")

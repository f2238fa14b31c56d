"""The two helper integrations the soak installs into HA's temporary config directory.

`soak_tts` speaks a tone whose length the message names ("soak 1.5" -> 1.5 s): content does
not matter to a drive, only its length. `soak_probe` answers one websocket command with what
only the HA process can count (its asyncio tasks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

_MANIFEST = """{{
  "domain": "{domain}",
  "name": "{name}",
  "codeowners": [],
  "dependencies": {deps},
  "documentation": "https://github.com/",
  "iot_class": "local_push",
  "requirements": [],
  "version": "0.1.0"
}}
"""

_TTS_INIT = '''"""Soak harness TTS: a tone of the length the message names."""
'''

_TTS_PLATFORM = '''"""A legacy TTS provider returning a 16 kHz mono WAV tone."""

from __future__ import annotations

import io
import math
import struct
from typing import Any
import wave

from homeassistant.components.tts import Provider, TtsAudioType

RATE = 16000


async def async_get_engine(hass, config, discovery_info=None):  # noqa: ANN001, ANN201
    """Return the provider."""
    return ToneProvider()


def tone_wav(seconds: float) -> bytes:
    """A 440 Hz tone as WAV bytes."""
    count = max(1, round(seconds * RATE))
    period = [round(6000 * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(RATE // 40)]
    one = struct.pack(f"<{len(period)}h", *period)
    pcm = (one * (count // len(period) + 1))[: count * 2]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm)
    return buffer.getvalue()


class ToneProvider(Provider):
    """Speaks every message as a tone."""

    def __init__(self) -> None:
        """Name the engine."""
        self.name = "Soak tone"

    @property
    def default_language(self) -> str:
        """English."""
        return "en-US"

    @property
    def supported_languages(self) -> list[str]:
        """One language."""
        return ["en-US"]

    async def async_get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> TtsAudioType:
        """The last word of the message is the length in seconds."""
        try:
            seconds = float(message.split()[-1])
        except (IndexError, ValueError):
            seconds = 0.6
        return "wav", tone_wav(min(max(seconds, 0.1), 60.0))
'''

_PROBE_INIT = '''"""Soak harness probe: counts only the HA process can give."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import voluptuous as vol

from homeassistant.components import websocket_api
from homeassistant.core import HomeAssistant, callback

DOMAIN = "soak_probe"


async def async_setup(hass: HomeAssistant, config: dict[str, Any]) -> bool:
    """Register the websocket command."""
    websocket_api.async_register_command(hass, _stats)
    return True


@websocket_api.websocket_command({vol.Required("type"): "soak_probe/stats"})
@callback
def _stats(hass: HomeAssistant, connection: Any, msg: dict[str, Any]) -> None:
    tasks = asyncio.all_tasks()
    names: dict[str, int] = {}
    for task in tasks:
        name = task.get_name().split(" ")[0] if "zego" in task.get_name() else "other"
        names[name] = names.get(name, 0) + 1
    connection.send_result(
        msg["id"], {"tasks": len(tasks), "zego_tasks": names, "gc_objects": len(gc.get_objects())}
    )
'''


def install_helpers(config_dir: Path) -> None:
    """Write soak_tts and soak_probe into config_dir/custom_components."""
    for domain, name, files in (
        ("soak_tts", "Soak tone TTS", {"__init__.py": _TTS_INIT, "tts.py": _TTS_PLATFORM}),
        ("soak_probe", "Soak probe", {"__init__.py": _PROBE_INIT}),
    ):
        folder = config_dir / "custom_components" / domain
        folder.mkdir(parents=True, exist_ok=True)
        deps = '["websocket_api"]' if domain == "soak_probe" else '["tts"]'
        (folder / "manifest.json").write_text(_MANIFEST.format(domain=domain, name=name, deps=deps))
        for file_name, text in files.items():
            (folder / file_name).write_text(text)

"""Every translation key the speech path raises, with the English text it should have."""

# ruff: noqa: E501  (the messages read best one per line, as they will in en.json)

from __future__ import annotations

import ast
import json
from pathlib import Path
import string

import pytest

SPEECH = Path(__file__).parents[2] / "custom_components" / "zego_digital_human" / "speech"
# Every language shipped (translations/*.json) must carry the speech path's keys.
LANGUAGE_FILES = sorted((SPEECH.parent / "translations").glob("*.json"))

# What translations/en.json "exceptions" should hold for the speech path.
EXPECTED: dict[str, str] = {
    "clock_skew": "ZEGO rejected the request because Home Assistant's clock is off by about {skew} seconds. Correct the system time.",
    "clock_skew_unknown": "ZEGO rejected the request because Home Assistant's clock is more than 10 minutes off. Correct the system time.",
    "drive_connection_failed": "The connection to ZEGO broke while the avatar was speaking: {error}",
    "drive_failed": "ZEGO could not play the speech: {error}",
    "drive_rejected": "ZEGO refused to play the speech (code {code}): {message} (RequestId {request_id})",
    "empty_message": "The message is empty.",
    "ffmpeg_unavailable": "FFmpeg is not set up, so media cannot be converted for the avatar.",
    "invalid_overlap_policy": 'Unknown overlap policy "{policy}"; use "interrupt" or "queue".',
    "invalid_wav": "The audio from {source} is not a valid WAV stream: {error}",
    "media_conversion_failed": "FFmpeg could not convert {source}: {error}",
    "media_fetch_failed": "Could not fetch {source}: {error}",
    "media_not_audio": "{source} contains no audio the avatar can play.",
    "media_not_found": "{source} was not found: {error}",
    "media_timeout": "{source} stopped delivering audio.",
    "media_unresolvable": "The media {media_id} could not be resolved: {error}",
    "no_audio": "{source} produced no audio.",
    "speech_failed": "The speech request failed unexpectedly: {error}",
    "speech_unavailable": "Speech is not available: the avatar is being unloaded.",
    "tts_engine_not_found": "Text-to-speech engine {engine} was not found.",
    "tts_failed": "Text-to-speech engine {engine} could not speak the message: {error}",
    "tts_language_not_supported": 'Text-to-speech engine {engine} does not support the language "{language}".',
    "tts_no_engine": "No text-to-speech engine is set up. Choose one for the avatar or in the action.",
    "tts_options_not_supported": "Text-to-speech engine {engine} does not support the options: {options}.",
    "tts_request_invalid": "Text-to-speech engine {engine} rejected the request: {error}",
    "tts_timeout": "Text-to-speech engine {engine} stopped delivering audio.",
    "unsupported_media": '"{media_id}" is not a media source ID or an http(s) URL.',
    "unsupported_wav_format": "The audio from {source} has the wrong format: expected {expected}, got {found}.",
}  # fmt: skip


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """No hass needed (overrides the package-wide autouse fixture)."""


def keys_in_code() -> dict[str, set[str]]:
    """Translation key -> placeholders passed, for every speech_error/validation_error call."""
    found: dict[str, set[str]] = {}
    for path in SPEECH.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("speech_error", "validation_error")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names = {kw.arg for kw in node.keywords if kw.arg}
                found.setdefault(node.args[0].value, set()).update(names)
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_is_listed_with_its_placeholders() -> None:
    used = keys_in_code()
    assert set(used) == set(EXPECTED)
    for key, passed in used.items():
        assert placeholders(EXPECTED[key]) <= passed, key


def test_english_and_chinese_shipped() -> None:
    assert {"en", "zh-Hans"} <= {path.stem for path in LANGUAGE_FILES}


@pytest.mark.parametrize("path", LANGUAGE_FILES, ids=lambda path: path.stem)
def test_translations_have_the_speech_keys(path: Path) -> None:
    """Each language has a message per speech key, using only the placeholders the code passes."""
    exceptions = json.loads(path.read_text(encoding="utf-8"))["exceptions"]
    assert not sorted(set(EXPECTED) - set(exceptions)), f"speech keys missing from {path.name}"
    used = keys_in_code()
    for key, english in EXPECTED.items():
        message = exceptions[key]["message"]
        assert message.strip(), (path.name, key)
        assert placeholders(message) <= used[key], (path.name, key)
        # Every placeholder the English text shows is kept, so no detail is lost in translation.
        assert placeholders(message) == placeholders(english), (path.name, key)

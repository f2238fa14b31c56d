"""Translated Home Assistant errors of the speech path.

Every error the speech path raises is a HomeAssistantError (a ServiceValidationError
when the caller's input is at fault) with ``translation_domain=DOMAIN``, a key under
``exceptions`` in translations/en.json and string placeholders. Texts placed in
placeholders are secret-free: ZEGO errors never carry signatures or drive tokens
(the client redacts them) and media URLs lose their query (``authSig``).
"""

from __future__ import annotations

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from custom_components.zego_digital_human.client import (
    ZegoClockSkewError,
    ZegoConnectionError,
    ZegoDriveConnectionError,
    ZegoError,
    ZegoResponseError,
)
from custom_components.zego_digital_human.const import DOMAIN

from .ffmpeg import FfmpegError, FfmpegErrorKind, redact_source
from .wav import WavError, WavErrorReason, WavFormatError

__all__ = [
    "ffmpeg_error",
    "speech_error",
    "validation_error",
    "wav_error",
    "zego_drive_error",
]

# Placeholders end up in the UI and in sensor states; keep each one short.
_MAX_PLACEHOLDER = 200


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_PLACEHOLDER else f"{text[: _MAX_PLACEHOLDER - 1]}…"


def speech_error(key: str, **placeholders: str) -> HomeAssistantError:
    """Return a translated HomeAssistantError (something failed on the way)."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={k: _clip(v) for k, v in placeholders.items()} or None,
    )


def validation_error(key: str, **placeholders: str) -> ServiceValidationError:
    """Return a translated ServiceValidationError (the caller's input is at fault)."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={k: _clip(v) for k, v in placeholders.items()} or None,
    )


def describe_source(source: str) -> str:
    """Return a media id or URL fit for an error message (query stripped)."""
    return _clip(redact_source(source))


def wav_error(err: WavError, source: str) -> HomeAssistantError:
    """Map a WAV parsing failure of source (a TTS engine or a WAV stream)."""
    if isinstance(err, WavFormatError):
        return speech_error(
            "unsupported_wav_format",
            source=source,
            expected=f"16-bit mono PCM at {err.expected_rate} Hz",
            found=err.found.describe(),
        )
    if err.reason is WavErrorReason.TRUNCATED:
        return speech_error("no_audio", source=source)
    return speech_error("invalid_wav", source=source, error=err.detail)


def ffmpeg_error(err: FfmpegError, source: str) -> HomeAssistantError:
    """Map an ffmpeg failure for source (already redacted) to its translated error."""
    kind = err.kind
    if kind is FfmpegErrorKind.NOT_FOUND:
        return validation_error("media_not_found", source=source, error=err.detail)
    if kind is FfmpegErrorKind.FETCH_FAILED:
        return speech_error("media_fetch_failed", source=source, error=err.detail)
    if kind is FfmpegErrorKind.NOT_AUDIO:
        return validation_error("media_not_audio", source=source)
    if kind is FfmpegErrorKind.NO_AUDIO:
        return speech_error("no_audio", source=source)
    if kind is FfmpegErrorKind.TIMEOUT:
        return speech_error("media_timeout", source=source)
    return speech_error("media_conversion_failed", source=source, error=err.detail)


def zego_drive_error(err: ZegoError) -> HomeAssistantError:
    """Map a ZEGO failure during a drive; ZEGO's message and RequestId stay visible.

    str(err) names the action, ZEGO's code and message and the RequestId and never a
    secret (the client guarantees it).
    """
    text = str(err) or type(err).__name__
    if isinstance(err, ZegoClockSkewError):
        # The fix is the host's clock (as for every other request), not ZEGO's drive.
        if err.skew_seconds is None:
            return speech_error("clock_skew_unknown")
        return speech_error("clock_skew", skew=str(round(abs(err.skew_seconds))))
    if isinstance(err, ZegoResponseError):
        return speech_error(
            "drive_rejected",
            code=str(err.code) if err.code is not None else "?",
            message=err.zego_message or err.description,
            request_id=err.request_id or "-",
        )
    if isinstance(err, ZegoDriveConnectionError | ZegoConnectionError):
        return speech_error("drive_connection_failed", error=text)
    return speech_error("drive_failed", error=text)

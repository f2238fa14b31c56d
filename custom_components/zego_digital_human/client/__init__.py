"""HA-free async client of the ZEGO Digital Human server API (REST + WebSocket drive).

Only aiohttp, `cryptography` (Token04) and the standard library are used here; nothing
imports homeassistant.
"""

from __future__ import annotations

from .const import (
    DEFAULT_ENDPOINT,
    SUPPORTED_SAMPLE_RATES,
    DriveStatus,
    FetchMode,
    StreamTaskStatus,
    ZegoAction,
)
from .drive import DriveReport, PacingConfig, PcmReframer, WsDriveSession
from .emulator import EmulatorPreview
from .errors import (
    ZegoAuthenticationError,
    ZegoClockSkewError,
    ZegoConnectionError,
    ZegoDigitalHumanNotFoundError,
    ZegoDriveConnectionError,
    ZegoDriveError,
    ZegoError,
    ZegoInvalidParameterError,
    ZegoNotFoundError,
    ZegoPermissionError,
    ZegoQuotaError,
    ZegoRateLimitedError,
    ZegoResponseError,
    ZegoServerError,
    ZegoStreamIdConflictError,
    ZegoStreamNotReadyError,
    ZegoTaskEndedError,
    ZegoTaskNotFoundError,
    ZegoTimbreNotFoundError,
    ZegoTimbreUnsupportedError,
    ZegoTimeoutError,
    error_from_code,
)
from .models import (
    DigitalHuman,
    DigitalHumanAction,
    DigitalHumanPage,
    StreamTask,
    StreamTaskSpec,
    Timbre,
    TimbrePage,
    WsDriveTicket,
    ZegoEnvelope,
)
from .ratelimit import RateLimiter, shared_rate_limiter
from .rest import RetryPolicy, ZegoClient
from .signing import compute_signature, signed_params
from .token04 import DEFAULT_TOKEN_TTL, TokenVariant, generate_token04, view_only_payload

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_TOKEN_TTL",
    "SUPPORTED_SAMPLE_RATES",
    "DigitalHuman",
    "DigitalHumanAction",
    "DigitalHumanPage",
    "DriveReport",
    "DriveStatus",
    "EmulatorPreview",
    "FetchMode",
    "PacingConfig",
    "PcmReframer",
    "RateLimiter",
    "RetryPolicy",
    "StreamTask",
    "StreamTaskSpec",
    "StreamTaskStatus",
    "Timbre",
    "TimbrePage",
    "TokenVariant",
    "WsDriveSession",
    "WsDriveTicket",
    "ZegoAction",
    "ZegoAuthenticationError",
    "ZegoClient",
    "ZegoClockSkewError",
    "ZegoConnectionError",
    "ZegoDigitalHumanNotFoundError",
    "ZegoDriveConnectionError",
    "ZegoDriveError",
    "ZegoEnvelope",
    "ZegoError",
    "ZegoInvalidParameterError",
    "ZegoNotFoundError",
    "ZegoPermissionError",
    "ZegoQuotaError",
    "ZegoRateLimitedError",
    "ZegoResponseError",
    "ZegoServerError",
    "ZegoStreamIdConflictError",
    "ZegoStreamNotReadyError",
    "ZegoTaskEndedError",
    "ZegoTaskNotFoundError",
    "ZegoTimbreNotFoundError",
    "ZegoTimbreUnsupportedError",
    "ZegoTimeoutError",
    "compute_signature",
    "error_from_code",
    "generate_token04",
    "shared_rate_limiter",
    "signed_params",
    "view_only_payload",
]

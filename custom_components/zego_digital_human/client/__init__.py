"""HA-free async client of the ZEGO Digital Human server API (REST + WebSocket drive).

Only aiohttp and the standard library are used here; nothing imports homeassistant.
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

__all__ = [
    "DEFAULT_ENDPOINT",
    "SUPPORTED_SAMPLE_RATES",
    "DigitalHuman",
    "DigitalHumanAction",
    "DigitalHumanPage",
    "DriveReport",
    "DriveStatus",
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
    "shared_rate_limiter",
    "signed_params",
]

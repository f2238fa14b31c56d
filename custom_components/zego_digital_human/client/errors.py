"""Exception tree of the ZEGO client and the mapping from ZEGO return codes.

Every error names the action, ZEGO's code and message and the RequestId, and never any
request URL: URLs carry the Signature (REST) or the drive Token (WebSocket).
"""

from __future__ import annotations

import re
from typing import ClassVar

import aiohttp

__all__ = [
    "ZegoAuthenticationError",
    "ZegoClockSkewError",
    "ZegoConnectionError",
    "ZegoDigitalHumanNotFoundError",
    "ZegoDriveConnectionError",
    "ZegoDriveError",
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
    "describe_client_error",
    "error_from_code",
    "redact",
]

# A URL's query (where the Signature and the drive Token live) and bare credential pairs.
_URL_QUERY = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#'\"<>]*)\?[^\s'\"<>]*")
_SECRET_PAIR = re.compile(r"(?i)\b(signature|token|serversecret|server_secret)=[^\s&'\"<>]+")


def redact(text: str) -> str:
    """Strip URL queries and `Signature=`/`Token=` pairs from text meant for humans."""
    text = _URL_QUERY.sub(r"\1?<redacted>", text)
    return _SECRET_PAIR.sub(r"\1=<redacted>", text)


class ZegoError(Exception):
    """Base of every error raised by the ZEGO client."""

    summary: ClassVar[str] = "ZEGO request failed"
    # Instances may override it (ZegoServerError depends on the code).
    retryable: bool = False

    def __init__(
        self,
        message: str | None = None,
        *,
        code: int | None = None,
        zego_message: str | None = None,
        request_id: str | None = None,
        action: str | None = None,
        http_status: int | None = None,
    ) -> None:
        """Store what ZEGO said; `message` replaces the class summary when given."""
        self.description = redact(message) if message else self.summary
        self.code = code
        self.zego_message = zego_message
        self.request_id = request_id
        self.action = action
        self.http_status = http_status
        super().__init__(self.description)

    def __str__(self) -> str:
        """Return one readable sentence naming the action, code, message and RequestId."""
        head = f"{self.action}: " if self.action else ""
        details: list[str] = []
        if self.code is not None:
            details.append(f"code {self.code}")
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        if self.zego_message:
            details.append(f"ZEGO says {redact(self.zego_message)!r}")
        if self.request_id:
            details.append(f"RequestId {self.request_id}")
        tail = f" ({', '.join(details)})" if details else ""
        return f"{head}{self.description}{tail}"

    def __repr__(self) -> str:
        """Return the class name and the readable sentence."""
        return f"{type(self).__name__}({str(self)!r})"


class ZegoConnectionError(ZegoError):
    """ZEGO could not be reached or the connection failed mid-request."""

    summary = "could not reach ZEGO"
    retryable = True


class ZegoTimeoutError(ZegoConnectionError):
    """A request to ZEGO ran out of time."""

    summary = "ZEGO did not answer in time"


class ZegoResponseError(ZegoError):
    """ZEGO answered with a non-zero Code or a non-2xx HTTP status."""

    summary = "ZEGO rejected the request"


class ZegoAuthenticationError(ZegoResponseError):
    """The AppId or ServerSecret is wrong (bad signature, unknown AppId)."""

    summary = "ZEGO rejected the credentials (check the AppId and ServerSecret)"


class ZegoClockSkewError(ZegoResponseError):
    """ZEGO found the request timestamp outside its ±10 minute window."""

    summary = "ZEGO rejected the request timestamp as expired (check the local clock)"

    def __init__(
        self,
        message: str | None = None,
        *,
        skew_seconds: float | None = None,
        code: int | None = None,
        zego_message: str | None = None,
        request_id: str | None = None,
        action: str | None = None,
        http_status: int | None = None,
    ) -> None:
        """Store the measured skew (server Date minus local clock), when known."""
        super().__init__(
            message,
            code=code,
            zego_message=zego_message,
            request_id=request_id,
            action=action,
            http_status=http_status,
        )
        self.skew_seconds: float | None = None
        self.set_skew(skew_seconds)

    def set_skew(self, skew_seconds: float | None) -> None:
        """Record the skew and say it in the message."""
        self.skew_seconds = skew_seconds
        if skew_seconds is None:
            return
        direction = "behind" if skew_seconds > 0 else "ahead of"
        self.description = (
            "ZEGO rejected the request timestamp as expired: the local clock is off by about "
            f"{round(abs(skew_seconds))} seconds ({direction} ZEGO's clock)"
        )
        self.args = (self.description,)


class ZegoPermissionError(ZegoResponseError):
    """The service or this API is not enabled for the AppId."""

    summary = "the ZEGO Digital Human service or this API is not enabled for this AppId"


class ZegoRateLimitedError(ZegoResponseError):
    """More than 10 requests per second for one action."""

    summary = "ZEGO rate limit exceeded"
    retryable = True


class ZegoNotFoundError(ZegoResponseError):
    """A referenced resource does not exist."""

    summary = "ZEGO did not find the resource"


class ZegoTaskNotFoundError(ZegoNotFoundError):
    """The stream task does not exist (or has ended)."""

    summary = "the ZEGO stream task does not exist"


class ZegoDigitalHumanNotFoundError(ZegoNotFoundError):
    """The DigitalHumanId is unknown."""

    summary = "the digital human does not exist"


class ZegoTimbreNotFoundError(ZegoNotFoundError):
    """The TimbreId is unknown."""

    summary = "the timbre does not exist"


class ZegoStreamNotReadyError(ZegoResponseError):
    """The task is still initializing; drives are refused until it streams."""

    summary = "the stream task is still initializing"


class ZegoTaskEndedError(ZegoResponseError):
    """The stream task was already stopped."""

    summary = "the stream task was already stopped"


class ZegoInvalidParameterError(ZegoResponseError):
    """ZEGO refused a parameter; `field` names it when ZEGO's message does."""

    summary = "ZEGO refused a request parameter"
    # Subclasses whose code always concerns one field name it here.
    default_field: ClassVar[str | None] = None

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        code: int | None = None,
        zego_message: str | None = None,
        request_id: str | None = None,
        action: str | None = None,
        http_status: int | None = None,
    ) -> None:
        """Store the offending field, parsed from ZEGO's message unless given."""
        super().__init__(
            message,
            code=code,
            zego_message=zego_message,
            request_id=request_id,
            action=action,
            http_status=http_status,
        )
        self.field: str | None = field or self.default_field or parse_field(zego_message)
        if self.field and not message and self.default_field is None:
            self.description = f"{self.summary}: {self.field}"
            self.args = (self.description,)


class ZegoTimbreUnsupportedError(ZegoInvalidParameterError):
    """This digital human cannot speak with that timbre."""

    summary = "the digital human does not support this timbre"
    default_field = "TTSConfig.TimbreId"


class ZegoStreamIdConflictError(ZegoInvalidParameterError):
    """A live task of this AppId already publishes that StreamId."""

    summary = "a live ZEGO stream task already uses this StreamId"
    default_field = "RTCConfig.StreamId"


class ZegoQuotaError(ZegoResponseError):
    """Concurrency limit, arrears or no free resources."""

    summary = "ZEGO quota exhausted (concurrent tasks, balance or resources)"


class ZegoServerError(ZegoResponseError):
    """ZEGO failed on its side."""

    summary = "ZEGO had an internal error"
    retryable = True


class ZegoDriveError(ZegoError):
    """A WebSocket drive failed."""

    summary = "the WebSocket drive failed"


class ZegoDriveConnectionError(ZegoDriveError):
    """The drive socket was refused, dropped, or closed by ZEGO mid-drive."""

    summary = "the WebSocket drive connection failed"


# --- code mapping -------------------------------------------------------------------------

_CODE_CLASSES: dict[int, type[ZegoResponseError]] = {
    100000004: ZegoClockSkewError,
    100000005: ZegoAuthenticationError,
    100000010: ZegoAuthenticationError,
    100000011: ZegoAuthenticationError,
    100000015: ZegoServerError,
    100000017: ZegoPermissionError,
    400000001: ZegoInvalidParameterError,
    400000002: ZegoPermissionError,
    400000003: ZegoDigitalHumanNotFoundError,
    400000004: ZegoTimbreNotFoundError,
    400000005: ZegoTaskNotFoundError,
    400000006: ZegoStreamNotReadyError,
    400000007: ZegoTaskEndedError,
    400000008: ZegoQuotaError,
    400000009: ZegoTimbreUnsupportedError,
    400000010: ZegoServerError,
    400000012: ZegoQuotaError,
    400000015: ZegoStreamIdConflictError,
    400000016: ZegoServerError,
    400010000: ZegoServerError,
    400010001: ZegoPermissionError,
    400010002: ZegoServerError,
    400010007: ZegoQuotaError,
    400010009: ZegoRateLimitedError,
}

# Server-side faults that a retry will not fix (broken avatar configuration / model).
_PERMANENT_SERVER_CODES = frozenset({400000010, 400000016})

# The gateway's format codes each concern one common parameter (zego-api.md §4.1).
_GATEWAY_FIELDS: dict[int, str] = {
    100000000: "Host",
    100000001: "AppId",
    100000002: "Timestamp",
    100000003: "Timestamp",
    100000006: "Action",
    100000007: "Action",
    100000008: "SignatureNonce",
    100000009: "Signature",
    100000013: "SignatureVersion",
    100000014: "SignatureVersion",
}
_GATEWAY_FORMAT_CODES = range(100000000, 100000100)

_QUOTED = re.compile(r"['\"`]([A-Za-z_][\w.\[\]]*)['\"`]")
_AFTER_KEYWORD = re.compile(
    r"(?i)\b(?:parameter|param|field|argument)s?\b\s*[:=]?\s*([A-Za-z_][\w.\[\]]*)"
)
_DOTTED = re.compile(r"\b([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)\b")
# CamelCase or all-caps identifiers such as StreamId, MaxIdleTime, TTL.
_IDENTIFIER = re.compile(r"\b([A-Z][a-z0-9]*[A-Z]\w*|[a-z]+[A-Z]\w*)\b")
# "Limit is out of range": a lone capitalised word that a verb follows.
_SUBJECT = re.compile(r"^([A-Za-z_][\w.]*)\s+(?:is|are|must|should|has|out)\b")
_NOT_FIELDS = frozenset({"ZEGO", "API", "HTTP", "JSON", "ID", "URL", "OK", "QPS"})


def parse_field(message: str | None) -> str | None:
    """Return the parameter a ZEGO error message names, or None.

    ZEGO's Message for 400000001 names the bad field in free text; try quoted names,
    then a name after "parameter"/"field", then dotted paths, then CamelCase names, then a
    leading subject ("Limit is out of range").
    """
    if not message:
        return None
    for pattern in (_QUOTED, _AFTER_KEYWORD, _DOTTED, _IDENTIFIER, _SUBJECT):
        for match in pattern.finditer(message):
            candidate = match.group(1).rstrip(".")
            if candidate.upper() in _NOT_FIELDS or candidate.lower() in {
                "is",
                "invalid",
                "must",
                "missing",
                "error",
            }:
                continue
            return candidate
    return None


def error_from_code(
    code: int | None,
    message: str | None,
    request_id: str | None,
    action: str | None,
    *,
    http_status: int | None = None,
) -> ZegoResponseError:
    """Map a ZEGO Code (and/or a non-2xx HTTP status) to the matching exception."""
    cls: type[ZegoResponseError] | None = _CODE_CLASSES.get(code) if code else None
    if cls is None and code in _GATEWAY_FORMAT_CODES:
        return ZegoInvalidParameterError(
            field=_GATEWAY_FIELDS.get(code or 0) or parse_field(message),
            code=code,
            zego_message=message,
            request_id=request_id,
            action=action,
            http_status=http_status,
        )
    if cls is None:
        if http_status is not None and http_status >= 500:
            cls = ZegoServerError
        elif http_status == 429:
            cls = ZegoRateLimitedError
        else:
            cls = ZegoResponseError
    err = cls(
        code=code,
        zego_message=message,
        request_id=request_id,
        action=action,
        http_status=http_status,
    )
    if isinstance(err, ZegoServerError) and code in _PERMANENT_SERVER_CODES:
        err.retryable = False
    return err


def describe_client_error(exc: BaseException) -> str:
    """Describe an aiohttp/OS error without its URL.

    `ClientResponseError`, `WSServerHandshakeError` and `ConnectionTimeoutError` put the
    request URL (with the Signature or the drive Token) into str(); never use their text.
    """
    if isinstance(exc, aiohttp.ClientResponseError):
        text = f"HTTP {exc.status}" + (f" {exc.message}" if exc.message else "")
    elif isinstance(exc, aiohttp.ClientConnectorCertificateError):
        # It has no os_error; name the certificate problem by its type only.
        reason = type(exc.certificate_error).__name__
        text = f"TLS certificate of {exc.host}:{exc.port} rejected ({reason})"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        strerror = exc.os_error.strerror or type(exc.os_error).__name__
        text = f"cannot connect to {exc.host}:{exc.port}: {strerror}"
    elif isinstance(exc, TimeoutError):
        text = "timed out"
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        text = "server disconnected"
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"{type(exc).__name__}: {exc.strerror}"
    else:
        text = type(exc).__name__
    return redact(text)

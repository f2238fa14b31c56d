"""ZegoClient: signed REST actions with timeouts, rate limiting and bounded retries."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
import json
import logging
import random
import time
from typing import Any

import aiohttp

from .const import DEFAULT_ENDPOINT, MAX_PAGE_LIMIT, ZegoAction
from .emulator import EmulatorPreview
from .errors import (
    ZegoClockSkewError,
    ZegoConnectionError,
    ZegoError,
    ZegoResponseError,
    ZegoServerError,
    ZegoStreamIdConflictError,
    ZegoTimeoutError,
    describe_client_error,
    error_from_code,
)
from .models import (
    DigitalHuman,
    DigitalHumanPage,
    StreamTask,
    StreamTaskSpec,
    TimbrePage,
    WsDriveTicket,
    ZegoEnvelope,
)
from .ratelimit import RateLimiter, shared_rate_limiter
from .signing import signed_params

__all__ = ["RetryPolicy", "ZegoClient"]

_LOGGER = logging.getLogger(__name__)

# GetDigitalHumanList pages are at most 20 long; this bounds a misbehaving Total.
_MAX_PAGES = 500

type _Recovery = Callable[[ZegoError], Awaitable[Mapping[str, Any] | None]]


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """Bounded retries with full-jitter exponential backoff, for retryable errors only."""

    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 4.0

    def __post_init__(self) -> None:
        """Reject settings that would never send or never wait."""
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, attempt: int) -> float:
        """Return the delay after failed attempt number `attempt` (0-based).

        Full jitter: uniform in [0, min(max_delay, base_delay * 2**attempt)], so that
        clients that failed together do not retry together.
        """
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return random.uniform(0.0, ceiling)


class _Secret:
    """Holds the ServerSecret so that repr(), vars() and tracebacks show no value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"


class ZegoClient:
    """Async client of the ZEGO Digital Human server API.

    The aiohttp session is injected and never closed here. The ServerSecret is kept
    private: it is in neither repr, logs nor errors.
    """

    def __init__(
        self,
        *,
        app_id: int | str,
        server_secret: str,
        session: aiohttp.ClientSession,
        endpoint: str = DEFAULT_ENDPOINT,
        request_timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Create a client; `rate_limiter=None` shares the process-wide one of the AppId."""
        app_id_text = str(app_id).strip()
        if not app_id_text.isdigit():
            raise ValueError("app_id must be a decimal number")
        if not server_secret:
            raise ValueError("server_secret must not be empty")
        self.app_id = int(app_id_text)
        self._secret = _Secret(server_secret)
        self.session = session
        self.endpoint = endpoint.rstrip("/")
        self.request_timeout = request_timeout
        self.retry = retry or RetryPolicy()
        self.rate_limiter = rate_limiter or shared_rate_limiter(self.app_id)
        self._clock = clock

    def __repr__(self) -> str:
        """Describe the client without its secret."""
        return f"ZegoClient(app_id={self.app_id}, endpoint={self.endpoint!r})"

    # --- transport ------------------------------------------------------------------------

    async def _request(
        self,
        action: ZegoAction,
        body: Mapping[str, Any],
        *,
        recover: _Recovery | None = None,
    ) -> Mapping[str, Any]:
        """Send `action` with retries; return its Data ({} when absent).

        `recover` is consulted when an attempt fails with a non-retryable error after an
        earlier attempt failed in a way that may have reached ZEGO (timeout, dropped
        connection, 5xx): the error may be the echo of our own first attempt.
        """
        ambiguous = False
        attempt = 0
        while True:
            try:
                return await self._request_once(action, body)
            except ZegoError as err:
                if ambiguous and recover is not None and not err.retryable:
                    recovered = await recover(err)
                    if recovered is not None:
                        return recovered
                attempt += 1
                if not err.retryable or attempt >= self.retry.max_attempts:
                    raise
                ambiguous = ambiguous or isinstance(err, ZegoConnectionError | ZegoServerError)
                delay = self.retry.backoff(attempt - 1)
                _LOGGER.debug(
                    "ZEGO %s attempt %d failed (%s); retrying in %.2f s",
                    action,
                    attempt,
                    type(err).__name__,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _request_once(self, action: ZegoAction, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """Send one signed request and map its answer."""
        try:
            async with self.rate_limiter.slot(action):
                # Sign after the limiter wait so the timestamp is fresh when it is sent.
                params = signed_params(
                    action, self.app_id, self._secret.reveal(), int(self._clock())
                )
                async with (
                    asyncio.timeout(self.request_timeout),
                    self.session.post(
                        f"{self.endpoint}/",
                        params=params,
                        json=dict(body),
                        headers={"Accept": "application/json"},
                    ) as response,
                ):
                    status = response.status
                    date_header = response.headers.get("Date")
                    raw = await response.read()
        except TimeoutError:
            # aiohttp's own timeout errors can carry the URL: never chain them.
            raise ZegoTimeoutError(
                f"ZEGO did not answer within {self.request_timeout:g} s", action=action
            ) from None
        except aiohttp.ClientError as exc:
            raise ZegoConnectionError(
                f"could not reach ZEGO: {describe_client_error(exc)}", action=action
            ) from None
        return self._parse_response(action, status, date_header, raw)

    def _parse_response(
        self, action: ZegoAction, status: int, date_header: str | None, raw: bytes
    ) -> Mapping[str, Any]:
        """Turn an HTTP answer into Data or the matching ZegoResponseError."""
        http_error = status if not 200 <= status < 300 else None
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        if not isinstance(payload, Mapping):
            if http_error is not None:
                raise error_from_code(None, None, None, action, http_status=http_error)
            raise ZegoResponseError(
                "ZEGO answered with something that is not a JSON object",
                action=action,
                http_status=status,
            )
        try:
            envelope = ZegoEnvelope.from_api(payload)
        except (KeyError, TypeError, ValueError):
            if http_error is not None:
                raise error_from_code(None, None, None, action, http_status=http_error) from None
            raise ZegoResponseError(
                "ZEGO answered without a valid Code", action=action, http_status=status
            ) from None
        if envelope.code == 0 and http_error is None:
            _LOGGER.debug("ZEGO %s ok (RequestId %s)", action, envelope.request_id)
            return envelope.data
        err = error_from_code(
            envelope.code or None,
            envelope.message,
            envelope.request_id,
            action,
            http_status=http_error,
        )
        if isinstance(err, ZegoClockSkewError):
            err.set_skew(self._skew_from_date(date_header))
        _LOGGER.debug(
            "ZEGO %s failed: code %s, HTTP %s, RequestId %s",
            action,
            envelope.code,
            status,
            envelope.request_id,
        )
        raise err

    def _skew_from_date(self, date_header: str | None) -> float | None:
        """Return ZEGO's clock minus ours, from the response Date header."""
        if not date_header:
            return None
        try:
            server_time = parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError, IndexError):
            return None
        return server_time - self._clock()

    @staticmethod
    def _parse[T](action: ZegoAction, parse: Callable[[], T]) -> T:
        """Run a model parser; a malformed payload becomes a ZegoResponseError."""
        try:
            return parse()
        except (KeyError, TypeError, ValueError) as exc:
            raise ZegoResponseError(
                f"ZEGO sent an unexpected {action} payload ({type(exc).__name__}: {exc})",
                action=action,
            ) from None

    # --- stream tasks ---------------------------------------------------------------------

    async def create_stream_task(self, spec: StreamTaskSpec) -> str:
        """Create a stream task and return its TaskId.

        If an attempt timed out after ZEGO created the task, the retry meets our own
        StreamId (400000015): the task found under that StreamId is then ours.
        """

        async def recover(err: ZegoError) -> Mapping[str, Any] | None:
            if not isinstance(err, ZegoStreamIdConflictError):
                return None
            for task in await self.query_stream_tasks():
                if task.stream_id == spec.stream_id and task.room_id == spec.room_id:
                    _LOGGER.debug(
                        "ZEGO %s: StreamId conflict after a retry; task %s is ours",
                        ZegoAction.CREATE_STREAM_TASK,
                        task.task_id,
                    )
                    return {"TaskId": task.task_id}
            return None

        action = ZegoAction.CREATE_STREAM_TASK
        data = await self._request(action, spec.to_api(), recover=recover)
        return self._parse(action, lambda: _require_str(data, "TaskId"))

    async def stop_stream_task(self, task_id: str) -> None:
        """Stop a stream task."""
        await self._request(ZegoAction.STOP_STREAM_TASK, {"TaskId": task_id})

    async def query_stream_tasks(self) -> list[StreamTask]:
        """Return the running stream tasks of the AppId."""
        action = ZegoAction.QUERY_STREAM_TASKS
        data = await self._request(action, {})
        return self._parse(
            action,
            lambda: [StreamTask.from_api(item) for item in _require_list(data, "TaskList")],
        )

    async def get_stream_task_status(self, task_id: str) -> StreamTask:
        """Return the status of one running stream task."""
        action = ZegoAction.GET_STREAM_TASK_STATUS
        data = await self._request(action, {"TaskId": task_id})
        return self._parse(action, lambda: StreamTask.from_api(data, task_id=task_id))

    # --- drives ---------------------------------------------------------------------------

    async def drive_by_ws_stream(self, task_id: str) -> WsDriveTicket:
        """Issue a WebSocket drive: a fresh DriveId and its tokenized address."""
        action = ZegoAction.DRIVE_BY_WS_STREAM
        data = await self._request(action, {"TaskId": task_id})
        return self._parse(action, lambda: WsDriveTicket.from_api(data))

    async def drive_by_text(
        self,
        task_id: str,
        text: str,
        timbre_id: str,
        *,
        interrupt: bool = False,
        speech_rate: int | None = None,
        pitch_rate: int | None = None,
        volume: int | None = None,
    ) -> str:
        """Make the avatar say `text` with ZEGO's TTS; return the DriveId."""
        optional = {"SpeechRate": speech_rate, "PitchRate": pitch_rate, "Volume": volume}
        tts: dict[str, Any] = {"TimbreId": timbre_id}
        tts |= {key: value for key, value in optional.items() if value is not None}
        body = {
            "TaskId": task_id,
            "Text": text,
            "InterruptMode": 1 if interrupt else 0,
            "TTSConfig": tts,
        }
        action = ZegoAction.DRIVE_BY_TEXT
        data = await self._request(action, body)
        return self._parse(action, lambda: _require_str(data, "DriveId"))

    async def drive_by_audio(self, task_id: str, audio_url: str, *, interrupt: bool = False) -> str:
        """Make the avatar play an MP3/WAV file from a URL; return the DriveId."""
        body = {"TaskId": task_id, "AudioUrl": audio_url, "InterruptMode": 1 if interrupt else 0}
        action = ZegoAction.DRIVE_BY_AUDIO
        data = await self._request(action, body)
        return self._parse(action, lambda: _require_str(data, "DriveId"))

    async def interrupt_drive_task(self, task_id: str) -> None:
        """Interrupt the current drive and drop the queued ones."""
        await self._request(ZegoAction.INTERRUPT_DRIVE_TASK, {"TaskId": task_id})

    # --- catalogue ------------------------------------------------------------------------

    async def get_digital_human_list(
        self, *, fetch_mode: int = 1, offset: int = 0, limit: int = MAX_PAGE_LIMIT
    ) -> DigitalHumanPage:
        """Return one page of digital humans."""
        action = ZegoAction.GET_DIGITAL_HUMAN_LIST
        body = {"FetchMode": int(fetch_mode), "Offset": offset, "Limit": limit}
        data = await self._request(action, body)
        return self._parse(action, lambda: DigitalHumanPage.from_api(data))

    async def get_all_digital_humans(self) -> list[DigitalHuman]:
        """Return every digital human of the AppId, paging through the list."""
        humans: list[DigitalHuman] = []
        for _ in range(_MAX_PAGES):
            page = await self.get_digital_human_list(offset=len(humans), limit=MAX_PAGE_LIMIT)
            humans.extend(page.digital_humans)
            if not page.digital_humans or len(humans) >= page.total:
                break
        return humans

    async def get_digital_human_info(self, digital_human_id: str) -> DigitalHuman:
        """Return one digital human with its actions."""
        action = ZegoAction.GET_DIGITAL_HUMAN_INFO
        data = await self._request(action, {"DigitalHumanId": digital_human_id})
        return self._parse(action, lambda: DigitalHuman.from_api(data))

    async def get_timbre_list(
        self, *, digital_human_id: str | None = None, offset: int = 0, limit: int = MAX_PAGE_LIMIT
    ) -> TimbrePage:
        """Return one page of timbres: public ones, or those private to a digital human."""
        body: dict[str, Any] = {"Offset": offset, "Limit": limit}
        if digital_human_id:
            body["DigitalHumanId"] = digital_human_id
        action = ZegoAction.GET_TIMBRE_LIST
        data = await self._request(action, body)
        return self._parse(action, lambda: TimbrePage.from_api(data))

    async def verify_credentials(self) -> None:
        """Make one cheap read-only signed call; raise if the credentials do not work."""
        await self._request(ZegoAction.QUERY_STREAM_TASKS, {})

    async def probe_emulator(self) -> EmulatorPreview | None:
        """Ask the endpoint whether it is the local emulator; None for ZEGO or any doubt.

        One attempt, never raised: ZEGO answers "unknown action", and an endpoint that
        cannot answer now is treated as ZEGO (no preview is offered).
        """
        try:
            data = await self._request_once(ZegoAction.DESCRIBE_EMULATOR, {})
        except ZegoError as err:
            _LOGGER.debug("Not the emulator: %s", type(err).__name__)
            return None
        return EmulatorPreview.from_api(data)


def _require_str(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise TypeError(f"{key} is not a non-empty string")
    return value


def _require_list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"{key} is not a list")
    return value

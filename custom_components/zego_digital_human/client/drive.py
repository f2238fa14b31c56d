"""WsDriveSession: speak raw PCM through ZEGO's WebSocket drive channel.

DriveByWsStream -> WebSocket -> Start -> paced binary PCM frames -> Stop -> close (1000).
ZEGO documents no server->client messages: a reader task drains whatever comes and notices
when the server closes the socket. The WssAddress carries a bearer token, so only the
drive id and the host are ever logged or put into errors.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import functools
import json
import logging
import ssl
from typing import TYPE_CHECKING, Any, Self

import aiohttp

from .const import PCM_CHANNELS, PCM_SAMPLE_WIDTH, SUPPORTED_SAMPLE_RATES, ZegoAction
from .errors import ZegoDriveConnectionError, ZegoError, describe_client_error

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, Callable, Iterator
    from types import TracebackType

    from .models import WsDriveTicket
    from .rest import ZegoClient

__all__ = ["DriveReport", "PacingConfig", "PcmReframer", "WsDriveSession"]

_LOGGER = logging.getLogger(__name__)

# After a cancellation or a failure, Stop and close get this long at most: the caller is
# already leaving and must not hang on a dead socket.
_ABORT_TIMEOUT = 1.0
_ACTION = ZegoAction.DRIVE_BY_WS_STREAM


@dataclass(frozen=True, kw_only=True, slots=True)
class PacingConfig:
    """How audio is cut and paced.

    `head_start` is how much audio the avatar holds ahead of its playback: frames go out
    that long before their playback time, so network jitter does not starve the avatar.
    """

    frame_ms: int = 40
    head_start: float = 0.3

    def __post_init__(self) -> None:
        """Reject frame sizes and head starts that cannot work."""
        if self.frame_ms <= 0:
            raise ValueError("frame_ms must be positive")
        if self.head_start < 0:
            raise ValueError("head_start must not be negative")

    def frame_bytes(self, sample_rate: int) -> int:
        """Return the size of one full frame: whole samples, at least one."""
        bytes_per_ms = sample_rate * PCM_SAMPLE_WIDTH * PCM_CHANNELS / 1000
        samples = max(1, int(bytes_per_ms * self.frame_ms) // PCM_SAMPLE_WIDTH)
        return samples * PCM_SAMPLE_WIDTH


@dataclass(kw_only=True, slots=True)
class DriveReport:
    """What one drive did. Times are `loop.time()` values."""

    drive_id: str
    sample_rate: int
    frames_sent: int = 0
    bytes_sent: int = 0
    audio_seconds: float = 0.0
    opened_at: float | None = None
    ready_at: float | None = None
    first_frame_at: float | None = None
    last_frame_at: float | None = None
    stop_sent_at: float | None = None
    # When the avatar should finish speaking: t0 + stall + audio_seconds.
    playback_end_at: float | None = None
    source_stalls: int = 0
    stall_seconds: float = 0.0
    completed: bool = False


class PcmReframer:
    """Cut arbitrary PCM chunks into fixed frames of `frame_bytes` (an even number).

    Holds at most one partial frame between calls, so memory stays at one frame plus the
    chunk being cut.
    """

    def __init__(self, frame_bytes: int) -> None:
        """Create a reframer for frames of `frame_bytes` bytes."""
        if frame_bytes <= 0 or frame_bytes % PCM_SAMPLE_WIDTH:
            raise ValueError("frame_bytes must be a positive multiple of the sample width")
        self.frame_bytes = frame_bytes
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """Add a chunk and yield every complete frame it finishes."""
        self._buffer += chunk
        while len(self._buffer) >= self.frame_bytes:
            frame = bytes(self._buffer[: self.frame_bytes])
            del self._buffer[: self.frame_bytes]
            yield frame

    def flush(self) -> bytes:
        """Return the last, shorter frame (b"" if none); an odd trailing byte is dropped."""
        tail = bytes(self._buffer)
        self._buffer.clear()
        # Half a sample cannot be played; ZEGO's emulator flags odd frames as a client bug.
        return tail[: len(tail) - len(tail) % PCM_SAMPLE_WIDTH]


@functools.cache
def _insecure_ssl_context() -> ssl.SSLContext:
    """Return a TLS context without certificate checks.

    ZEGO's WssAddress is a bare IP whose certificate cannot match, and ZEGO's docs say to
    skip verification. No CA files are loaded, so building it does not block the loop.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class WsDriveSession:
    """One WebSocket drive of a stream task: open, stream PCM once, close."""

    def __init__(
        self,
        client: ZegoClient,
        task_id: str,
        *,
        sample_rate: int = 16000,
        pacing: PacingConfig | None = None,
        verify_ssl: bool = False,
        connect_timeout: float = 10.0,
        send_timeout: float = 5.0,
        on_first_frame: Callable[[float], None] | None = None,
    ) -> None:
        """Prepare a drive; nothing is sent until open()."""
        if sample_rate not in SUPPORTED_SAMPLE_RATES:
            raise ValueError(f"sample_rate must be one of {SUPPORTED_SAMPLE_RATES}")
        self._client = client
        self.task_id = task_id
        self.sample_rate = sample_rate
        self.pacing = pacing or PacingConfig()
        self.verify_ssl = verify_ssl
        self.connect_timeout = connect_timeout
        self.send_timeout = send_timeout
        self.on_first_frame = on_first_frame
        self.drive_id: str | None = None
        self.report: DriveReport | None = None
        self._host = "?"
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._opened = False
        self._streamed = False
        self._closed = False
        self._start_sent = False
        self._stop_sent = False
        self._closing_locally = False
        self._server_closed = False

    def __repr__(self) -> str:
        """Describe the drive by task, drive id and host only (never the address)."""
        return (
            f"WsDriveSession(task_id={self.task_id!r}, drive_id={self.drive_id!r}, "
            f"host={self._host!r}, sample_rate={self.sample_rate})"
        )

    async def __aenter__(self) -> Self:
        """Open the drive."""
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the drive (sends Stop if the audio was not finished)."""
        await self.close()

    # --- open -----------------------------------------------------------------------------

    async def open(self) -> None:
        """Issue the drive, connect its WebSocket and send Start."""
        if self._opened:
            raise RuntimeError("a WsDriveSession drives once; create a new one per utterance")
        self._opened = True
        loop = asyncio.get_running_loop()
        opened_at = loop.time()
        ticket = await self._client.drive_by_ws_stream(self.task_id)
        self.drive_id = ticket.drive_id
        self._host = ticket.host
        report = self.report = DriveReport(
            drive_id=ticket.drive_id, sample_rate=self.sample_rate, opened_at=opened_at
        )
        try:
            ws = self._ws = await self._connect(ticket)
            self._reader = asyncio.create_task(
                self._read_loop(ws), name=f"zego-drive-reader-{ticket.drive_id}"
            )
            await self._send_command("Start", SampleRate=self.sample_rate, Channel=PCM_CHANNELS)
            self._start_sent = True
        except BaseException:
            self._closed = True
            await self._close_socket(_ABORT_TIMEOUT)
            raise
        report.ready_at = loop.time()
        _LOGGER.debug("ZEGO drive %s started on %s", self.drive_id, self._host)

    async def _connect(self, ticket: WsDriveTicket) -> aiohttp.ClientWebSocketResponse:
        """Open the WebSocket; errors never carry the address (it holds the token)."""
        tls: ssl.SSLContext | bool = True  # aiohttp's default; ignored for ws://
        if ticket.wss_address.lower().startswith("wss:") and not self.verify_ssl:
            tls = _insecure_ssl_context()
        try:
            async with asyncio.timeout(self.connect_timeout):
                return await self._client.session.ws_connect(
                    ticket.wss_address,
                    ssl=tls,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=self.send_timeout),
                    # ZEGO documents no pings; our own would fail the drive if the server
                    # ignores them. Dead sockets show up as failed sends instead.
                    heartbeat=None,
                    autoping=True,
                )
        except TimeoutError:
            raise self._error(
                f"the WebSocket handshake with {self._host} timed out"
                f" after {self.connect_timeout:g} s"
            ) from None
        except aiohttp.WSServerHandshakeError as exc:
            raise self._error(
                f"ZEGO refused the WebSocket handshake at {self._host} (HTTP {exc.status})"
            ) from None
        except aiohttp.ClientError as exc:
            raise self._error(
                f"could not open the WebSocket to {self._host}: {describe_client_error(exc)}"
            ) from None

    # --- stream ---------------------------------------------------------------------------

    async def stream(self, pcm_chunks: AsyncIterable[bytes]) -> DriveReport:
        """Send s16le mono PCM paced to real time, then Stop, then close.

        On any failure or cancellation, Stop is still sent (briefly) and the socket closed
        before the exception propagates.
        """
        report = self.report
        if report is None or not self._start_sent or self._closed:
            raise RuntimeError("open() the drive before stream()")
        if self._streamed:
            raise RuntimeError("stream() runs once per drive")
        self._streamed = True
        try:
            await self._pump(pcm_chunks, report)
            self._check_alive()
            await self._send_command("Stop")
            self._stop_sent = True
            report.stop_sent_at = asyncio.get_running_loop().time()
            self._closed = True
            answered = await self._close_socket(self.send_timeout)
        except BaseException:
            await self._abort()
            raise
        if not answered:
            # Sends only fill socket buffers (megabytes on a fast link), so a server that
            # stopped reading shows here at the latest: it never answers the close.
            raise self._error(
                f"ZEGO did not answer the close of the drive within {self.send_timeout:g} s;"
                " the socket had gone silent"
            )
        report.completed = True
        _LOGGER.debug(
            "ZEGO drive %s done: %d frames, %.2f s of audio, %d source stalls",
            self.drive_id,
            report.frames_sent,
            report.audio_seconds,
            report.source_stalls,
        )
        return report

    async def _pump(self, pcm_chunks: AsyncIterable[bytes], report: DriveReport) -> None:
        """Re-frame the source and send each frame at its deadline."""
        reframer = PcmReframer(self.pacing.frame_bytes(self.sample_rate))
        async for chunk in pcm_chunks:
            if not chunk:
                continue
            for frame in reframer.feed(chunk):
                await self._send_paced(frame, report)
        if tail := reframer.flush():
            await self._send_paced(tail, report)

    async def _send_paced(self, frame: bytes, report: DriveReport) -> None:
        """Send one frame no earlier than t0 + stall + pos - head_start.

        Deadlines come from the absolute audio position, never from the previous send, so
        sleep error does not accumulate. When the source was so late that the avatar has
        played everything it had, its playback paused: the pause is added to `stall` and
        the clock re-anchored, so the frames that follow rebuild the head start.
        """
        self._check_alive()
        loop = asyncio.get_running_loop()
        bytes_per_second = self.sample_rate * PCM_SAMPLE_WIDTH * PCM_CHANNELS
        position = report.bytes_sent / bytes_per_second
        t0 = report.first_frame_at
        if t0 is not None:
            now = loop.time()
            dry_at = t0 + report.stall_seconds + position
            if now > dry_at:
                report.stall_seconds += now - dry_at
                report.source_stalls += 1
            deadline = t0 + report.stall_seconds + position - self.pacing.head_start
            if deadline > now:
                await asyncio.sleep(deadline - now)
                self._check_alive()
        await self._send_bytes(frame)
        sent_at = loop.time()
        if t0 is None:
            t0 = report.first_frame_at = sent_at
            if self.on_first_frame is not None:
                self.on_first_frame(sent_at)
        report.frames_sent += 1
        report.bytes_sent += len(frame)
        report.last_frame_at = sent_at
        report.audio_seconds = report.bytes_sent / bytes_per_second
        report.playback_end_at = t0 + report.stall_seconds + report.audio_seconds

    # --- close ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Send Stop if Start went out and Stop did not, then close the socket. Idempotent."""
        if self._closed:
            await self._close_socket(_ABORT_TIMEOUT)
            return
        self._closed = True
        await self._stop_quietly(self.send_timeout)
        await self._close_socket(self.send_timeout)

    async def _abort(self) -> None:
        """Best-effort Stop and close after a failure or cancellation, briefly bounded."""
        self._closed = True
        await self._stop_quietly(_ABORT_TIMEOUT)
        await self._close_socket(_ABORT_TIMEOUT)

    async def _stop_quietly(self, within: float) -> None:
        """Send Stop if it is owed; a failure is only logged (we are cleaning up)."""
        ws = self._ws
        if not self._start_sent or self._stop_sent or ws is None or ws.closed:
            return
        try:
            async with asyncio.timeout(within):
                await self._send_command("Stop")
        except (ZegoError, TimeoutError) as err:
            _LOGGER.debug("ZEGO drive %s: Stop not sent (%s)", self.drive_id, type(err).__name__)
            return
        self._stop_sent = True
        if self.report is not None:
            self.report.stop_sent_at = asyncio.get_running_loop().time()

    async def _close_socket(self, within: float) -> bool:
        """Close the socket with 1000 and end the reader task, whatever happens.

        Returns False when we closed it and the server did not answer the close in time.
        """
        ws, reader = self._ws, self._reader
        answered = True
        try:
            if ws is not None and not ws.closed:
                self._closing_locally = True
                try:
                    async with asyncio.timeout(within):
                        await ws.close(code=aiohttp.WSCloseCode.OK)
                except (TimeoutError, aiohttp.ClientError, OSError) as err:
                    # aiohttp has already dropped the transport in these cases.
                    answered = False
                    _LOGGER.debug(
                        "ZEGO drive %s: close handshake failed (%s)",
                        self.drive_id,
                        type(err).__name__,
                    )
                else:
                    # aiohttp gives up after its own ws_close timeout and records 1006.
                    answered = ws.close_code not in (None, aiohttp.WSCloseCode.ABNORMAL_CLOSURE)
        finally:
            if reader is not None and not reader.done():
                reader.cancel()
        if reader is not None:
            # wait() instead of await: the reader's own CancelledError must not look like
            # ours.
            await asyncio.wait([reader])
        return answered

    # --- socket helpers -------------------------------------------------------------------

    async def _read_loop(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Drain inbound frames (ZEGO documents none) until the socket closes."""
        try:
            while True:
                message = await ws.receive()
                if message.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSING,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.ERROR,
                ):
                    break
                _LOGGER.debug(
                    "ZEGO drive %s: ignoring a %s frame", self.drive_id, message.type.name
                )
        except (aiohttp.ClientError, OSError, RuntimeError) as err:
            _LOGGER.debug("ZEGO drive %s: reader stopped (%s)", self.drive_id, type(err).__name__)
        if not self._closing_locally:
            self._server_closed = True
            _LOGGER.debug(
                "ZEGO drive %s: server closed the socket (code %s)", self.drive_id, ws.close_code
            )

    def _check_alive(self) -> None:
        """Raise if ZEGO closed the socket under us."""
        if self._server_closed:
            code = self._ws.close_code if self._ws is not None else None
            if code is None or code == aiohttp.WSCloseCode.ABNORMAL_CLOSURE:
                raise self._error("the drive socket was dropped mid-drive (no close frame)")
            raise self._error(f"ZEGO closed the drive socket mid-drive (close code {code})")

    async def _send_command(self, name: str, **payload: Any) -> None:
        """Send a Start/Stop text frame for this drive."""
        message = {"Action": name, "Payload": {"DriveId": self.drive_id, **payload}}
        await self._send(json.dumps(message, separators=(",", ":")), name)

    async def _send_bytes(self, frame: bytes) -> None:
        await self._send(frame, "audio")

    async def _send(self, data: str | bytes, what: str) -> None:
        """Send one frame within send_timeout; map failures to ZegoDriveConnectionError."""
        ws = self._ws
        if ws is None or ws.closed:
            self._check_alive()
            raise self._error(f"the drive socket is closed; cannot send {what}")
        try:
            async with asyncio.timeout(self.send_timeout):
                if isinstance(data, bytes):
                    await ws.send_bytes(data)
                else:
                    await ws.send_str(data)
        except TimeoutError:
            raise self._error(f"sending {what} timed out after {self.send_timeout:g} s") from None
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            self._check_alive()
            raise self._error(f"sending {what} failed: {describe_client_error(exc)}") from None

    def _error(self, message: str) -> ZegoDriveConnectionError:
        return ZegoDriveConnectionError(f"drive {self.drive_id}: {message}", action=_ACTION)

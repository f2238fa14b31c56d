"""Any audio URL, file or byte stream -> s16le mono PCM, through an ffmpeg subprocess.

HA has no public helper for this; core integrations (Wyoming, the ESPHome proxy) each
spawn ffmpeg themselves, and so do we. stdout is read while ffmpeg runs, so audio
flows as soon as the first packets decode, and the pipe's back-pressure keeps ffmpeg
only a pipe buffer ahead of the paced consumer: nothing holds a whole file.

This module does not import Home Assistant: the caller passes the binary
(``ffmpeg.get_ffmpeg_manager(hass).binary``).
"""

from __future__ import annotations

import asyncio
import contextlib
from enum import StrEnum
import logging
import re
from typing import TYPE_CHECKING, Final

from .wav import Codec

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterable, Sequence

    from .wav import WavFormat

__all__ = ["FfmpegError", "FfmpegErrorKind", "ffmpeg_pcm", "raw_input_options", "redact_source"]

_LOGGER = logging.getLogger(__name__)

CHUNK_SIZE: Final = 4096
# No output for this long means a stalled network source (or a wedged ffmpeg).
DEFAULT_IDLE_TIMEOUT: Final = 30.0
# ffmpeg's own socket timeout for network inputs, so it fails with a message instead
# of hanging; microseconds, as ffmpeg wants.
_RW_TIMEOUT_US: Final = 20_000_000
# stderr is kept only to explain a failure; bound it so a chatty ffmpeg costs nothing.
_STDERR_LIMIT: Final = 8192
_KILL_WAIT: Final = 5.0

# ffmpeg names of the raw sample formats a WAV fmt chunk can declare, by (codec, bits).
_RAW_FORMATS: Final[dict[tuple[int, int], str]] = {
    (Codec.PCM, 8): "u8",
    (Codec.PCM, 16): "s16le",
    (Codec.PCM, 24): "s24le",
    (Codec.PCM, 32): "s32le",
    (Codec.IEEE_FLOAT, 32): "f32le",
    (Codec.IEEE_FLOAT, 64): "f64le",
    (Codec.ALAW, 8): "alaw",
    (Codec.MULAW, 8): "mulaw",
}

_URL_QUERY = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#'\"<>]*)\?[^\s'\"<>]*")
_HTTP_STATUS = re.compile(r"Server returned (\d{3})|HTTP error (\d{3})")


class FfmpegErrorKind(StrEnum):
    """What went wrong; the pipeline maps each kind to a translation key."""

    NOT_FOUND = "not_found"  # 404 / 410, or no such file
    FETCH_FAILED = "fetch_failed"  # other HTTP errors, refused or broken connections
    NOT_AUDIO = "not_audio"  # the input decodes to no audio stream
    NO_AUDIO = "no_audio"  # ffmpeg succeeded but produced zero samples
    TIMEOUT = "timeout"  # no output for too long
    FAILED = "failed"  # anything else (ffmpeg missing, crashed, ...)


class FfmpegError(Exception):
    """ffmpeg could not turn the source into audio."""

    def __init__(self, kind: FfmpegErrorKind, detail: str) -> None:
        """Store the kind and a one-line reason (secret-free, see redact_source)."""
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def redact_source(text: str) -> str:
    """Drop URL queries from text meant for humans.

    HA media URLs carry an ``authSig`` (a signed grant to fetch the file) in the query,
    and third-party URLs may carry tokens; neither may reach a log or an error.
    """
    return _URL_QUERY.sub(r"\1?…", text)


def _classify(stderr: str) -> FfmpegErrorKind:
    if match := _HTTP_STATUS.search(stderr):
        status = int(match.group(1) or match.group(2))
        return FfmpegErrorKind.NOT_FOUND if status in (404, 410) else FfmpegErrorKind.FETCH_FAILED
    if "No such file or directory" in stderr:
        return FfmpegErrorKind.NOT_FOUND
    if (
        "Invalid data found when processing input" in stderr
        or "does not contain any stream" in stderr
        or "matches no streams" in stderr
    ):
        return FfmpegErrorKind.NOT_AUDIO
    if any(
        marker in stderr
        for marker in (
            "Connection refused",
            "Connection timed out",
            "Operation timed out",
            "Network is unreachable",
            "No route to host",
            "Name or service not known",
            "Failed to resolve hostname",
            "Temporary failure in name resolution",
            "Connection reset",
            "I/O error",
            "Input/output error",
        )
    ):
        return FfmpegErrorKind.FETCH_FAILED
    return FfmpegErrorKind.FAILED


def _summary(stderr: str) -> str:
    """Return ffmpeg's last meaningful line, without URL queries."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return redact_source(lines[-1]) if lines else "ffmpeg failed without a message"


def raw_input_options(fmt: WavFormat) -> list[str] | None:
    """Return the input options that make ffmpeg read a WAV's bare samples, or None.

    A WAV's samples are handed to ffmpeg without the WAV around them because ffmpeg's
    WAV demuxer, reading a pipe whose sizes are unknown, holds its output back until the
    stream ends; raw input with no probing starts converting on the first packet.
    """
    if fmt.codec is None or fmt.channels < 1 or fmt.sample_rate < 1:
        return None
    name = _RAW_FORMATS.get((fmt.codec, fmt.bits_per_sample))
    if name is None:
        return None
    return [
        *("-f", name, "-ar", str(fmt.sample_rate), "-ac", str(fmt.channels)),
        *("-probesize", "32", "-analyzeduration", "0"),
    ]


def build_command(
    binary: str,
    source: str,
    sample_rate: int,
    *,
    input_options: Sequence[str] = (),
) -> list[str]:
    """Return the ffmpeg argv that decodes source to s16le mono at sample_rate on stdout."""
    command = [binary, "-hide_banner", "-nostats", "-loglevel", "error"]
    if source.startswith(("http://", "https://")):
        command += ["-rw_timeout", str(_RW_TIMEOUT_US)]
    command += input_options
    command += [
        "-i",
        source,
        # Audio only: a video's picture or a cover image must not make ffmpeg fail.
        "-vn",
        "-sn",
        "-dn",
        "-map_metadata",
        "-1",
        "-f",
        "s16le",
        "-acodec",
        "pcm_s16le",
        "-ac",
        "1",
        "-ar",
        str(sample_rate),
        "pipe:1",
    ]
    return command


async def ffmpeg_pcm(
    binary: str,
    source: str | AsyncIterable[bytes],
    sample_rate: int,
    *,
    input_options: Sequence[str] = (),
    chunk_size: int = CHUNK_SIZE,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
) -> AsyncGenerator[bytes]:
    """Yield s16le mono PCM at sample_rate decoded from source as ffmpeg produces it.

    source is a URL or path, or an async iterable of encoded bytes that is written to
    ffmpeg's stdin (give input_options such as ``-f`` when it cannot be probed). Closing or
    cancelling the generator kills ffmpeg. Raises FfmpegError when ffmpeg fails or
    produces no audio.
    """
    piped = not isinstance(source, str)
    command = build_command(
        binary, "pipe:0" if piped else str(source), sample_rate, input_options=input_options
    )
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE if piped else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            close_fds=True,
        )
    except OSError as err:
        raise FfmpegError(FfmpegErrorKind.FAILED, f"cannot run ffmpeg: {err.strerror}") from err

    stdout = _pipe(process.stdout)
    stderr_task = asyncio.create_task(_collect(_pipe(process.stderr)), name="zego ffmpeg stderr")
    writer: asyncio.Task[None] | None = None
    if not isinstance(source, str):
        writer = asyncio.create_task(_feed(_pipe(process.stdin), source), name="zego ffmpeg stdin")

    produced = 0
    finished = False
    try:
        while True:
            try:
                async with asyncio.timeout(idle_timeout):
                    chunk = await stdout.read(chunk_size)
            except TimeoutError as err:
                raise FfmpegError(
                    FfmpegErrorKind.TIMEOUT,
                    f"no audio arrived for {idle_timeout:g} seconds",
                ) from err
            if not chunk:
                break
            produced += len(chunk)
            yield chunk
        async with asyncio.timeout(_KILL_WAIT):
            returncode = await process.wait()
        stderr = await stderr_task
        if returncode != 0:
            # Not finished: _terminate stops a writer still waiting on its source.
            raise FfmpegError(_classify(stderr), _summary(stderr))
        if writer is not None:
            # ffmpeg read stdin to its end, so the writer is done: this re-raises a
            # failure of the source that fed it (a broken TTS stream, say).
            await writer
        finished = True
        if produced == 0:
            raise FfmpegError(FfmpegErrorKind.NO_AUDIO, "the source holds no audio samples")
    finally:
        if not finished:
            await _terminate(process, stdout, stderr_task, writer)


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass


def _pipe[T](stream: T | None) -> T:
    """Return a pipe that create_subprocess_exec was asked for (never None then)."""
    if stream is None:
        raise FfmpegError(FfmpegErrorKind.FAILED, "ffmpeg started without its pipes")
    return stream


async def _collect(stream: asyncio.StreamReader) -> str:
    """Read stderr to the end (so ffmpeg never blocks on it), keeping the tail."""
    tail = bytearray()
    while chunk := await stream.read(4096):
        tail += chunk
        if len(tail) > _STDERR_LIMIT:
            del tail[: len(tail) - _STDERR_LIMIT]
    return tail.decode(errors="replace")


async def _feed(stdin: asyncio.StreamWriter, source: AsyncIterable[bytes]) -> None:
    """Write source to ffmpeg's stdin; a closed pipe just means ffmpeg has stopped."""
    try:
        async for chunk in source:
            stdin.write(chunk)
            await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        return
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            stdin.close()


async def _terminate(
    process: asyncio.subprocess.Process,
    stdout: asyncio.StreamReader,
    stderr_task: asyncio.Task[str],
    writer: asyncio.Task[None] | None,
) -> None:
    """Kill ffmpeg and reap everything it left, even while being cancelled."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    for task in (writer, stderr_task):
        if task is not None and not task.done():
            task.cancel()
    # Shielded: a second cancellation must not leave a zombie or a pending task behind.
    cleanup = asyncio.ensure_future(_reap(process, stdout, stderr_task, writer))
    try:
        await asyncio.shield(cleanup)
    except asyncio.CancelledError:
        await cleanup
        raise


async def _reap(
    process: asyncio.subprocess.Process,
    stdout: asyncio.StreamReader,
    stderr_task: asyncio.Task[str],
    writer: asyncio.Task[None] | None,
) -> None:
    try:
        async with asyncio.timeout(_KILL_WAIT):
            # wait() also waits for the pipes to close, and a paused, full stdout pipe
            # never sees its EOF: drain it.
            await asyncio.gather(_drain(stdout), process.wait())
    except TimeoutError:
        _LOGGER.warning("ffmpeg (pid %s) did not exit after being killed", process.pid)
    tasks = [task for task in (writer, stderr_task) if task is not None]
    await asyncio.gather(*tasks, return_exceptions=True)

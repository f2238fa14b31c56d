"""ffmpeg_pcm with the real ffmpeg binary: files, HTTP, stdin, failures, cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from typing import TYPE_CHECKING
from unittest.mock import patch

import pytest

from custom_components.zego_digital_human.speech.ffmpeg import (
    FfmpegError,
    FfmpegErrorKind,
    ffmpeg_pcm,
    redact_source,
)

from .audio import best_correlation, split, tone, wav

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from .conftest import MediaServer

BINARY = shutil.which("ffmpeg") or "ffmpeg"
pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Pure unit tests: no hass needed (overrides the package-wide autouse fixture)."""


async def collect(gen: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in gen])


async def test_wav_file_same_rate_is_bit_exact(tmp_path: Path) -> None:
    pcm = tone(0.4, 16000)
    path = tmp_path / "a.wav"
    path.write_bytes(wav(pcm, 16000, list_chunk=True))
    assert await collect(ffmpeg_pcm(BINARY, str(path), 16000)) == pcm


async def test_resamples_to_the_avatar_rate(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(wav(tone(0.5, 22050, freq=300), 22050))
    out = await collect(ffmpeg_pcm(BINARY, str(path), 24000))
    assert abs(len(out) - 24000) <= 200  # 0.5 s at 24 kHz, 2 bytes per sample
    assert best_correlation(out, tone(0.5, 24000, freq=300), max_lag=50) > 0.99


async def test_mp3_over_http(media_server: MediaServer) -> None:
    out = await collect(ffmpeg_pcm(BINARY, media_server.url("/tone.mp3"), 16000))
    expected = media_server.mp3_reference_pcm
    # MP3 frames pad the end; the decoder keeps up to a couple of frames of silence.
    assert len(expected) <= len(out) <= len(expected) + 0.15 * 16000 * 2
    assert best_correlation(out, expected) > 0.95


async def test_bytes_through_stdin(media_server: MediaServer) -> None:
    async def source() -> AsyncIterator[bytes]:
        for part in split(media_server.mp3, (1000, 17, 4096)):
            yield part

    out = await collect(ffmpeg_pcm(BINARY, source(), 16000))
    assert best_correlation(out, media_server.mp3_reference_pcm) > 0.95


async def test_not_found_hides_the_query(media_server: MediaServer) -> None:
    url = media_server.url("/missing.mp3?authSig=SECRETSIG")
    with pytest.raises(FfmpegError) as info:
        await collect(ffmpeg_pcm(BINARY, url, 16000))
    assert info.value.kind is FfmpegErrorKind.NOT_FOUND
    assert "404" in str(info.value)
    assert "SECRETSIG" not in str(info.value)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/notes.txt", FfmpegErrorKind.NOT_AUDIO),
        ("/picture.png", FfmpegErrorKind.NOT_AUDIO),
        ("/empty.wav", FfmpegErrorKind.NO_AUDIO),
        ("/forbidden.mp3", FfmpegErrorKind.FETCH_FAILED),
    ],
)
async def test_bad_media(media_server: MediaServer, path: str, kind: FfmpegErrorKind) -> None:
    with pytest.raises(FfmpegError) as info:
        await collect(ffmpeg_pcm(BINARY, media_server.url(path), 16000))
    assert info.value.kind is kind


async def test_connection_refused(socket_enabled: None, unused_tcp_port: int) -> None:
    with pytest.raises(FfmpegError) as info:
        await collect(ffmpeg_pcm(BINARY, f"http://127.0.0.1:{unused_tcp_port}/a.mp3", 16000))
    assert info.value.kind is FfmpegErrorKind.FETCH_FAILED


async def test_missing_file_and_binary(tmp_path: Path) -> None:
    with pytest.raises(FfmpegError) as info:
        await collect(ffmpeg_pcm(BINARY, str(tmp_path / "nope.wav"), 16000))
    assert info.value.kind is FfmpegErrorKind.NOT_FOUND
    with pytest.raises(FfmpegError) as info:
        await collect(ffmpeg_pcm(str(tmp_path / "no-ffmpeg"), str(tmp_path / "a.wav"), 16000))
    assert info.value.kind is FfmpegErrorKind.FAILED


async def test_stalled_source_times_out(media_server: MediaServer) -> None:
    with pytest.raises(FfmpegError) as info:
        await collect(ffmpeg_pcm(BINARY, media_server.url("/stall.mp3"), 16000, idle_timeout=0.3))
    assert info.value.kind is FfmpegErrorKind.TIMEOUT


class _Spy:
    """Remember the processes ffmpeg_pcm starts."""

    def __init__(self) -> None:
        self.processes: list[asyncio.subprocess.Process] = []
        self._real = asyncio.create_subprocess_exec

    async def __call__(self, *args: object, **kwargs: object) -> asyncio.subprocess.Process:
        process = await self._real(*args, **kwargs)  # type: ignore[arg-type]
        self.processes.append(process)
        return process


async def test_close_kills_ffmpeg_and_streams(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    path.write_bytes(wav(tone(20.0, 16000), 16000))
    spy = _Spy()
    with patch("asyncio.create_subprocess_exec", spy):
        gen = ffmpeg_pcm(BINARY, str(path), 16000, chunk_size=1024)
        first = await anext(gen)
        assert first
        # ffmpeg is now blocked on a full pipe: it streams, it did not decode everything.
        await gen.aclose()
    (process,) = spy.processes
    assert process.returncode is not None


async def test_cancel_kills_ffmpeg(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    path.write_bytes(wav(tone(20.0, 16000), 16000))
    spy = _Spy()
    started = asyncio.Event()

    async def consume() -> None:
        async with contextlib.aclosing(ffmpeg_pcm(BINARY, str(path), 16000)) as gen:
            async for _ in gen:
                started.set()
                await asyncio.sleep(10)

    with patch("asyncio.create_subprocess_exec", spy):
        task = asyncio.create_task(consume())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    (process,) = spy.processes
    assert process.returncode is not None


async def test_failed_stdin_source_stops_ffmpeg() -> None:
    async def source() -> AsyncIterator[bytes]:
        yield b"\0" * 10
        raise RuntimeError("engine broke")

    with pytest.raises((RuntimeError, FfmpegError)):
        await collect(ffmpeg_pcm(BINARY, source(), 16000, input_options=("-f", "s16le")))


def test_redact_source() -> None:
    assert redact_source("http://h/a.mp3?authSig=abc x") == "http://h/a.mp3?… x"
    assert redact_source("plain /path") == "plain /path"

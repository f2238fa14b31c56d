"""Deterministic test audio: PCM signals, WAV builders in the shapes HA produces, comparisons."""

from __future__ import annotations

import hashlib
import struct

import numpy as np

UNKNOWN = 0xFFFFFFFF


def tone(seconds: float, sample_rate: int, *, freq: float = 440.0, amplitude: int = 12000) -> bytes:
    """s16le mono sine."""
    count = round(seconds * sample_rate)
    t = np.arange(count) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


def message_pcm(message: str, sample_rate: int, seconds: float = 0.3) -> bytes:
    """The PCM the test TTS engine speaks for a message: a tone whose pitch encodes it."""
    digest = hashlib.sha256(message.encode()).digest()
    freq = 200.0 + int.from_bytes(digest[:2], "big") % 1800
    return tone(seconds, sample_rate, freq=freq)


def fmt_chunk(
    sample_rate: int, *, channels: int = 1, bits: int = 16, tag: int = 1, extra: bytes = b""
) -> bytes:
    block_align = channels * bits // 8
    body = struct.pack(
        "<HHIIHH", tag, channels, sample_rate, sample_rate * block_align, block_align, bits
    )
    body += extra
    return chunk(b"fmt ", body)


def chunk(chunk_id: bytes, body: bytes, *, size: int | None = None) -> bytes:
    """A RIFF chunk, padded to an even length."""
    declared = len(body) if size is None else size
    pad = b"\0" if len(body) % 2 else b""
    return chunk_id + struct.pack("<I", declared) + body + pad


def wav(
    pcm: bytes,
    sample_rate: int,
    *,
    list_chunk: bool = False,
    unknown_sizes: bool = False,
    zero_data_size: bool = False,
    fmt: bytes | None = None,
    trailer: bytes = b"",
    magic: bytes = b"RIFF",
) -> bytes:
    """A WAV file in one of the shapes seen in the wild.

    list_chunk: the LIST/INFO chunk ffmpeg (and so HA 2025.4) writes between fmt and data.
    unknown_sizes: RIFF and data sizes 0xFFFFFFFF, as a streaming writer emits.
    """
    body = fmt if fmt is not None else fmt_chunk(sample_rate)
    if list_chunk:
        body += chunk(b"LIST", b"INFOISFT" + struct.pack("<I", 14) + b"Lavf59.27.100\0")
    if unknown_sizes:
        body += b"data" + struct.pack("<I", UNKNOWN) + pcm
    elif zero_data_size:
        body += b"data" + struct.pack("<I", 0) + pcm
    else:
        body += chunk(b"data", pcm)
    body += trailer
    riff_size = UNKNOWN if unknown_sizes else 4 + len(body)
    return magic + struct.pack("<I", riff_size) + b"WAVE" + body


def split(data: bytes, sizes: tuple[int, ...]) -> list[bytes]:
    """Cut data into chunks of the given sizes, cycling."""
    out: list[bytes] = []
    position = 0
    index = 0
    while position < len(data):
        size = sizes[index % len(sizes)]
        out.append(data[position : position + size])
        position += size
        index += 1
    return out


def samples(pcm: bytes) -> np.ndarray[tuple[int, ...], np.dtype[np.float64]]:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def best_correlation(received: bytes, expected: bytes, max_lag: int = 2000) -> float:
    """Largest normalised correlation of the two signals over small lags (codec delay)."""
    a = samples(received)
    b = samples(expected)
    best = 0.0
    for lag in range(-max_lag, max_lag + 1, 1):
        if lag >= 0:
            x, y = a[lag:], b
        else:
            x, y = a, b[-lag:]
        n = min(len(x), len(y))
        if n < len(b) // 2:
            continue
        x, y = x[:n], y[:n]
        denom = float(np.sqrt(np.dot(x, x) * np.dot(y, y)))
        if denom:
            best = max(best, float(np.dot(x, y)) / denom)
    return best


def assert_same_pcm(received: bytes, expected: bytes) -> None:
    """Sample-exact equality with a short message (pytest's diff of large bytes is very slow)."""
    if received == expected:
        return
    first = next(
        (i for i, (a, b) in enumerate(zip(received, expected, strict=False)) if a != b),
        min(len(received), len(expected)),
    )
    message = (
        f"PCM differs: {len(received)} bytes received, {len(expected)} expected, "
        f"first difference at byte {first}"
    )
    raise AssertionError(message)

"""The incremental WAV unwrapper, fed in every chunking HA can produce."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import pytest

from custom_components.zego_digital_human.speech.ffmpeg import raw_input_options
from custom_components.zego_digital_human.speech.sources import _wav_payload
from custom_components.zego_digital_human.speech.wav import (
    WavError,
    WavErrorReason,
    WavFormatError,
    WavUnwrapper,
)

from .audio import chunk, fmt_chunk, split, tone, wav

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

RATE = 16000
PCM = tone(0.05, RATE)


def unwrap(data: bytes, sizes: tuple[int, ...], rate: int = RATE) -> bytes:
    unwrapper = WavUnwrapper(rate)
    out = bytearray()
    for part in split(data, sizes):
        piece = unwrapper.feed(part)
        assert len(piece) % 2 == 0  # whole samples only, whatever the chunking
        out += piece
    out += unwrapper.finish()
    assert unwrapper.pcm_bytes == len(out)
    return bytes(out)


def feed_bytewise(data: bytes) -> None:
    unwrapper = WavUnwrapper(RATE)
    for part in split(data, (1,)):
        unwrapper.feed(part)


SHAPES = {
    "canonical": wav(PCM, RATE),
    "list_chunk": wav(PCM, RATE, list_chunk=True),
    "unknown_sizes": wav(PCM, RATE, unknown_sizes=True),
    "list_and_unknown": wav(PCM, RATE, list_chunk=True, unknown_sizes=True),
    "zero_data_size": wav(PCM, RATE, zero_data_size=True),
    "fmt_with_cbsize": wav(PCM, RATE, fmt=fmt_chunk(RATE, extra=b"\0\0")),
    "odd_unknown_chunk": wav(PCM, RATE, fmt=fmt_chunk(RATE) + chunk(b"junk", b"abc")),
    "empty_chunk": wav(PCM, RATE, fmt=fmt_chunk(RATE) + chunk(b"fact", b"")),
    "trailing_chunk": wav(PCM, RATE, trailer=chunk(b"id3 ", b"tags after the audio")),
    "rf64": wav(PCM, RATE, magic=b"RF64", fmt=chunk(b"ds64", b"\0" * 28) + fmt_chunk(RATE)),
    "extensible": wav(
        PCM,
        RATE,
        fmt=fmt_chunk(
            RATE,
            tag=0xFFFE,
            extra=struct.pack("<HHI", 22, 16, 4)
            + struct.pack("<H", 1)
            + bytes.fromhex("000000001000800000aa00389b71"),
        ),
    ),
}
CHUNKINGS = {
    "whole": (1 << 20,),
    "bytes": (1,),
    "odd": (3, 7, 1, 44, 5),
    "header_split": (43, 2, 9, 1000),
}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("chunking", list(CHUNKINGS))
def test_unwraps_exact_pcm(shape: str, chunking: str) -> None:
    assert unwrap(SHAPES[shape], CHUNKINGS[chunking]) == PCM


def test_data_size_is_honoured_when_known() -> None:
    # A real size ends the audio even if bytes follow (the trailing chunk is not audio).
    data = wav(PCM, RATE, trailer=chunk(b"LIST", b"INFO" + b"x" * 10))
    assert unwrap(data, (5,)) == PCM


def test_odd_data_size_drops_half_sample() -> None:
    data = (
        b"RIFF" + struct.pack("<I", 0) + b"WAVE" + fmt_chunk(RATE) + chunk(b"data", PCM + b"\x01")
    )
    assert unwrap(data, (1,)) == PCM


def test_24k() -> None:
    pcm = tone(0.02, 24000)
    assert unwrap(wav(pcm, 24000, list_chunk=True), (13,), rate=24000) == pcm


def test_audio_started_flag() -> None:
    unwrapper = WavUnwrapper(RATE)
    data = wav(PCM, RATE, list_chunk=True)
    header = data.index(b"data") + 8
    assert unwrapper.feed(data[: header - 1]) == b""
    assert not unwrapper.audio_started
    assert unwrapper.feed(data[header - 1 : header]) == b""
    assert unwrapper.audio_started
    assert unwrapper.format is not None
    assert unwrapper.format.sample_rate == RATE


@pytest.mark.parametrize(
    ("fmt", "found"),
    [
        (fmt_chunk(22050), "22050 Hz"),
        (fmt_chunk(RATE, channels=2), "2 channel(s)"),
        (fmt_chunk(RATE, bits=8), "8-bit"),
        (fmt_chunk(RATE, bits=32, tag=3), "format 0x0003"),
        (fmt_chunk(RATE, tag=0xFFFE, extra=b"\0" * 24), "format 0xfffe"),
    ],
)
def test_wrong_format_is_a_typed_error(fmt: bytes, found: str) -> None:
    with pytest.raises(WavFormatError) as info:
        feed_bytewise(wav(PCM, RATE, fmt=fmt))
    assert info.value.reason is WavErrorReason.UNSUPPORTED_FORMAT
    assert found in str(info.value)
    assert f"{RATE} Hz" in str(info.value)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"ID3\x04\0\0\0\0\0\0" + b"\xff\xfb" * 20, WavErrorReason.NOT_RIFF),  # an mp3
        (b"RIFF\0\0\0\0AVI LIST", WavErrorReason.NOT_RIFF),
        (b"<html>not found</html>", WavErrorReason.NOT_RIFF),
        (b"RIFF\0\0\0\0WAVE" + chunk(b"data", PCM), WavErrorReason.MALFORMED),  # no fmt
        (b"RIFF\0\0\0\0WAVE" + b"fmt " + struct.pack("<I", 4) + b"abcd", WavErrorReason.MALFORMED),
        (
            b"RIFF\0\0\0\0WAVE" + fmt_chunk(RATE) + b"LIST" + struct.pack("<I", 0xFFFFFFFF),
            WavErrorReason.MALFORMED,
        ),
    ],
)
def test_corrupt_input(data: bytes, reason: WavErrorReason) -> None:
    with pytest.raises(WavError) as info:
        feed_bytewise(data)
    assert info.value.reason is reason


@pytest.mark.parametrize(
    "data",
    [b"", b"RIFF\0\0", wav(PCM, RATE)[:40], wav(PCM, RATE, list_chunk=True)[:60]],
)
def test_stream_ending_before_audio(data: bytes) -> None:
    unwrapper = WavUnwrapper(RATE)
    unwrapper.feed(data)
    with pytest.raises(WavError) as info:
        unwrapper.finish()
    assert info.value.reason is WavErrorReason.TRUNCATED


def test_empty_data_chunk_is_not_an_error_for_the_unwrapper() -> None:
    # No samples, but a well-formed file: the pipeline decides that "no audio" is an error.
    assert unwrap(wav(b"", RATE), (1,)) == b""


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Pure unit tests: no hass needed (overrides the package-wide autouse fixture)."""


@pytest.mark.parametrize("sizes", [(1 << 22,), (1,), (7, 5, 300, 1, 256)])
async def test_tts_stream_unwrapping(sizes: tuple[int, ...]) -> None:
    """The TTS source's own path: one huge chunk (HA 2025.4) or many small ones (2026)."""
    pcm = tone(0.6, RATE)  # larger than the slice the source feeds at once

    async def chunks() -> AsyncIterator[bytes]:
        for part in split(wav(pcm, RATE, list_chunk=True, unknown_sizes=True), sizes):
            yield part

    out = bytearray()
    unwrapper = WavUnwrapper(RATE)
    async for piece in _wav_payload(unwrapper, chunks(), label="tts.x", idle_timeout=5):
        assert len(piece) % 2 == 0
        out += piece
    assert bytes(out) == pcm


@pytest.mark.parametrize(
    ("fmt", "block", "expected"),
    [
        (fmt_chunk(22050), 2, ["-f", "s16le", "-ar", "22050", "-ac", "1"]),
        (
            fmt_chunk(24000, channels=2, bits=32, tag=3),
            8,
            ["-f", "f32le", "-ar", "24000", "-ac", "2"],
        ),
        (fmt_chunk(48000, channels=2, bits=24), 6, ["-f", "s24le", "-ar", "48000", "-ac", "2"]),
        (fmt_chunk(8000, bits=8, tag=7), 1, ["-f", "mulaw", "-ar", "8000", "-ac", "1"]),
    ],
    ids=["s16-22k", "float-stereo", "s24-stereo", "mulaw"],
)
def test_any_format_passes_through_for_conversion(
    fmt: bytes, block: int, expected: list[str]
) -> None:
    """Without an expected rate, foreign audio comes out whole frames, named for ffmpeg."""
    payload = bytes(range(256)) * 3 + b"\x01\x02\x03\x04\x05"  # not a whole frame at the end
    unwrapper = WavUnwrapper(None)
    out = bytearray()
    for part in split(wav(payload, 0, fmt=fmt), (3, 7, 11)):
        piece = unwrapper.feed(part)
        assert len(piece) % block == 0  # never a partial sample frame
        out += piece
    unwrapper.finish()
    whole = len(payload) - len(payload) % block
    assert bytes(out) == payload[:whole]
    assert unwrapper.format is not None
    assert not unwrapper.format.is_pcm16_mono(RATE)
    options = raw_input_options(unwrapper.format)
    assert options is not None
    assert options[:6] == expected


def test_formats_ffmpeg_cannot_read_raw_are_named() -> None:
    # IMA ADPCM: 4-bit samples in 256-byte blocks.
    ima = struct.pack("<HHIIHH", 0x0011, 1, 22050, 11100, 256, 4)
    adpcm = wav(b"\0" * 512, 0, fmt=chunk(b"fmt ", ima))
    unwrapper = WavUnwrapper(None)
    unwrapper.feed(adpcm)
    assert unwrapper.format is not None
    assert raw_input_options(unwrapper.format) is None
    with pytest.raises(WavFormatError, match="format 0x0011"):
        WavUnwrapper(RATE).feed(adpcm)

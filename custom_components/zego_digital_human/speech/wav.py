"""Incremental RIFF/WAVE unwrapper: WAV bytes in any chunking -> raw PCM out.

HA's TTS hands us WAV, but not always a 44-byte canonical header: 2025.4 inserts a
``LIST`` chunk before ``data``, newer releases stream many small chunks with the RIFF
and data sizes set to 0xFFFFFFFF. So the header is walked chunk by chunk, across any
chunk boundary, and a placeholder data size means "until the end of the stream".
Nothing is buffered beyond one chunk header or one ``fmt `` body.

Given no sample rate, any ``fmt `` is accepted and its audio passed through unchanged
(``format`` says what it is), so the caller can hand foreign PCM to a resampler.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
import struct
from typing import Final

__all__ = ["Codec", "WavError", "WavErrorReason", "WavFormat", "WavFormatError", "WavUnwrapper"]

_RIFF_HEADER_SIZE: Final = 12
_CHUNK_HEADER_SIZE: Final = 8
_FMT_MIN_SIZE: Final = 16
# A fmt chunk is 16, 18 or 40 bytes; anything far larger is not a WAV we can trust.
_FMT_MAX_SIZE: Final = 1024
# Both mean "size unknown" (a streaming writer could not seek back to fill it in).
_UNKNOWN_SIZES: Final = frozenset({0, 0xFFFFFFFF})

# Beyond these a fmt chunk is garbage, not an exotic recording.
_MAX_CHANNELS: Final = 64
_MAX_RATE: Final = 1_000_000

_WAVE_FORMAT_PCM: Final = 0x0001
_WAVE_FORMAT_IEEE_FLOAT: Final = 0x0003
_WAVE_FORMAT_ALAW: Final = 0x0006
_WAVE_FORMAT_MULAW: Final = 0x0007
_WAVE_FORMAT_EXTENSIBLE: Final = 0xFFFE
# The first two bytes of the KSDATAFORMAT_SUBTYPE_PCM GUID hold the format tag 1; the
# remaining 14 bytes are the fixed suffix shared by every "WAVE format tag as GUID".
_GUID_SUFFIX: Final = bytes.fromhex("000000001000800000aa00389b71")


class WavErrorReason(StrEnum):
    """Why a stream is not usable WAV; the pipeline maps each to a translation key."""

    NOT_RIFF = "not_riff"  # the bytes are not RIFF/WAVE at all
    MALFORMED = "malformed"  # a RIFF stream whose chunk layout is broken
    TRUNCATED = "truncated"  # the stream ended before the audio started
    UNSUPPORTED_FORMAT = "unsupported_format"  # valid WAV, but not s16le mono at our rate


class WavError(Exception):
    """The input is not a WAV stream we can play."""

    def __init__(self, reason: WavErrorReason, detail: str) -> None:
        """Store the machine-readable reason and a human sentence."""
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Codec(IntEnum):
    """The sample encodings a ``fmt `` chunk may name that anything here can read."""

    PCM = _WAVE_FORMAT_PCM
    IEEE_FLOAT = _WAVE_FORMAT_IEEE_FLOAT
    ALAW = _WAVE_FORMAT_ALAW
    MULAW = _WAVE_FORMAT_MULAW
    EXTENSIBLE = _WAVE_FORMAT_EXTENSIBLE


@dataclass(frozen=True, slots=True)
class WavFormat:
    """The audio format a ``fmt `` chunk declares."""

    format_tag: int
    channels: int
    sample_rate: int
    bits_per_sample: int
    block_align: int
    #: The encoding of the samples: format_tag, or for WAVE_FORMAT_EXTENSIBLE the tag in
    #: its sub-format GUID (None when that GUID is not a format tag).
    codec: int | None

    def is_pcm16_mono(self, sample_rate: int) -> bool:
        """Return True for 16-bit mono integer PCM at sample_rate: audio the avatar takes."""
        return (
            self.codec == Codec.PCM
            and self.channels == 1
            and self.bits_per_sample == 16
            and self.sample_rate == sample_rate
            and self.block_align == 2
        )

    def describe(self) -> str:
        """Return e.g. '16-bit, 1 channel(s), 22050 Hz, format 0x0001'."""
        return (
            f"{self.bits_per_sample}-bit, {self.channels} channel(s), "
            f"{self.sample_rate} Hz, format 0x{self.format_tag:04x}"
        )


class WavFormatError(WavError):
    """Valid WAV, but not 16-bit mono PCM at the expected rate."""

    def __init__(self, found: WavFormat, expected_rate: int) -> None:
        """Name what was found and what is needed."""
        super().__init__(
            WavErrorReason.UNSUPPORTED_FORMAT,
            f"expected 16-bit mono PCM at {expected_rate} Hz, got {found.describe()}",
        )
        self.found = found
        self.expected_rate = expected_rate


class _State(IntEnum):
    RIFF = 1  # waiting for "RIFF" <size> "WAVE"
    CHUNK_HEADER = 2  # waiting for <id> <size>
    FMT_BODY = 3  # collecting the fmt chunk body
    SKIP = 4  # discarding an uninteresting chunk (LIST, fact, ...)
    DATA = 5  # passing PCM through
    DONE = 6  # a sized data chunk ended; everything after it is ignored


class WavUnwrapper:
    """Feed WAV bytes in any chunking; get s16le mono PCM at ``sample_rate`` out.

    ``feed()`` returns the PCM contained in what it was given (possibly ``b""``) and
    always a whole number of sample frames (``block_align`` bytes), so callers never see
    half a sample. ``finish()`` must be called at the end of the stream: it raises if the
    audio never started. With ``sample_rate=None`` any format is accepted and returned as
    it is; read ``format`` once audio flows.
    """

    def __init__(self, sample_rate: int | None) -> None:
        """Expect 16-bit mono PCM at sample_rate (None: whatever the stream declares)."""
        self._expected_rate = sample_rate
        self._state = _State.RIFF
        self._buffer = bytearray()  # header bytes not yet parsed (bounded, see _FMT_MAX_SIZE)
        self._need = _RIFF_HEADER_SIZE
        self._skip = 0  # bytes left to discard in the current chunk (+ pad byte)
        self._data_left: int | None = None  # None: until the end of the stream
        self._odd: bytes = b""  # a trailing partial sample frame carried to the next feed
        self._align = 2  # bytes per sample frame, from the fmt chunk
        self.format: WavFormat | None = None
        self.pcm_bytes = 0

    @property
    def audio_started(self) -> bool:
        """Return True once the data chunk was reached."""
        return self._state in (_State.DATA, _State.DONE)

    def feed(self, chunk: bytes | memoryview) -> bytes:
        """Consume chunk and return the PCM it completes."""
        view = memoryview(chunk)
        out = bytearray()
        while view:
            if self._state is _State.DATA:
                view = self._take_data(view, out)
            elif self._state is _State.SKIP:
                step = min(self._skip, len(view))
                self._skip -= step
                view = view[step:]
                if self._skip == 0:
                    self._expect_chunk_header()
            elif self._state is _State.DONE:
                break
            else:
                view = self._take_header_bytes(view)
        return self._aligned(out)

    def finish(self) -> bytes:
        """Check that the stream held audio; return nothing more (a half sample is dropped)."""
        if self._state is _State.RIFF and not self._buffer:
            raise WavError(WavErrorReason.TRUNCATED, "the audio stream was empty")
        if not self.audio_started:
            raise WavError(WavErrorReason.TRUNCATED, "the WAV stream ended before its data chunk")
        # A trailing partial frame means the writer was cut off mid-sample.
        self._odd = b""
        return b""

    # -- internals ------------------------------------------------------------------------

    def _aligned(self, out: bytearray) -> bytes:
        if self._odd:
            out[0:0] = self._odd
            self._odd = b""
        if cut := len(out) % self._align:
            self._odd = bytes(out[-cut:])
            del out[-cut:]
        self.pcm_bytes += len(out)
        return bytes(out)

    def _take_data(self, view: memoryview, out: bytearray) -> memoryview:
        if self._data_left is None:
            out += view
            return view[len(view) :]
        step = min(self._data_left, len(view))
        out += view[:step]
        self._data_left -= step
        if self._data_left == 0:
            # Trailing chunks (LIST, id3) after a sized data chunk carry no audio.
            self._state = _State.DONE
        return view[step:]

    def _take_header_bytes(self, view: memoryview) -> memoryview:
        step = min(self._need - len(self._buffer), len(view))
        self._buffer += view[:step]
        view = view[step:]
        if len(self._buffer) == self._need:
            block = bytes(self._buffer)
            self._buffer.clear()
            if self._state is _State.RIFF:
                self._parse_riff(block)
            elif self._state is _State.CHUNK_HEADER:
                self._parse_chunk_header(block)
            else:
                self._parse_fmt(block)
        return view

    def _expect_chunk_header(self) -> None:
        self._state = _State.CHUNK_HEADER
        self._need = _CHUNK_HEADER_SIZE

    def _parse_riff(self, block: bytes) -> None:
        magic, form = block[0:4], block[8:12]
        # RF64 is RIFF with 64-bit sizes in a ds64 chunk, which we skip like any other.
        if magic not in (b"RIFF", b"RF64") or form != b"WAVE":
            raise WavError(WavErrorReason.NOT_RIFF, "the audio is not a RIFF/WAVE stream")
        self._expect_chunk_header()

    def _parse_chunk_header(self, block: bytes) -> None:
        chunk_id = block[0:4]
        (size,) = struct.unpack("<I", block[4:8])
        if chunk_id == b"data":
            if self.format is None:
                raise WavError(WavErrorReason.MALFORMED, "the WAV data chunk precedes fmt")
            self._state = _State.DATA
            self._data_left = None if size in _UNKNOWN_SIZES else size
            return
        if chunk_id == b"fmt ":
            if not _FMT_MIN_SIZE <= size <= _FMT_MAX_SIZE:
                raise WavError(
                    WavErrorReason.MALFORMED, f"the WAV fmt chunk has an invalid size {size}"
                )
            self._state = _State.FMT_BODY
            self._need = size + (size & 1)
            return
        if size == 0xFFFFFFFF:
            # Only data may have an unknown size; any other chunk would swallow the audio.
            raise WavError(
                WavErrorReason.MALFORMED,
                f"the WAV chunk {chunk_id!r} before the audio has no size",
            )
        self._state = _State.SKIP
        self._skip = size + (size & 1)  # chunks are padded to an even length
        if self._skip == 0:
            self._expect_chunk_header()

    def _parse_fmt(self, block: bytes) -> None:
        tag, channels, rate, _byte_rate, block_align, bits = struct.unpack(
            "<HHIIHH", block[:_FMT_MIN_SIZE]
        )
        codec: int | None = tag
        if tag == Codec.EXTENSIBLE:
            # cbSize(2) validBits(2) channelMask(4) subFormat GUID(16) follow.
            codec = None
            if len(block) >= 40 and block[26:40] == _GUID_SUFFIX:
                (codec,) = struct.unpack("<H", block[24:26])
        fmt = WavFormat(
            format_tag=tag,
            channels=channels,
            sample_rate=rate,
            bits_per_sample=bits,
            block_align=block_align,
            codec=codec,
        )
        expected = self._expected_rate
        if expected is not None and not fmt.is_pcm16_mono(expected):
            raise WavFormatError(fmt, expected)
        if not (0 < channels <= _MAX_CHANNELS and 0 < rate <= _MAX_RATE and block_align > 0):
            # Taken as is, such a header would have its "audio" resampled into noise.
            raise WavError(
                WavErrorReason.MALFORMED, f"the WAV fmt chunk is not plausible ({fmt.describe()})"
            )
        self.format = fmt
        self._align = block_align
        self._expect_chunk_header()

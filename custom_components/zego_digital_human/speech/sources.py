"""Speech sources: text (HA TTS) and media (media_source ids, URLs) -> PCM chunks.

Preparing a source validates everything that can be checked without producing audio
(engine, language, options, media id resolution), so a bad request fails before it
touches the avatar. ``pcm()`` then starts production (TTS synthesis, ffmpeg) and yields
s16le mono PCM at the avatar's rate as it arrives; nothing here holds a whole utterance.

TTS engines are asked for WAV and nothing more. Asking HA for a sample rate, channel
count or sample size makes it run ffmpeg over the engine's output even when the engine
already speaks that format, and HA 2025.4 does so only once synthesis has finished:
the first audio would wait for the last. So the WAV comes as the engine makes it, goes
straight through when it is already 16-bit mono at the avatar's rate, and otherwise
(Piper speaks at 22.05 kHz) through our own streaming ffmpeg.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
import contextlib
from functools import partial
import json
import logging
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components import ffmpeg as ha_ffmpeg, media_source, tts
from homeassistant.components.media_player.browse_media import async_process_play_media_url
from homeassistant.exceptions import HomeAssistantError
from yarl import URL

from .errors import (
    describe_source,
    ffmpeg_error,
    speech_error,
    validation_error,
    wav_error,
)
from .ffmpeg import DEFAULT_IDLE_TIMEOUT, FfmpegError, ffmpeg_pcm, raw_input_options
from .wav import WavError, WavFormatError, WavUnwrapper

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence

    from homeassistant.core import HomeAssistant

    from .target import SpeechConfig

__all__ = [
    "AudioSource",
    "FfmpegSource",
    "TtsSource",
    "create_tts_stream",
    "ffmpeg_binary",
    "prepare_media",
    "prepare_tts",
    "prepend",
]

_LOGGER = logging.getLogger(__name__)

# Generous: cloud engines can take seconds for a long sentence, but a dead engine must
# not hold the avatar's queue forever.
TTS_IDLE_TIMEOUT: Final = 60.0
# How much longer our resampler waits for output than the engine is given for input.
_CONVERTER_GRACE: Final = 5.0
# Largest piece of engine output unwrapped at once.
_SLICE: Final = 16384
_TTS_MEDIA_DOMAIN: Final = "tts"
_TTS_STREAM_PATH: Final = "-stream-"
_PREFERRED_KEYS: Final = frozenset(
    {
        tts.ATTR_PREFERRED_FORMAT,
        tts.ATTR_PREFERRED_SAMPLE_RATE,
        tts.ATTR_PREFERRED_SAMPLE_CHANNELS,
        tts.ATTR_PREFERRED_SAMPLE_BYTES,
    }
)


class AudioSource(ABC):
    """A prepared source of PCM for one speech request."""

    #: Secret-free description used in errors and logs.
    label: str
    #: What speech events say about the source: {"message": ...} or {"media_id": ...}.
    event_data: dict[str, Any]

    @abstractmethod
    def pcm(self) -> AsyncGenerator[bytes]:
        """Start producing and yield s16le mono PCM chunks (whole samples).

        Raises a translated HomeAssistantError when the source fails. Call once.
        """


# --- text ---------------------------------------------------------------------------------


class TtsSource(AudioSource):
    """A TTS result stream in WAV, played in the avatar's format."""

    def __init__(
        self,
        stream: tts.ResultStream,
        sample_rate: int,
        ffmpeg_binary: Callable[[], str],
        *,
        message: str | None,
        event_data: dict[str, Any],
        idle_timeout: float | None = None,
    ) -> None:
        """Wrap a result stream: created and given message here, or already started."""
        self._stream = stream
        self._message = message
        self._sample_rate = sample_rate
        self._ffmpeg_binary = ffmpeg_binary
        self._idle_timeout = TTS_IDLE_TIMEOUT if idle_timeout is None else idle_timeout
        # HA 2026.11 types a stream's engine as optional; ours are always created with one.
        self.label = stream.engine or "tts"
        self.event_data = event_data

    async def pcm(self) -> AsyncGenerator[bytes]:
        """Start synthesis (when the message is ours) and yield the audio as it comes."""
        if self._message is not None:
            # Synthesis starts here (HA loads the engine's audio in a background task).
            self._stream.async_set_message(self._message)
        unwrapper = WavUnwrapper(None)
        async with contextlib.aclosing(
            _wav_payload(
                unwrapper,
                self._stream.async_stream_result(),
                label=self.label,
                idle_timeout=self._idle_timeout,
            )
        ) as payload:
            first = await anext(payload, None)
            if first is None or unwrapper.format is None:
                return  # no samples at all: the pipeline reports the empty audio
            if unwrapper.format.is_pcm16_mono(self._sample_rate):
                yield first
                async for chunk in payload:
                    yield chunk
                return
            options = raw_input_options(unwrapper.format)
            if options is None:
                err = WavFormatError(unwrapper.format, self._sample_rate)
                raise wav_error(err, self.label) from err
            converter = FfmpegSource(
                self._ffmpeg_binary(),
                prepend(first, payload),
                self._sample_rate,
                label=self.label,
                event_data=self.event_data,
                input_options=options,
                # A stalled engine is reported as such (by the stdin feed) before ffmpeg's
                # silence would be.
                idle_timeout=self._idle_timeout + _CONVERTER_GRACE,
            )
            async with contextlib.aclosing(converter.pcm()) as converted:
                async for chunk in converted:
                    yield chunk


async def prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncGenerator[bytes]:
    """Yield first, then everything rest yields: a peeked chunk put back in front."""
    yield first
    async for chunk in rest:
        yield chunk


async def _engine_chunks(
    chunks: AsyncIterator[bytes], *, label: str, idle_timeout: float
) -> AsyncGenerator[bytes]:
    """Yield a TTS result stream's bytes, each wait bounded, engine errors translated."""
    try:
        while True:
            try:
                async with asyncio.timeout(idle_timeout):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            except TimeoutError as err:
                raise speech_error("tts_timeout", engine=label) from err
            except Exception as err:
                # Engines raise whatever they like; HA hands it to every consumer.
                raise speech_error("tts_failed", engine=label, error=_describe(err)) from err
            yield chunk
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


async def _wav_payload(
    unwrapper: WavUnwrapper,
    chunks: AsyncIterator[bytes],
    *,
    label: str,
    idle_timeout: float,
) -> AsyncGenerator[bytes]:
    """Yield the samples inside a TTS WAV stream, mapping every failure to a translated error.

    ``unwrapper.format`` names their format from the first chunk yielded.
    """
    async with contextlib.aclosing(
        _engine_chunks(chunks, label=label, idle_timeout=idle_timeout)
    ) as raw:
        async for chunk in raw:
            # HA 2025.4 hands over a whole utterance as one chunk: unwrap it in slices so
            # our own copies stay small (the session re-frames them anyway).
            view = memoryview(chunk)
            for start in range(0, len(view), _SLICE):
                try:
                    pcm = unwrapper.feed(view[start : start + _SLICE])
                except WavError as err:
                    raise wav_error(err, label) from err
                if pcm:
                    yield pcm
    try:
        unwrapper.finish()
    except WavError as err:
        raise wav_error(err, label) from err


def _describe(err: BaseException) -> str:
    return str(err) or type(err).__name__


def prepare_tts(
    hass: HomeAssistant,
    config: SpeechConfig,
    message: str,
    *,
    engine: str | None = None,
    language: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> TtsSource:
    """Validate a text request and create its TTS result stream (synthesis not started).

    The avatar's language and voice options apply when the engine is the avatar's own
    (named or by default); options given here win over the avatar's.
    """
    if not message or not message.strip():
        raise validation_error("empty_message")
    stream = create_tts_stream(hass, config, engine=engine, language=language, options=options)
    return TtsSource(
        stream,
        config.sample_rate,
        partial(_ffmpeg_binary, hass),
        message=message,
        event_data={"message": message},
    )


def create_tts_stream(
    hass: HomeAssistant,
    config: SpeechConfig,
    *,
    engine: str | None = None,
    language: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> tts.ResultStream:
    """Validate engine, language and options and create a WAV result stream, no message yet.

    The avatar's language and voice options apply when the engine is the avatar's own
    (named or by default); options given here win over the avatar's. The caller gives
    the stream its text (``async_set_message``, or a text stream on HA 2025.5+).
    """
    avatar_engine = tts.async_resolve_engine(hass, config.tts_engine)
    resolved = tts.async_resolve_engine(hass, engine or config.tts_engine)
    if resolved is None:
        if engine is None and config.tts_engine is None:
            raise validation_error("tts_no_engine")
        raise validation_error("tts_engine_not_found", engine=str(engine or config.tts_engine))
    merged: dict[str, Any] = {}
    if resolved == avatar_engine:
        merged.update(config.voice_options)
        language = language or config.language
    merged.update(options or {})
    return _create_wav_stream(hass, resolved, language, merged)


def ffmpeg_binary(hass: HomeAssistant) -> Callable[[], str]:
    """Return a getter of HA's ffmpeg binary (raises a translated error when missing)."""
    return partial(_ffmpeg_binary, hass)


def _create_wav_stream(
    hass: HomeAssistant,
    engine: str,
    language: str | None,
    options: Mapping[str, Any],
) -> tts.ResultStream:
    """Create a TTS result stream that asks for WAV only, with translated errors.

    Preferred-format options from the caller are dropped (see the module docstring):
    the avatar's format is ours to produce, and HA would transcode for them.
    """
    _check_engine_accepts(hass, engine, language, options)
    wanted = {k: v for k, v in options.items() if k not in _PREFERRED_KEYS}
    try:
        return tts.async_create_stream(
            hass, engine, language, {**wanted, tts.ATTR_PREFERRED_FORMAT: "wav"}
        )
    except HomeAssistantError as err:
        raise validation_error("tts_request_invalid", engine=engine, error=_describe(err)) from err


def _check_engine_accepts(
    hass: HomeAssistant, engine: str, language: str | None, options: Mapping[str, Any]
) -> None:
    """Name the exact problem (language, options) before HA's generic error would.

    Mirrors HA's own rule (language or the engine's default must be supported; every
    option must be supported or a preferred-format hint). The engine lookup is a TTS
    helper that is not in tts.__all__, so its absence only loses the precise message.
    """
    try:
        from homeassistant.components.tts.helper import get_engine_instance
    except ImportError:  # pragma: no cover - layout of a future HA
        return
    instance = get_engine_instance(hass, engine)
    if instance is None:
        raise validation_error("tts_engine_not_found", engine=engine)
    effective = language or instance.default_language
    supported = instance.supported_languages or []
    if effective is None or effective not in supported:
        raise validation_error(
            "tts_language_not_supported", engine=engine, language=str(effective or "")
        )
    allowed = set(instance.supported_options or []) | _PREFERRED_KEYS
    if invalid := sorted(str(key) for key in options if key not in allowed):
        raise validation_error(
            "tts_options_not_supported", engine=engine, options=", ".join(invalid)
        )


# --- media --------------------------------------------------------------------------------


class FfmpegSource(AudioSource):
    """A URL, file or byte stream decoded by HA's ffmpeg binary."""

    def __init__(
        self,
        binary: str,
        source: str | AsyncIterator[bytes],
        sample_rate: int,
        *,
        label: str,
        event_data: dict[str, Any],
        input_options: Sequence[str] = (),
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        """Describe the conversion; ffmpeg starts on the first read."""
        self._binary = binary
        self._source = source
        self._sample_rate = sample_rate
        self._input_options = input_options
        self._idle_timeout = idle_timeout
        self.label = label
        self.event_data = event_data

    async def pcm(self) -> AsyncGenerator[bytes]:
        """Run ffmpeg and yield its PCM, mapping failures to translated errors."""
        odd = b""
        try:
            async with contextlib.aclosing(
                ffmpeg_pcm(
                    self._binary,
                    self._source,
                    self._sample_rate,
                    input_options=self._input_options,
                    idle_timeout=self._idle_timeout,
                )
            ) as chunks:
                async for chunk in chunks:
                    # Pipe reads can split a sample; keep chunks whole-sample.
                    data = odd + chunk
                    cut = len(data) - len(data) % 2
                    odd = data[cut:]
                    if cut:
                        yield data[:cut]
        except FfmpegError as err:
            raise ffmpeg_error(err, self.label) from err
        except HomeAssistantError:
            raise  # translated already (a TTS stream feeding ffmpeg failed)
        except Exception as err:
            raise speech_error(
                "media_conversion_failed", source=self.label, error=_describe(err)
            ) from err


def _ffmpeg_binary(hass: HomeAssistant) -> str:
    try:
        return ha_ffmpeg.get_ffmpeg_manager(hass).binary
    except ValueError as err:  # the ffmpeg integration is not set up
        raise speech_error("ffmpeg_unavailable") from err


async def prepare_media(
    hass: HomeAssistant,
    config: SpeechConfig,
    media_id: str,
    *,
    entity_id: str | None = None,
) -> AudioSource:
    """Validate and resolve a media_source id or URL into a source.

    ``media-source://tts/<engine>?message=..`` ids are synthesised again as WAV (no MP3
    round trip); ``media-source://tts/-stream-/<token>`` ids read HA's
    result stream; other media_source ids are resolved (for ``entity_id``, the media
    player asking) and, like plain http(s) URLs and HA paths, decoded by ffmpeg.
    """
    media_id = media_id.strip()
    event_data = {"media_id": describe_source(media_id)}
    if not media_id:
        raise validation_error("unsupported_media", media_id="")
    if media_source.is_media_source_id(media_id):
        url = URL(media_id)
        if url.host == _TTS_MEDIA_DOMAIN:
            return _prepare_tts_media(hass, config, url, media_id, event_data)
        try:
            play = await media_source.async_resolve_media(hass, media_id, entity_id)
        except HomeAssistantError as err:
            raise validation_error(
                "media_unresolvable", media_id=describe_source(media_id), error=_describe(err)
            ) from err
        # HA 2026 gives local files a path: read it directly, no HTTP round trip.
        path = getattr(play, "path", None)
        location = f"file:{path}" if path is not None else _absolute_url(hass, play.url)
    elif media_id.startswith("/") or (
        # A URL without a host ("http:///a.wav") is malformed, not a failed fetch.
        (parsed := URL(media_id)).scheme in ("http", "https") and parsed.host
    ):
        location = _absolute_url(hass, media_id)
    else:
        raise validation_error("unsupported_media", media_id=describe_source(media_id))
    return FfmpegSource(
        _ffmpeg_binary(hass),
        location,
        config.sample_rate,
        label=describe_source(media_id),
        event_data=event_data,
    )


def _absolute_url(hass: HomeAssistant, url: str) -> str:
    """Make HA-relative URLs absolute and sign those that need auth."""
    try:
        return async_process_play_media_url(hass, url)
    except HomeAssistantError as err:
        raise speech_error(
            "media_unresolvable", media_id=describe_source(url), error=_describe(err)
        ) from err


def _prepare_tts_media(
    hass: HomeAssistant,
    config: SpeechConfig,
    url: URL,
    media_id: str,
    event_data: dict[str, Any],
) -> AudioSource:
    """Turn a TTS media id into a source at the avatar's format."""
    path = url.path.lstrip("/")
    if path.startswith(f"{_TTS_STREAM_PATH}/"):
        return _tts_result_stream_source(hass, config, path.partition("/")[2], event_data)
    query = url.query
    message = query.get("message")
    if not path or message is None:
        raise validation_error(
            "media_unresolvable",
            media_id=describe_source(media_id),
            error="a TTS media id needs an engine and a message",
        )
    options: Mapping[str, Any]
    if "tts_options" in query:
        try:
            loaded = json.loads(query["tts_options"])
        except json.JSONDecodeError as err:
            raise validation_error(
                "media_unresolvable", media_id=describe_source(media_id), error=err.msg
            ) from err
        if loaded is not None and not isinstance(loaded, dict):
            raise validation_error(
                "media_unresolvable",
                media_id=describe_source(media_id),
                error="tts_options is not an object",
            )
        options = loaded or {}
    else:
        # Old ids put the options straight into the query.
        options = {k: v for k, v in query.items() if k not in ("message", "language", "cache")}
    # HA resolves the engine when it builds the id, so the id names a concrete engine.
    source = prepare_tts(
        hass,
        config,
        message,
        engine=path,
        language=query.get("language"),
        options={k: v for k, v in options.items() if k not in _PREFERRED_KEYS},
    )
    source.event_data = {"message": message, **event_data}
    return source


def _tts_result_stream_source(
    hass: HomeAssistant,
    config: SpeechConfig,
    token: str,
    event_data: dict[str, Any],
) -> AudioSource:
    """Read an existing TTS result stream (2025.6+ ``-stream-`` ids)."""
    stream = tts.async_get_stream(hass, token)
    if stream is None:
        raise validation_error(
            "media_unresolvable",
            media_id=event_data["media_id"],
            error="the TTS stream has expired",
        )
    if stream.extension == "wav":
        return TtsSource(
            stream,
            config.sample_rate,
            partial(_ffmpeg_binary, hass),
            message=None,
            event_data=event_data,
        )
    # Another format: let ffmpeg decode the engine's bytes from stdin.
    label = stream.engine or "tts"
    return FfmpegSource(
        _ffmpeg_binary(hass),
        _engine_chunks(stream.async_stream_result(), label=label, idle_timeout=TTS_IDLE_TIMEOUT),
        config.sample_rate,
        label=label,
        event_data=event_data,
    )

"""Streamed text (an agent's answer as it is generated) -> one drive.

A ``TextFeed`` takes the answer's text pieces as the agent produces them; a
``StreamedTextSource`` turns them into PCM for one speech request, so the whole answer is
one DriveId on one WebSocket, however many sentences it has.

Two ways to synthesise, picked per answer:

- one TTS message stream (HA 2025.5+, ``ResultStream.async_set_message_stream``), when the
  engine takes streaming input (HA 2025.6+ says so; 2025.5 cannot tell, so it is assumed).
  The first text goes to the engine at the first sentence end or past
  ``STREAM_START_CHARS`` characters, whichever comes first, as HA's own pipeline does;
  everything after goes as it comes.
- sentence by sentence otherwise (HA 2025.4, and engines that would wait for the whole
  text): every sentence gets its own result stream as soon as its text is complete, so
  the engine works on the next sentences while the avatar says the first; their audio
  goes into the drive in order. Where the engine keeps up, there is no gap between
  sentences (the drive's pacing sees no stall).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import TYPE_CHECKING, Any, Final

from homeassistant.exceptions import HomeAssistantError

from .sources import AudioSource, TtsSource, create_tts_stream, ffmpeg_binary

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Mapping

    from homeassistant.components import tts
    from homeassistant.core import HomeAssistant

    from .target import SpeechConfig

__all__ = [
    "STREAM_START_CHARS",
    "StreamedTextSource",
    "TextFeed",
    "split_sentences",
]

# HA's pipeline starts streaming TTS after this many characters (STREAM_RESPONSE_CHARS).
STREAM_START_CHARS: Final = 60
# A sentence without an end (a list, a run-on answer) is cut at a space past this length,
# so the engine gets text before the agent has finished.
MAX_SENTENCE_CHARS: Final = 250

# An end mark followed by white space ends a sentence ("3.5" and "e.g." inside words do
# not); full-width marks end one at once (Chinese has no spaces); so does a line break.
_SENTENCE_END = re.compile(r"[.!?…;:](?=\s)|[。！？；]|\n")  # noqa: RUF001


def split_sentences(text: str) -> tuple[list[str], str]:
    """Return the complete sentences at the start of text (stripped) and the rest."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if sentence := text[start:end].strip():
            sentences.append(sentence)
        start = end
    rest = text[start:]
    while len(rest) > MAX_SENTENCE_CHARS and (cut := rest.rfind(" ", 0, MAX_SENTENCE_CHARS)) > 0:
        if piece := rest[:cut].strip():
            sentences.append(piece)
        rest = rest[cut:]
    return sentences, rest


class TextFeed:
    """The text of one answer, from the agent (push/end/fail) to its speech source."""

    def __init__(self) -> None:
        """Start empty and open."""
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._closed = False
        self.text = ""
        self.error: HomeAssistantError | None = None

    @property
    def closed(self) -> bool:
        """Return True once the answer ended or failed."""
        return self._closed

    def push(self, text: str) -> None:
        """Add a piece of the answer (ignored once closed)."""
        if text and not self._closed:
            self.text += text
            self._queue.put_nowait(text)

    def end(self) -> None:
        """Mark the answer complete."""
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(None)

    def fail(self, err: HomeAssistantError) -> None:
        """End the answer with an error: the source raises it where the text stops."""
        if not self._closed:
            self.error = err
            self.end()

    async def pieces(self) -> AsyncGenerator[str]:
        """Yield the pieces as they come; raise the feed's error at its end."""
        while (piece := await self._queue.get()) is not None:
            yield piece
        if self.error is not None:
            raise self.error


class StreamedTextSource(AudioSource):
    """The avatar's voice for text that is still being written."""

    def __init__(
        self,
        hass: HomeAssistant,
        config: SpeechConfig,
        feed: TextFeed,
        *,
        engine: str | None = None,
        language: str | None = None,
        options: Mapping[str, Any] | None = None,
        idle_timeout: float | None = None,
    ) -> None:
        """Validate the engine now (a bad one fails before the avatar is touched)."""
        self._hass = hass
        self._config = config
        self._feed = feed
        self._tts_args: dict[str, Any] = {
            "engine": engine,
            "language": language,
            "options": options,
        }
        self._idle_timeout = idle_timeout
        self._first = create_tts_stream(hass, config, **self._tts_args)
        self._binary: Callable[[], str] = ffmpeg_binary(hass)
        # HA 2026.11 types the engine as optional; a created stream always has one.
        self.label = self._first.engine or "tts"
        self.event_data: dict[str, Any] = {"message": ""}
        #: "stream" (one TTS message stream) or "sentences" (one result stream each).
        # HA 2025.5+ only; the feature is detected, not the version.
        self._set_message_stream: Callable[[AsyncGenerator[str]], None] | None = getattr(
            self._first, "async_set_message_stream", None
        )
        streams_input = getattr(self._first, "supports_streaming_input", True)
        self.mode = "stream" if self._set_message_stream and streams_input else "sentences"

    async def pcm(self) -> AsyncGenerator[bytes]:
        """Yield the answer's audio as the engine makes it; raise the feed's error."""
        chunks = self._stream_pcm() if self.mode == "stream" else self._sentence_pcm()
        try:
            async with contextlib.aclosing(chunks) as audio:
                async for chunk in audio:
                    yield chunk
        except HomeAssistantError:
            # An engine fed a failing text stream reports its own error: say the real one.
            if self._feed.error is not None:
                raise self._feed.error from None
            raise
        if self._feed.error is not None:
            raise self._feed.error

    async def _pieces(self) -> AsyncGenerator[str]:
        """Yield the feed's pieces; the events' message follows the text taken so far."""
        async for piece in self._feed.pieces():
            self.event_data["message"] = self._feed.text
            yield piece

    def _tts_source(self, stream: tts.ResultStream) -> TtsSource:
        return TtsSource(
            stream,
            self._config.sample_rate,
            self._binary,
            message=None,
            event_data=self.event_data,
            idle_timeout=self._idle_timeout,
        )

    async def _stream_pcm(self) -> AsyncGenerator[bytes]:
        """One message stream: the engine reads the text as the agent writes it."""

        async def text() -> AsyncGenerator[str]:
            held = ""
            started = False
            async for piece in self._pieces():
                if started:
                    yield piece
                    continue
                held += piece
                if len(held) > STREAM_START_CHARS or split_sentences(held)[0]:
                    started = True
                    yield held
            if not started and held:
                yield held

        if self._set_message_stream is None:  # pragma: no cover - mode says otherwise
            raise RuntimeError("no TTS message streams in this Home Assistant")
        self._set_message_stream(text())
        async with contextlib.aclosing(self._tts_source(self._first).pcm()) as audio:
            async for chunk in audio:
                yield chunk

    async def _sentence_pcm(self) -> AsyncGenerator[bytes]:
        """A result stream per sentence, synthesised ahead, played in order."""
        streams: asyncio.Queue[tts.ResultStream | None] = asyncio.Queue()

        async def produce() -> None:
            first: tts.ResultStream | None = self._first
            rest = ""
            try:
                async for piece in self._pieces():
                    sentences, rest = split_sentences(rest + piece)
                    for sentence in sentences:
                        self._start(first, sentence, streams)
                        first = None
                if rest.strip():
                    self._start(first, rest.strip(), streams)
            finally:
                streams.put_nowait(None)

        producer = asyncio.create_task(produce(), name="zego streamed text")
        try:
            while (stream := await streams.get()) is not None:
                async with contextlib.aclosing(self._tts_source(stream).pcm()) as audio:
                    async for chunk in audio:
                        yield chunk
            await producer  # the feed's error, if any, surfaces here
        finally:
            if not producer.done():
                producer.cancel()
            with contextlib.suppress(asyncio.CancelledError, HomeAssistantError):
                await producer

    def _start(
        self,
        first: tts.ResultStream | None,
        sentence: str,
        streams: asyncio.Queue[tts.ResultStream | None],
    ) -> None:
        """Start synthesising sentence now; the first sentence uses the validated stream."""
        stream = first or create_tts_stream(self._hass, self._config, **self._tts_args)
        stream.async_set_message(sentence)
        streams.put_nowait(stream)

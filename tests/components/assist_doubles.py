"""Test doubles for the Assist tests, registered through HA's real machinery.

- ``tts.assist_stream``: a TTS engine that takes streaming text input (HA 2025.6+ asks
  ``async_supports_streaming_input``) and speaks each sentence as soon as its text is
  complete, after ``latency`` seconds: a tone whose pitch encodes the sentence.
- ``conversation.scripted``: an LLM-like agent that streams a scripted answer into the
  chat log, deltas apart by ``delay`` seconds, with a real tool call in the middle
  (through an LLM API of its own), or fails when told to.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from homeassistant.components import conversation, tts
from homeassistant.components.tts import TextToSpeechEntity
from homeassistant.components.tts.entity import TTSAudioRequest, TTSAudioResponse
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.const import MATCH_ALL
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import intent, llm
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from custom_components.zego_digital_human.speech.streamed import split_sentences
from tests.speech.audio import message_pcm, wav

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddEntitiesCallback
    from homeassistant.util.json import JsonObjectType

DOUBLES_DOMAIN = "assist_doubles"
STREAM_ENGINE = "tts.assist_stream"
AGENT = "conversation.scripted"
API_ID = "assist_doubles_clock"
RATE = 16000

# The scripted answer: text, a tool call, more text. Spoken, it is these sentences.
ANSWER_PARTS: tuple[tuple[str, ...], ...] = (
    ("Hello there. ", "Let me check", " the time."),
    ("It is noon.", " Have a", " nice day."),
)
SPOKEN_SENTENCES = ("Hello there.", "Let me check the time.", "It is noon.", "Have a nice day.")


def answer_pcm(seconds: float, sentences: tuple[str, ...] = SPOKEN_SENTENCES) -> bytes:
    """The audio the stream engine makes for the scripted answer, sentence after sentence."""
    return b"".join(message_pcm(sentence, RATE, seconds) for sentence in sentences)


@dataclass
class AssistLog:
    """What the doubles did (loop.time() stamps) and how they behave."""

    latency: float = 0.0
    seconds: float = 0.6
    delay: float = 0.02
    fail: bool = False
    sentences: list[str] = field(default_factory=list)
    audio_at: list[float] = field(default_factory=list)
    text_inputs: list[list[str]] = field(default_factory=list)
    deltas_at: list[float] = field(default_factory=list)
    tool_calls: int = 0
    answers: int = 0


class StreamingInputTTS(TextToSpeechEntity):
    """Speaks each sentence of a text stream as soon as it is complete."""

    _attr_has_entity_name = False
    _attr_name = "assist_stream"
    _attr_unique_id = "assist_stream"
    _attr_supported_languages = ["en-US"]  # noqa: RUF012
    _attr_default_language = "en-US"
    _attr_supported_options = [tts.ATTR_PREFERRED_FORMAT]  # noqa: RUF012

    def __init__(self, log: AssistLog) -> None:
        """Log into log."""
        self._log = log

    def async_supports_streaming_input(self) -> bool:
        """Take text as it comes (HA 2025.6+ asks)."""
        return True

    async def async_stream_tts_audio(self, request: TTSAudioRequest) -> TTSAudioResponse:
        """Answer with a streaming WAV whose audio follows the text."""
        return TTSAudioResponse("wav", self._audio(request.message_gen))

    async def _audio(self, message_gen: AsyncGenerator[str]) -> AsyncGenerator[bytes]:
        loop = asyncio.get_running_loop()
        yield wav(b"", RATE, unknown_sizes=True)
        inputs: list[str] = []
        self._log.text_inputs.append(inputs)
        rest = ""
        async for text in message_gen:
            inputs.append(text)
            sentences, rest = split_sentences(rest + text)
            for sentence in sentences:
                yield await self._speak(sentence, loop)
        if rest.strip():
            yield await self._speak(rest.strip(), loop)

    async def _speak(self, sentence: str, loop: asyncio.AbstractEventLoop) -> bytes:
        if self._log.latency:
            await asyncio.sleep(self._log.latency)
        self._log.sentences.append(sentence)
        self._log.audio_at.append(loop.time())
        return message_pcm(sentence, RATE, self._log.seconds)


class ClockTool(llm.Tool):
    """The tool the scripted agent calls in the middle of its answer."""

    name = "get_time"
    description = "Tell the time"

    def __init__(self, log: AssistLog) -> None:
        """Count calls into log."""
        self._log = log

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> Any:
        """Return noon, a little later."""
        self._log.tool_calls += 1
        await asyncio.sleep(self._log.delay)
        # HA 2026.11 deprecates a plain JSON object as a tool's result; older HA has no ToolResult.
        result: JsonObjectType = {"time": "12:00"}
        tool_result = getattr(llm, "ToolResult", None)
        return result if tool_result is None else tool_result(data=result)


class ClockAPI(llm.API):
    """An LLM API with one tool."""

    def __init__(self, hass: HomeAssistant, log: AssistLog) -> None:
        """Register as API_ID."""
        super().__init__(hass=hass, id=API_ID, name="Assist doubles clock")
        self._log = log

    async def async_get_api_instance(self, llm_context: llm.LLMContext) -> llm.APIInstance:
        """Offer the clock."""
        tools: list[llm.Tool] = [ClockTool(self._log)]
        return llm.APIInstance(
            api=self, api_prompt="Use the clock.", llm_context=llm_context, tools=tools
        )


class ScriptedAgent(conversation.ConversationEntity):
    """Streams ANSWER_PARTS into the chat log like an LLM agent, a tool call between."""

    _attr_has_entity_name = False
    _attr_name = "scripted"
    _attr_unique_id = "scripted"
    _attr_supports_streaming = True

    def __init__(self, log: AssistLog) -> None:
        """Log into log."""
        self._log = log

    @property
    def supported_languages(self) -> Literal["*"]:
        """Return every language."""
        return MATCH_ALL

    async def _async_handle_message(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        self._log.answers += 1
        if hasattr(chat_log, "async_provide_llm_data"):  # HA 2025.7+
            await chat_log.async_provide_llm_data(
                user_input.as_llm_context(DOUBLES_DOMAIN), API_ID, None, None
            )
        else:
            await chat_log.async_update_llm_data(DOUBLES_DOMAIN, user_input, API_ID, None)
        async for _content in chat_log.async_add_delta_content_stream(
            self.entity_id, self._deltas(user_input.text)
        ):
            pass
        last = chat_log.content[-1]
        response = intent.IntentResponse(language=user_input.language)
        response.async_set_speech(str(getattr(last, "content", "") or ""))
        return conversation.ConversationResult(
            response=response, conversation_id=chat_log.conversation_id
        )

    async def _deltas(self, question: str) -> AsyncGenerator[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        first, second = ANSWER_PARTS
        yield {"role": "assistant"}
        for piece in first:
            await asyncio.sleep(self._log.delay)
            self._log.deltas_at.append(loop.time())
            yield {"content": piece}
            if self._log.fail:
                raise HomeAssistantError("the model went away")
        yield {"tool_calls": [llm.ToolInput(tool_name="get_time", tool_args={}, id="call-1")]}
        yield {"role": "assistant"}
        for piece in second:
            await asyncio.sleep(self._log.delay)
            self._log.deltas_at.append(loop.time())
            yield {"content": piece}


class _DoublesFlow(ConfigFlow):
    """The config flow HA insists the test integration has."""

    VERSION = 1


@asynccontextmanager
async def assist_doubles(hass: HomeAssistant, config_dir: str) -> AsyncIterator[AssistLog]:
    """Set up tts, conversation, the streaming engine and the scripted agent.

    Use before the integration loads (the TTS cache must land in config_dir).
    """
    log = AssistLog()

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, ["tts", "conversation"])
        return True

    async def unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        return await hass.config_entries.async_unload_platforms(entry, ["tts", "conversation"])

    async def tts_setup(
        hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddEntitiesCallback
    ) -> None:
        async_add_entities([StreamingInputTTS(log)])

    async def agent_setup(
        hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddEntitiesCallback
    ) -> None:
        async_add_entities([ScriptedAgent(log)])

    mock_integration(
        hass,
        MockModule(DOUBLES_DOMAIN, async_setup_entry=setup_entry, async_unload_entry=unload_entry),
        # A custom integration, like the test TTS engines: HA 2026.11 fails built-in ones whose
        # async_setup_entry returns a bool, while 2025.4.4 requires one.
        built_in=False,
    )
    mock_platform(hass, f"{DOUBLES_DOMAIN}.tts", MockPlatform(async_setup_entry=tts_setup))
    mock_platform(
        hass, f"{DOUBLES_DOMAIN}.conversation", MockPlatform(async_setup_entry=agent_setup)
    )
    mock_platform(hass, f"{DOUBLES_DOMAIN}.config_flow", None)
    hass.config.config_dir = config_dir
    for domain in ("homeassistant", "ffmpeg", "tts", "media_source", "conversation"):
        assert await async_setup_component(hass, domain, {})
    llm.async_register_api(hass, ClockAPI(hass, log))
    with mock_config_flow(DOUBLES_DOMAIN, _DoublesFlow):
        entry = MockConfigEntry(domain=DOUBLES_DOMAIN)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert hass.states.get(STREAM_ENGINE) is not None
        assert hass.states.get(AGENT) is not None
        yield log

"""Section "assist": the avatar voicing a streamed agent answer, beside HA's own pipeline.

Both sides hear the same scripted streaming agent (deltas 50 ms apart, sentences of one
second of speech) and the same streaming-input TTS engine (0 or 300 ms per sentence):

- avatar: the avatar's conversation agent (take over) wraps the scripted agent; the
  figure is the emulator's first audio frame minus the agent's first content delta.
- HA: HA's pipeline (intent -> tts, WAV as the engine makes it: HA's best case, no
  resampling) with the scripted agent; the figure is the first audio byte a satellite
  reading the run's TTS stream from run-start gets, minus the agent's first content
  delta. No network to a device is counted on HA's side, the whole ZEGO drive on ours.

Underruns are the emulator's stutter count inside the avatar's one drive per answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import inspect
import itertools
import math
import struct
from typing import TYPE_CHECKING, Any, Literal

from homeassistant.components import conversation, tts
from homeassistant.components.tts import TextToSpeechEntity
from homeassistant.components.tts.entity import TTSAudioRequest, TTSAudioResponse
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.const import MATCH_ALL
from homeassistant.core import Context
from homeassistant.helpers import chat_session, intent
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    MockConfigEntry,
    MockModule,
    MockPlatform,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from custom_components.zego_digital_human.const import CONF_TTS_ENGINE, DOMAIN
from custom_components.zego_digital_human.speech.streamed import split_sentences
from zego_emulator import DriveStatus, EmulatorConfig, ZegoEmulator

from .env import RATE, bench_hass, wav_header
from .report import Results, Row, median

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddEntitiesCallback

    from .sections import Sizes

ASSIST_DOMAIN = "zego_bench_assist"
STREAM_ENGINE = "tts.zego_bench_stream"
SCRIPTED_AGENT = "conversation.zego_bench_scripted"
AVATAR_AGENT = "conversation.bench_1"
AGENT_SELECT = "select.bench_1_answering_agent"
LATENCIES = (0, 300)
DELTA_DELAY = 0.05
SENTENCE_SECONDS = 1.0
# Four sentences, cut mid-word as LLMs do; each run adds a number so no cache helps.
PIECES = (
    "Good morning",
    ", here is the plan. ",
    "The sun comes out",
    " at nine. Take ",
    "an umbrella anyway",
    ". Have a good day.",
)
_RUNS = itertools.count(1)


@dataclass
class AssistBench:
    """Shared state of the engine and the agent for one run."""

    latency: float = 0.0
    first_delta_at: float | None = None
    answers: list[str] = field(default_factory=list)


def _tone(text: str, seconds: float) -> bytes:
    freq = 200 + sum(text.encode()) % 1500
    count = round(seconds * RATE)
    return struct.pack(
        f"<{count}h", *(int(9000 * math.sin(2 * math.pi * freq * i / RATE)) for i in range(count))
    )


class BenchStreamTTS(TextToSpeechEntity):
    """Speaks every sentence once its text is complete, `latency` seconds later."""

    _attr_has_entity_name = False
    _attr_name = "zego_bench_stream"
    _attr_unique_id = "zego_bench_stream"
    _attr_supported_languages = ["en-US"]  # noqa: RUF012
    _attr_default_language = "en-US"
    _attr_supported_options = [tts.ATTR_PREFERRED_FORMAT]  # noqa: RUF012

    def __init__(self, bench: AssistBench) -> None:
        """Take latency from bench."""
        self._bench = bench

    def async_supports_streaming_input(self) -> bool:
        """Take text as it comes (HA 2025.6+ asks)."""
        return True

    async def async_stream_tts_audio(self, request: TTSAudioRequest) -> TTSAudioResponse:
        """A streaming WAV that follows the text."""
        return TTSAudioResponse("wav", self._audio(request.message_gen))

    async def _audio(self, message_gen: AsyncGenerator[str]) -> AsyncGenerator[bytes]:
        yield wav_header(0)  # sizes unknown: a streaming writer's header
        rest = ""
        async for text in message_gen:
            sentences, rest = split_sentences(rest + text)
            for sentence in sentences:
                yield await self._speak(sentence)
        if rest.strip():
            yield await self._speak(rest.strip())

    async def _speak(self, sentence: str) -> bytes:
        await asyncio.sleep(self._bench.latency)
        return _tone(sentence, SENTENCE_SECONDS)


class BenchScriptedAgent(conversation.ConversationEntity):
    """Streams PIECES into the chat log like an LLM agent."""

    _attr_has_entity_name = False
    _attr_name = "zego_bench_scripted"
    _attr_unique_id = "zego_bench_scripted"
    _attr_supports_streaming = True

    def __init__(self, bench: AssistBench) -> None:
        """Stamp the first delta into bench."""
        self._bench = bench

    @property
    def supported_languages(self) -> Literal["*"]:
        """Return every language."""
        return MATCH_ALL

    async def _async_handle_message(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        run = next(_RUNS)
        async for _content in chat_log.async_add_delta_content_stream(
            self.entity_id, self._deltas(run)
        ):
            pass
        response = intent.IntentResponse(language=user_input.language)
        response.async_set_speech(self._bench.answers[-1])
        return conversation.ConversationResult(
            response=response, conversation_id=chat_log.conversation_id
        )

    async def _deltas(self, run: int) -> AsyncGenerator[conversation.AssistantContentDeltaDict]:
        loop = asyncio.get_running_loop()
        pieces = (f"Run {run}. ", *PIECES)
        self._bench.answers.append("".join(pieces))
        yield {"role": "assistant"}
        for index, piece in enumerate(pieces):
            if index:
                await asyncio.sleep(DELTA_DELAY)
            else:
                self._bench.first_delta_at = loop.time()
            yield {"content": piece}


class _AssistFlow(ConfigFlow):
    VERSION = 1


async def _setup_doubles(hass: HomeAssistant, bench: AssistBench) -> None:
    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, ["tts", "conversation"])
        return True

    async def tts_setup(
        hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddEntitiesCallback
    ) -> None:
        async_add_entities([BenchStreamTTS(bench)])

    async def agent_setup(
        hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddEntitiesCallback
    ) -> None:
        async_add_entities([BenchScriptedAgent(bench)])

    # Custom, like the other benchmark engine: HA 2026.11 fails built-in integrations whose
    # async_setup_entry returns a bool, while 2025.4.4 requires one.
    mock_integration(hass, MockModule(ASSIST_DOMAIN, async_setup_entry=setup_entry), built_in=False)
    mock_platform(hass, f"{ASSIST_DOMAIN}.tts", MockPlatform(async_setup_entry=tts_setup))
    mock_platform(
        hass, f"{ASSIST_DOMAIN}.conversation", MockPlatform(async_setup_entry=agent_setup)
    )
    mock_platform(hass, f"{ASSIST_DOMAIN}.config_flow", None)
    with mock_config_flow(ASSIST_DOMAIN, _AssistFlow):
        entry = MockConfigEntry(domain=ASSIST_DOMAIN)
        entry.add_to_hass(hass)
        if not await hass.config_entries.async_setup(entry.entry_id):
            raise RuntimeError("the assist benchmark doubles did not set up")
        await hass.async_block_till_done()


async def _voice_avatar_with_stream_engine(hass: HomeAssistant) -> None:
    """Give avatar 1 the streaming engine (a subentry change reloads the entry)."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    subentry = next(iter(entry.subentries.values()))
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, CONF_TTS_ENGINE: STREAM_ENGINE}
    )
    await hass.async_block_till_done()
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": AGENT_SELECT, "option": "zego_bench_scripted"},
        blocking=True,
    )
    await hass.services.async_call(
        DOMAIN, "start_stream", {"entity_id": "media_player.bench_1"}, blocking=True
    )


async def _avatar_run(
    hass: HomeAssistant, emu: ZegoEmulator, bench: AssistBench
) -> tuple[float, int]:
    """Ask the avatar's agent; return (first delta -> first frame, underruns)."""
    before = len(emu.drives)
    await conversation.async_converse(
        hass,
        text="What is the plan?",
        conversation_id=None,
        context=Context(),
        agent_id=AVATAR_AGENT,
    )
    if len(emu.drives) <= before:
        for _ in range(500):
            await asyncio.sleep(0.01)
            if len(emu.drives) > before:
                break
    record = emu.drives[before]
    await emu.wait_for_drive(record.drive_id, status=DriveStatus.ENDED, timeout=30)
    if record.first_frame_at is None or bench.first_delta_at is None:
        raise RuntimeError("the avatar said nothing")
    if len(emu.drives) != before + 1:
        raise RuntimeError("the answer took more than one drive")
    return record.first_frame_at - bench.first_delta_at, record.underruns


async def _ha_run(hass: HomeAssistant, bench: AssistBench) -> float:
    """Run HA's own pipeline; return first delta -> first TTS audio byte for a satellite."""
    from homeassistant.components.assist_pipeline import (
        Pipeline,
        PipelineEvent,
        PipelineEventType,
    )
    from homeassistant.components.assist_pipeline.pipeline import (
        PipelineInput,
        PipelineRun,
        PipelineStage,
    )

    loop = asyncio.get_running_loop()
    first_audio: asyncio.Future[float] = loop.create_future()
    readers: list[asyncio.Task[None]] = []

    async def read(token: str) -> None:
        stream = tts.async_get_stream(hass, token)
        if stream is None:
            raise RuntimeError("the run's TTS stream is gone")
        received = 0
        async for chunk in stream.async_stream_result():
            received += len(chunk)
            if received > 44 and not first_audio.done():  # past the WAV header
                first_audio.set_result(loop.time())

    def on_event(event: PipelineEvent) -> None:
        if event.type is PipelineEventType.RUN_START and event.data:
            token = event.data["tts_output"]["token"]
            readers.append(hass.async_create_task(read(token)))

    pipeline = Pipeline.from_json(
        {
            "conversation_engine": SCRIPTED_AGENT,
            "conversation_language": "en",
            "id": "zego_bench_assist",
            "language": "en",
            "name": "bench",
            "stt_engine": None,
            "stt_language": None,
            "tts_engine": STREAM_ENGINE,
            "tts_language": "en-US",
            "tts_voice": None,
            "wake_word_entity": None,
            "wake_word_id": None,
        }
    )
    run = PipelineRun(
        hass,
        context=Context(),
        pipeline=pipeline,
        start_stage=PipelineStage.INTENT,
        end_stage=PipelineStage.TTS,
        event_callback=on_event,
        # WAV as the engine makes it: HA's best case. ("wav" would add 16 kHz mono, which
        # makes HA run ffmpeg over the engine's output, as Wyoming and VoIP get it.)
        tts_audio_output={tts.ATTR_PREFERRED_FORMAT: "wav"},
    )
    # A satellite acts for no user: HA 2026.x wants that said (context=None); 2025.4 has no
    # such parameter.
    session_kwargs: dict[str, Any] = (
        {"context": None}
        if "context" in inspect.signature(chat_session.async_get_chat_session).parameters
        else {}
    )
    with chat_session.async_get_chat_session(hass, **session_kwargs) as session:
        pipeline_input = PipelineInput(run=run, session=session, intent_input="What is the plan?")
        await pipeline_input.validate()
        await pipeline_input.execute()
    at = await asyncio.wait_for(first_audio, 30)
    for reader in readers:
        await reader
    if bench.first_delta_at is None:
        raise RuntimeError("the agent never answered")
    return at - bench.first_delta_at


async def section_assist(results: Results, sizes: Sizes) -> None:
    """First audio after the agent's first delta, avatar vs HA; underruns mid-answer."""
    bench = AssistBench()
    config = EmulatorConfig(port=0, time_scale=0.01, ws_tls=True)
    avatar: dict[int, list[float]] = {latency: [] for latency in LATENCIES}
    ha: dict[int, list[float]] = {latency: [] for latency in LATENCIES}
    underruns: dict[int, int] = dict.fromkeys(LATENCIES, 0)
    async with (
        ZegoEmulator(config) as emu,
        bench_hass(
            app_id=config.app_id,
            server_secret=config.server_secret,
            endpoint=emu.endpoint,
            avatars=1,
        ) as (hass, _log),
    ):
        await _setup_doubles(hass, bench)
        await _voice_avatar_with_stream_engine(hass)
        await _avatar_run(hass, emu, bench)  # warm-up: imports, connections
        await _ha_run(hass, bench)
        # Interleaved, so load from other users of the machine hits both alike.
        for _ in range(sizes.ttfa_runs):
            for latency in LATENCIES:
                bench.latency = latency / 1000
                seconds, stutters = await _avatar_run(hass, emu, bench)
                avatar[latency].append(seconds)
                underruns[latency] += stutters
                ha[latency].append(await _ha_run(hass, bench))
        # HA's TTS cache writes its files from background tasks: let them land before
        # the config directory is removed.
        await hass.async_block_till_done(wait_background_tasks=True)
    s = "6 assist"
    for latency in LATENCIES:
        ours, theirs = median(avatar[latency]) * 1000, median(ha[latency]) * 1000
        results.add(
            Row(
                s,
                f"avatar first audio after first delta {latency}ms engine p50",
                round(ours, 1),
                "ms",
                round(theirs, 1),
                "HA pipeline p50",
                "<= HA + 20 ms",
                ours <= theirs + 20,
            )
        )
        results.add(
            Row(
                s,
                f"underruns between sentences {latency}ms engine",
                underruns[latency],
                "count",
                target="0",
                passed=underruns[latency] == 0,
            )
        )
    streams = hasattr(tts.ResultStream, "async_set_message_stream")
    results.notes.append(
        f"assist: {sizes.ttfa_runs} answers per engine, 7 sentences of {SENTENCE_SECONDS:g} s, "
        f"deltas {DELTA_DELAY * 1000:g} ms apart; avatar path: "
        f"{'one TTS message stream' if streams else 'one result stream per sentence'}; HA's "
        "figure is the first TTS byte a satellite reading from run-start gets."
    )

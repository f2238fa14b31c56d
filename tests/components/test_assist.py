"""The avatar as Assist's face, through HA's real machinery, against the emulator.

- assist_satellite.announce: the pipeline's engine speaks through the avatar, sample-exact;
  the satellite is responding while the avatar speaks and the call returns once said.
- the avatar's conversation agent wraps a scripted streaming LLM agent (deltas apart, a
  tool call in the middle) and a streaming-input TTS engine: first audio while the agent
  still writes, the whole answer in order in ONE drive, no underrun; take over silences
  the pipeline's TTS, mirror does not; a second question interrupts; a failing agent
  gives a readable answer and a speech_failed event.

HA 2025.5+ (a TTS message stream) and 2025.4 (a result stream per sentence) take the
paths their features allow; the tests check which one ran.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from homeassistant.components import tts
from homeassistant.components.assist_satellite import AssistSatelliteEntityFeature
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import callback
from homeassistant.helpers.event import async_track_state_change_event
import pytest

from tests.speech.audio import assert_same_pcm, message_pcm
from zego_emulator import DriveRecord, DriveStatus

from .assist_doubles import (
    SPOKEN_SENTENCES,
    STREAM_ENGINE,
    AssistLog,
    answer_pcm,
    assist_doubles,
)
from .conftest import avatar_subentry, managed_avatar_data

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from homeassistant.core import Event, EventStateChangedData, HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from pytest_homeassistant_custom_component.typing import WebSocketGenerator

    from zego_emulator import ZegoEmulator

SATELLITE = "assist_satellite.lobby"
AVATAR_AGENT = "conversation.lobby"
PIPELINE_SELECT = "select.lobby_assistant"
AGENT_SELECT = "select.lobby_answering_agent"
MODE_SELECT = "select.lobby_assist_voice"
RATE = 16000
MESSAGE_STREAMS = hasattr(tts.ResultStream, "async_set_message_stream")


@pytest.fixture
def subentries_data() -> list[dict[str, Any]]:
    """One managed avatar whose own engine is the streaming-input engine."""
    return [avatar_subentry(managed_avatar_data(tts_engine=STREAM_ENGINE))]


@pytest.fixture
async def assist_log(hass: HomeAssistant, tmp_path: Path) -> AsyncIterator[AssistLog]:
    """The streaming engine and the scripted agent, set up before the integration."""
    async with assist_doubles(hass, str(tmp_path)) as log:
        yield log


@pytest.fixture
async def avatar(
    hass: HomeAssistant, assist_log: AssistLog, mock_config_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """The integration loaded with its avatar; unloaded (sockets closed) afterwards."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    yield mock_config_entry
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()


async def _create_pipeline(
    hass_ws_client: WebSocketGenerator, hass: HomeAssistant, *, agent: str
) -> str:
    """Create a pipeline with agent and the streaming engine through the websocket API."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "assist_pipeline/pipeline/create",
            "conversation_engine": agent,
            "conversation_language": "en",
            "language": "en",
            "name": "Avatar voice",
            "stt_engine": None,
            "stt_language": None,
            "tts_engine": STREAM_ENGINE,
            "tts_language": "en-US",
            "tts_voice": None,
            "wake_word_entity": None,
            "wake_word_id": None,
        }
    )
    msg = await client.receive_json()
    assert msg["success"], msg
    return str(msg["result"]["id"])


async def _run_pipeline(
    hass_ws_client: WebSocketGenerator, hass: HomeAssistant, pipeline_id: str, text: str
) -> list[dict[str, Any]]:
    """Ask text through HA's pipeline (intent -> tts), as the Assist dialog does."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "assist_pipeline/run",
            "start_stage": "intent",
            "end_stage": "tts",
            "input": {"text": text},
            "pipeline": pipeline_id,
        }
    )
    msg = await client.receive_json()
    assert msg["success"], msg
    events: list[dict[str, Any]] = []
    while True:
        msg = await client.receive_json()
        events.append(msg["event"])
        if msg["event"]["type"] in ("run-end", "error"):
            return events


async def _select(hass: HomeAssistant, entity_id: str, option: str) -> None:
    await hass.services.async_call(
        "select", "select_option", {ATTR_ENTITY_ID: entity_id, "option": option}, blocking=True
    )


async def _drive(emulator: ZegoEmulator, index: int = -1) -> DriveRecord:
    for _ in range(500):
        if emulator.drives and len(emulator.drives) > (index if index >= 0 else -index - 1):
            break
        await asyncio.sleep(0.01)
    return emulator.drives[index]


async def _ended(emulator: ZegoEmulator, index: int = -1) -> DriveRecord:
    drive = await _drive(emulator, index)
    await emulator.wait_for_drive(
        drive.drive_id, status=(DriveStatus.ENDED, DriveStatus.FAILED), timeout=15
    )
    return drive


def _speech_events(hass: HomeAssistant) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        state = event.data["new_state"]
        if state is not None and state.state not in ("unknown", "unavailable"):
            events.append((state.attributes["event_type"], dict(state.attributes)))

    async_track_state_change_event(hass, "event.lobby_speech", record)
    return events


def _assert_one_clean_drive(drive: DriveRecord) -> None:
    assert drive.kind == "ws"
    assert drive.sample_rate == RATE
    assert drive.violations == []
    assert drive.underruns == 0, f"{drive.underrun_seconds:.3f} s of silence mid-answer"
    assert not drive.interrupted


# --- the satellite ------------------------------------------------------------------------


@pytest.mark.usefixtures("avatar")
async def test_satellite_announces_only(hass: HomeAssistant) -> None:
    """Announce is all the avatar offers; HA's pipeline select sits on its device."""
    state = hass.states.get(SATELLITE)
    assert state is not None
    assert state.state == "idle"
    assert state.attributes["supported_features"] == AssistSatelliteEntityFeature.ANNOUNCE
    assert hass.states.get(PIPELINE_SELECT).state == "preferred"
    assert hass.states.get(AGENT_SELECT).attributes["agent_id"] == "conversation.home_assistant"
    assert hass.states.get(MODE_SELECT).state == "take_over"
    # The avatar cannot be wrapped by itself: it is not offered.
    assert "Lobby" not in hass.states.get(AGENT_SELECT).attributes["options"]
    assert "scripted" in hass.states.get(AGENT_SELECT).attributes["options"]


@pytest.mark.usefixtures("avatar")
async def test_announce_speaks_with_the_pipelines_voice(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    emulator: ZegoEmulator,
    assist_log: AssistLog,
) -> None:
    """The pipeline's engine's audio, sample-exact; responding while said, idle after."""
    await _create_pipeline(hass_ws_client, hass, agent="conversation.home_assistant")
    await _select(hass, PIPELINE_SELECT, "Avatar voice")
    states: list[str] = []
    order: list[str] = []
    async_track_state_change_event(
        hass, SATELLITE, lambda event: states.append(event.data["new_state"].state)
    )
    events = _speech_events(hass)

    await hass.services.async_call(
        "assist_satellite",
        "announce",
        {ATTR_ENTITY_ID: SATELLITE, "message": "Welcome to the lobby."},
        blocking=True,
    )
    order.extend(event_type for event_type, _ in events)
    order.append("returned")
    await hass.async_block_till_done()

    assert states == ["responding", "idle"]
    # The call returned once the avatar had said it all (the audio clock's verdict).
    assert order == ["speech_started", "speech_finished", "returned"]
    assert events[-1][1]["message"] == "Welcome to the lobby."
    assert assist_log.sentences == ["Welcome to the lobby."]
    drive = await _ended(emulator)
    _assert_one_clean_drive(drive)
    assert_same_pcm(drive.audio, message_pcm("Welcome to the lobby.", RATE, assist_log.seconds))


@pytest.mark.usefixtures("avatar")
async def test_announce_media_id(
    hass: HomeAssistant, emulator: ZegoEmulator, assist_log: AssistLog
) -> None:
    """A media id is said as it is (a TTS id is synthesised in the avatar's format)."""
    media_id = tts.generate_media_source_id(hass, "Media hello.", engine=STREAM_ENGINE)
    await hass.services.async_call(
        "assist_satellite",
        "announce",
        {ATTR_ENTITY_ID: SATELLITE, "media_id": media_id, "preannounce": False},
        blocking=True,
    )
    assert hass.states.get(SATELLITE).state == "idle"
    drive = await _ended(emulator)
    _assert_one_clean_drive(drive)
    assert_same_pcm(drive.audio, message_pcm("Media hello.", RATE, assist_log.seconds))


# --- the conversation agent ---------------------------------------------------------------


@pytest.mark.usefixtures("avatar")
@pytest.mark.parametrize("latency", [0.0, 0.3], ids=["engine-0ms", "engine-300ms"])
async def test_take_over_speaks_the_streamed_answer_alone(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    emulator: ZegoEmulator,
    assist_log: AssistLog,
    latency: float,
) -> None:
    """The whole answer, in order, in one drive without a gap; the pipeline skips TTS."""
    assist_log.latency = latency
    await _select(hass, AGENT_SELECT, "scripted")
    pipeline_id = await _create_pipeline(hass_ws_client, hass, agent=AVATAR_AGENT)
    events = _speech_events(hass)

    run = await _run_pipeline(hass_ws_client, hass, pipeline_id, "What time is it?")

    types = [event["type"] for event in run]
    assert "tts-start" not in types  # the satellite stays silent
    intent_end = next(event for event in run if event["type"] == "intent-end")
    output = intent_end["data"]["intent_output"]
    assert output["response"]["speech"]["plain"]["speech"] == ""
    assert output["conversation_id"] == run[0]["data"]["conversation_id"]
    assert assist_log.tool_calls == 1

    drive = await _ended(emulator)
    assert len(emulator.drives) == 1  # one DriveId for the whole answer
    _assert_one_clean_drive(drive)
    assert assist_log.sentences == list(SPOKEN_SENTENCES)
    assert_same_pcm(drive.audio, answer_pcm(assist_log.seconds))
    if MESSAGE_STREAMS:
        # One TTS message stream took the text as it came: the first piece at the first
        # sentence end, the rest after.
        assert len(assist_log.text_inputs) == 1
        assert assist_log.text_inputs[0][0] == "Hello there. "
        assert "".join(assist_log.text_inputs[0]) == " ".join(SPOKEN_SENTENCES)
    else:
        assert assist_log.text_inputs == [[sentence] for sentence in SPOKEN_SENTENCES]
    await _wait_for(lambda: [t for t, _ in events][-1:] == ["speech_finished"])
    assert events[-1][1]["message"] == " ".join(SPOKEN_SENTENCES)


@pytest.mark.usefixtures("avatar")
async def test_first_audio_while_the_agent_still_writes(
    hass: HomeAssistant, emulator: ZegoEmulator, assist_log: AssistLog
) -> None:
    """The avatar speaks the first sentence before the agent has written the last."""
    assist_log.delay = 0.3
    await _select(hass, AGENT_SELECT, "scripted")
    result = await _ask(hass, "What time is it?")
    assert result is not None
    drive = await _ended(emulator)
    assert drive.first_frame_at is not None
    assert drive.first_frame_at < assist_log.deltas_at[-1]
    assert_same_pcm(drive.audio, answer_pcm(assist_log.seconds))


@pytest.mark.usefixtures("avatar")
async def test_mirror_lets_the_satellite_speak_too(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    emulator: ZegoEmulator,
    assist_log: AssistLog,
) -> None:
    """Mirror: the wrapped agent's answer comes back untouched, so the pipeline speaks."""
    await _select(hass, AGENT_SELECT, "scripted")
    await _select(hass, MODE_SELECT, "mirror")
    pipeline_id = await _create_pipeline(hass_ws_client, hass, agent=AVATAR_AGENT)

    run = await _run_pipeline(hass_ws_client, hass, pipeline_id, "What time is it?")

    types = [event["type"] for event in run]
    assert "tts-end" in types  # the pipeline made the satellite's audio
    intent_end = next(event for event in run if event["type"] == "intent-end")
    output = intent_end["data"]["intent_output"]
    assert output["response"]["speech"]["plain"]["speech"] == "It is noon. Have a nice day."
    assert output["conversation_id"] == run[0]["data"]["conversation_id"]
    # The pipeline saw the answer's text stream (the Assist dialog shows it).
    streamed = "".join(
        event["data"]["chat_log_delta"].get("content", "")
        for event in run
        if event["type"] == "intent-progress" and "chat_log_delta" in event["data"]
    )
    assert streamed == "Hello there. Let me check the time.It is noon. Have a nice day."
    drive = await _ended(emulator)
    _assert_one_clean_drive(drive)
    assert_same_pcm(drive.audio, answer_pcm(assist_log.seconds))


@pytest.mark.usefixtures("avatar")
async def test_a_new_question_interrupts_the_answer(
    hass: HomeAssistant, emulator: ZegoEmulator, assist_log: AssistLog
) -> None:
    """The second question cuts the first answer; never two sockets at once."""
    assist_log.delay = 0.2
    await _select(hass, AGENT_SELECT, "scripted")
    events = _speech_events(hass)

    first = hass.async_create_task(_ask(hass, "What time is it?"))
    first_drive = await _drive(emulator)
    await _wait_for(lambda: bool(first_drive.frames))
    await _ask(hass, "What time is it?")
    await first
    second_drive = await _ended(emulator)
    assert second_drive is not first_drive
    assert len(emulator.drives) == 2
    assert first_drive.closed_at is not None
    assert second_drive.connected_at is not None
    assert first_drive.closed_at <= second_drive.connected_at
    assert len(first_drive.audio) < len(answer_pcm(assist_log.seconds))
    assert_same_pcm(second_drive.audio, answer_pcm(assist_log.seconds))
    assert [t for t, _ in events].count("speech_interrupted") == 1
    assert [t for t, _ in events][-1] == "speech_finished"


@pytest.mark.usefixtures("avatar")
async def test_a_failing_agent_is_shown_and_reported(
    hass: HomeAssistant, emulator: ZegoEmulator, assist_log: AssistLog
) -> None:
    """A readable error as the answer and a speech_failed event; the avatar stops."""
    assist_log.fail = True
    await _select(hass, AGENT_SELECT, "scripted")
    events = _speech_events(hass)

    result = await _ask(hass, "What time is it?")

    assert result is not None
    response = result["response"]
    assert response["response_type"] == "error"
    speech = response["speech"]["plain"]["speech"]
    assert "conversation.scripted" in speech
    assert "the model went away" in speech
    await _wait_for(lambda: any(t == "speech_failed" for t, _ in events))
    failed = next(data for t, data in events if t == "speech_failed")
    assert "the model went away" in failed["error"]
    assert hass.states.get("sensor.lobby_last_error").state.startswith("The answering agent")


@pytest.mark.usefixtures("avatar")
async def test_home_assistants_own_agent_is_voiced(
    hass: HomeAssistant, emulator: ZegoEmulator, assist_log: AssistLog
) -> None:
    """An agent that does not stream (HA's own, the default) is said once it answered."""
    result = await _ask(hass, "Open the pod bay doors")
    assert result is not None
    speech = result["response"]["speech"]["plain"]["speech"]
    assert speech == ""  # take over: the satellite would stay silent
    drive = await _ended(emulator)
    _assert_one_clean_drive(drive)
    assert assist_log.sentences
    assert_same_pcm(
        drive.audio,
        b"".join(message_pcm(s, RATE, assist_log.seconds) for s in assist_log.sentences),
    )


@pytest.mark.usefixtures("avatar")
async def test_an_avatar_cannot_wrap_itself(hass: HomeAssistant) -> None:
    """Choosing an avatar's own agent (by a stale restore) answers with a clear error."""
    state = hass.states.get(AGENT_SELECT)
    hass.states.async_set(AGENT_SELECT, state.state, {**state.attributes, "agent_id": AVATAR_AGENT})
    result = await _ask(hass, "Hello")
    assert result is not None
    assert result["response"]["response_type"] == "error"
    speech = result["response"]["speech"]["plain"]["speech"]
    assert speech.startswith(f"The answering agent {AVATAR_AGENT} is an avatar's own agent")


async def _ask(hass: HomeAssistant, text: str) -> dict[str, Any]:
    """Ask the avatar's agent through conversation.process; return the response data."""
    result = await hass.services.async_call(
        "conversation",
        "process",
        {"agent_id": AVATAR_AGENT, "text": text},
        blocking=True,
        return_response=True,
    )
    assert result is not None
    return dict(result)


async def _wait_for(predicate: Any, limit: float = 10.0) -> None:
    for _ in range(int(limit / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")

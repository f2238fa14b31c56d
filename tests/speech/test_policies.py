"""Overlap policies under 20 overlapping requests, interrupts and shutdown, per the emulator."""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.zego_digital_human.const import OverlapPolicy, SpeechEvent
from custom_components.zego_digital_human.speech import SpeechOutcome, WaitFor
from zego_emulator import DriveStatus

from .audio import assert_same_pcm, message_pcm
from .conftest import AvatarSettings, wait_until
from .test_say import assert_clean, played

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from custom_components.zego_digital_human.speech import SpeechManager, SpeechResult
    from zego_emulator import DriveRecord, ZegoEmulator

    from .conftest import TestAvatar
    from .tts_engine import EngineLog

COUNT = 20
TERMINAL = (DriveStatus.ENDED, DriveStatus.FAILED)


async def settle(emulator: ZegoEmulator) -> list[DriveRecord]:
    """Every WS drive once it reached a final status."""
    drives = [d for d in emulator.drives if d.kind == "ws"]
    for drive in drives:
        await emulator.wait_for_drive(drive.drive_id, status=TERMINAL, timeout=10)
    return drives


async def test_interrupt_policy_under_20_overlapping_requests(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator, engine_log: EngineLog
) -> None:
    await avatar.ensure_streaming()
    messages = [f"Interrupting {i}" for i in range(COUNT)]

    async def say(index: int) -> SpeechResult:
        await asyncio.sleep(0.01 * index)  # overlapping: each lands while another runs
        return await speech.async_say(messages[index], wait=WaitFor.FINISHED)

    results = await asyncio.gather(*(say(i) for i in range(COUNT)))
    assert [r.outcome for r in results[:-1]] == [SpeechOutcome.INTERRUPTED] * (COUNT - 1)
    assert results[-1].outcome is SpeechOutcome.FINISHED

    drives = await settle(emulator)
    last = await played(emulator, results[-1])
    assert_clean(last)
    assert_same_pcm(last.audio, message_pcm(messages[-1], 16000))
    # The last drive issued is the one that was heard to the end.
    assert drives[-1].drive_id == last.drive_id
    for drive in drives:
        assert drive.violations == []
        assert drive.underruns == 0
    assert emulator.max_ws_connections_per_task == 1
    assert emulator.open_ws_connections == 0
    assert len(avatar.events_of(SpeechEvent.INTERRUPTED)) == COUNT - 1
    assert [d["message"] for d in avatar.events_of(SpeechEvent.FINISHED)] == [messages[-1]]
    assert avatar.speaking is False
    assert avatar.speaking_log[-1] is False


@pytest.mark.parametrize("avatar_settings", [AvatarSettings(overlap_policy=OverlapPolicy.QUEUE)])
async def test_queue_policy_under_20_overlapping_requests(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator, engine_log: EngineLog
) -> None:
    engine_log.seconds = 0.1  # short utterances keep 20 in a row quick
    messages = [f"Queued {i}" for i in range(COUNT)]
    accepted = [await speech.async_say(message) for message in messages]
    assert {r.outcome for r in accepted} == {SpeechOutcome.ACCEPTED}
    await wait_until(lambda: len(avatar.events_of(SpeechEvent.FINISHED)) == COUNT, 30)

    drives = await settle(emulator)
    assert len(drives) == COUNT  # none lost, none duplicated
    for drive, message in zip(drives, messages, strict=True):
        assert_clean(drive)
        assert drive.status is DriveStatus.ENDED
        assert_same_pcm(drive.audio, message_pcm(message, 16000, 0.1))
    # Each drive was issued only after the previous one had played out (none was cut).
    for earlier, later in itertools.pairwise(drives):
        assert earlier.playback_end_at is not None
        assert later.issued_at >= earlier.playback_end_at
    assert emulator.max_ws_connections_per_task == 1
    assert [d["message"] for d in avatar.events_of(SpeechEvent.FINISHED)] == messages
    assert avatar.events_of(SpeechEvent.INTERRUPTED) == []
    assert avatar.events_of(SpeechEvent.FAILED) == []


@pytest.mark.parametrize("avatar_settings", [AvatarSettings(overlap_policy=OverlapPolicy.QUEUE)])
async def test_policy_is_overridable_per_request(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator, engine_log: EngineLog
) -> None:
    engine_log.seconds = 2.0
    first = await speech.async_say("Long queued", wait=WaitFor.STARTED)
    waiting = await speech.async_say("Also queued")
    engine_log.seconds = 0.3
    urgent = await speech.async_say("Urgent", policy="interrupt", wait=WaitFor.FINISHED)
    assert urgent.outcome is SpeechOutcome.FINISHED
    interrupted = {d["message"] for d in avatar.events_of(SpeechEvent.INTERRUPTED)}
    assert interrupted == {"Long queued", "Also queued"}
    assert first.drive_id is not None
    cut = await emulator.wait_for_drive(first.drive_id, status=TERMINAL, timeout=10)
    assert cut.violations == []
    assert cut.stop_at is not None  # we sent Stop before the next drive
    assert waiting.outcome is SpeechOutcome.ACCEPTED
    assert_same_pcm((await played(emulator, urgent)).audio, message_pcm("Urgent", 16000))
    assert emulator.max_ws_connections_per_task == 1


async def test_interrupt_mid_utterance_sends_stop_and_closes(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator, engine_log: EngineLog
) -> None:
    engine_log.seconds = 3.0
    started = await speech.async_say("A very long speech", wait=WaitFor.STARTED)
    assert avatar.speaking is True
    await avatar.async_interrupt()  # the interrupt button/service path
    # The handler returned only after Stop went out and the socket closed.
    assert emulator.open_ws_connections == 0
    assert started.drive_id is not None
    record = emulator.drive(started.drive_id)
    assert record.stop_at is not None
    assert record.closed_at is not None
    assert record.stop_at <= record.closed_at
    assert record.close_code == 1000
    assert record.violations == []
    assert record.underruns == 0
    assert 0 < record.audio_seconds < 3.0
    full = message_pcm("A very long speech", 16000, 3.0)
    assert full.startswith(record.audio)  # what was sent is the start of the speech
    assert avatar.speaking is False
    (event,) = avatar.events_of(SpeechEvent.INTERRUPTED)
    assert event["drive_id"] == started.drive_id
    assert 0 < float(str(event["audio_seconds"])) < 3.0
    assert avatar.events_of(SpeechEvent.FINISHED) == []
    # Ready for more.
    engine_log.seconds = 0.3
    again = await speech.async_say("After the interrupt", wait=WaitFor.FINISHED)
    assert again.outcome is SpeechOutcome.FINISHED


async def test_shutdown_mid_utterance_and_refusal(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator, engine_log: EngineLog
) -> None:
    engine_log.seconds = 3.0
    started = await speech.async_say("Unloading soon", wait=WaitFor.STARTED)
    queued = await speech.async_say("Never said", policy="queue")
    await speech.async_shutdown()
    assert emulator.open_ws_connections == 0
    assert started.drive_id is not None
    record = emulator.drive(started.drive_id)
    assert record.stop_at is not None
    assert record.violations == []
    assert queued.outcome is SpeechOutcome.ACCEPTED
    interrupted = {d["message"] for d in avatar.events_of(SpeechEvent.INTERRUPTED)}
    assert interrupted == {"Unloading soon", "Never said"}
    assert avatar.handlers == []  # unregistered from the avatar
    with pytest.raises(HomeAssistantError) as info:
        await speech.async_say("Too late")
    assert info.value.translation_key == "speech_unavailable"


async def test_home_assistant_stop_ends_speech(
    hass: HomeAssistant,
    speech: SpeechManager,
    avatar: TestAvatar,
    emulator: ZegoEmulator,
    engine_log: EngineLog,
) -> None:
    engine_log.seconds = 3.0
    await speech.async_say("Until HA stops", wait=WaitFor.STARTED)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert emulator.open_ws_connections == 0
    assert [d["message"] for d in avatar.events_of(SpeechEvent.INTERRUPTED)] == ["Until HA stops"]
    with pytest.raises(HomeAssistantError):
        await speech.async_say("After stop")

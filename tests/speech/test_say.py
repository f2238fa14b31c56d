"""Text through the real HA TTS machinery to the emulator's avatar (its own records decide)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from custom_components.zego_digital_human.client import PacingConfig
from custom_components.zego_digital_human.const import SpeechEvent
from custom_components.zego_digital_human.speech import SpeechOutcome, WaitFor
from zego_emulator import DriveRecord, DriveStatus

from .audio import assert_same_pcm, best_correlation, message_pcm
from .conftest import TLS_EMULATOR, AvatarSettings
from .tts_engine import ENGINE, MP3_ENGINE

if TYPE_CHECKING:
    from custom_components.zego_digital_human.speech import SpeechManager, SpeechResult
    from zego_emulator import ZegoEmulator

    from .conftest import TestAvatar
    from .tts_engine import EngineLog


async def played(emulator: ZegoEmulator, result: SpeechResult) -> DriveRecord:
    """The emulator's record of the drive, once the avatar has played it out."""
    assert result.drive_id is not None
    return await emulator.wait_for_drive(result.drive_id, status=DriveStatus.ENDED, timeout=10)


def assert_clean(record: DriveRecord) -> None:
    """A valid WS drive: Start with our format, Stop after the last frame, no stutter."""
    assert record.kind == "ws"
    assert record.violations == []
    assert record.underruns == 0
    assert record.start_at is not None
    assert record.first_frame_at is not None
    assert record.last_frame_at is not None
    assert record.stop_at is not None
    assert record.start_at <= record.first_frame_at <= record.last_frame_at <= record.stop_at
    assert record.closed_at is not None
    assert record.close_code == 1000
    assert not record.interrupted


@pytest.mark.parametrize("emulator_config", [TLS_EMULATOR], ids=["wss"])
@pytest.mark.parametrize("variant", ["canonical", "list", "stream", "slow"])
async def test_say_delivers_the_exact_pcm(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator, variant: str
) -> None:
    message = f"Hello lobby ({variant})"
    result = await speech.async_say(message, options={"variant": variant}, wait=WaitFor.FINISHED)
    assert result.outcome is SpeechOutcome.FINISHED
    record = await played(emulator, result)
    assert_clean(record)
    assert record.sample_rate == 16000
    assert record.channel == 1
    # The engine already speaks the avatar's format: its samples arrive untouched.
    assert_same_pcm(record.audio, message_pcm(message, 16000))
    assert result.audio_seconds == pytest.approx(0.3)
    assert avatar.speaking_log == [True, False]
    assert [kind for kind, _ in avatar.events] == [SpeechEvent.STARTED, SpeechEvent.FINISHED]
    assert emulator.max_ws_connections_per_task == 1


@pytest.mark.parametrize("avatar_settings", [AvatarSettings(sample_rate=24000)])
async def test_say_at_24k(speech: SpeechManager, emulator: ZegoEmulator) -> None:
    # The engine speaks 16 kHz (nobody asked it for more); the avatar gets 24 kHz.
    result = await speech.async_say("Twenty four", wait=WaitFor.FINISHED)
    record = await played(emulator, result)
    assert_clean(record)
    assert record.sample_rate == 24000
    expected = message_pcm("Twenty four", 24000)
    assert best_correlation(record.audio, expected) > 0.9
    assert abs(len(record.audio) - len(expected)) < 0.15 * 24000 * 2


async def test_resampled_and_transcoded_engines(
    speech: SpeechManager, emulator: ZegoEmulator
) -> None:
    # WAV at 22.05 kHz, float stereo WAV at 24 kHz (we resample, streaming), and MP3
    # (HA converts it to WAV for us).
    records = []
    for message, kwargs in (
        ("Native rate", {"options": {"variant": "native22k"}}),
        ("Float stereo", {"options": {"variant": "float_stereo"}}),
        ("Compressed", {"engine": MP3_ENGINE}),
    ):
        result = await speech.async_say(message, wait=WaitFor.FINISHED, **kwargs)
        # FINISHED comes from our audio clock; let the avatar's own clock agree before
        # the next drive, which would pre-empt whatever is still playing.
        records.append((await played(emulator, result), message))
    for record, message in records:
        assert_clean(record)
        expected = message_pcm(message, 16000)
        assert best_correlation(record.audio, expected) > 0.9
        assert abs(len(record.audio) - len(expected)) < 0.15 * 16000 * 2


async def test_paced_long_utterance(
    speech: SpeechManager, emulator: ZegoEmulator, engine_log: EngineLog
) -> None:
    engine_log.seconds = 1.5  # long enough that pacing, not the head start, decides
    result = await speech.async_say("A longer announcement", wait=WaitFor.FINISHED)
    record = await played(emulator, result)
    assert_clean(record)
    assert_same_pcm(record.audio, message_pcm("A longer announcement", 16000, 1.5))
    head_start = PacingConfig().head_start
    frame = PacingConfig().frame_ms / 1000
    # Never far ahead of playback (paced, not dumped), never behind (no underrun).
    assert record.max_lead_seconds <= head_start + 2 * frame
    assert record.last_frame_to_stop is not None
    assert record.last_frame_to_stop < head_start


async def test_live_drive_waits_for_the_engines_first_audio(
    speech: SpeechManager, emulator: ZegoEmulator, engine_log: EngineLog, avatar: TestAvatar
) -> None:
    await avatar.ensure_streaming()  # warm: this test is about the drive, not the task
    message = "Slow engine"
    result = await speech.async_say(message, options={"variant": "slow"}, wait=WaitFor.FINISHED)
    record = await played(emulator, result)
    first_byte = engine_log.first_byte_at[message]
    # ZEGO interrupts the avatar at DriveByWsStream: it is issued only once there is audio.
    assert record.issued_at > first_byte
    assert_same_pcm(record.audio, message_pcm(message, 16000))


async def test_offline_avatar_starts_its_stream_once_there_is_audio(
    speech: SpeechManager, emulator: ZegoEmulator, engine_log: EngineLog, avatar: TestAvatar
) -> None:
    # Starting a stream task costs money and shows the avatar on screen: a source that
    # fails before its first audio must not have started one, so the start waits for it.
    assert not avatar.stream_live
    message = "Cold and slow"
    result = await speech.async_say(message, options={"variant": "slow"}, wait=WaitFor.FINISHED)
    (task,) = emulator.tasks.values()
    assert task.created_at > engine_log.first_byte_at[message]
    assert avatar.stream_live
    # The wait reported is the stream's own, not the engine's.
    assert result.stream_wait is not None
    assert result.time_to_first_audio is not None
    assert result.stream_wait < result.time_to_first_audio - engine_log.slow_first_byte
    assert_same_pcm((await played(emulator, result)).audio, message_pcm(message, 16000))


async def test_events_and_metrics(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator
) -> None:
    result = await speech.async_say("Metrics please", wait=WaitFor.FINISHED)
    started, finished = (data for _, data in avatar.events)
    assert started["drive_id"] == finished["drive_id"] == result.drive_id
    assert started["message"] == finished["message"] == "Metrics please"
    assert finished["audio_seconds"] == pytest.approx(0.3)
    assert started["time_to_first_audio"] == finished["time_to_first_audio"]
    assert result.time_to_first_audio is not None
    assert avatar.ttfa == [pytest.approx(result.time_to_first_audio)]
    # The first request created the task (a cold start): its wait is reported separately.
    assert result.stream_wait is not None
    assert 0 <= result.stream_wait <= result.time_to_first_audio
    assert result.as_dict()["drive_id"] == result.drive_id
    assert avatar.errors == []


async def test_wait_accepted_and_started(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator
) -> None:
    accepted = await speech.async_say("Fire and forget")
    assert accepted.outcome is SpeechOutcome.ACCEPTED
    started = await speech.async_say("Tell me when", policy="queue", wait=WaitFor.STARTED)
    assert started.outcome is SpeechOutcome.STARTED
    assert started.drive_id is not None
    finished = await emulator.wait_for_drive(started.drive_id, status=DriveStatus.ENDED, timeout=10)
    assert_same_pcm(finished.audio, message_pcm("Tell me when", 16000))
    first = next(d for d in emulator.drives if d.drive_id != started.drive_id)
    assert_same_pcm(first.audio, message_pcm("Fire and forget", 16000))


@pytest.mark.parametrize(
    "avatar_settings",
    [AvatarSettings(language="de-DE", voice_options={"variant": "stream", "voice": "anna"})],
)
async def test_avatar_defaults_apply_to_its_engine(
    speech: SpeechManager, emulator: ZegoEmulator, engine_log: EngineLog
) -> None:
    result = await speech.async_say("Guten Tag", wait=WaitFor.FINISHED)
    record = await played(emulator, result)
    assert_same_pcm(record.audio, message_pcm("Guten Tag", 16000))
    # Another engine does not get this engine's voice options (it would reject "variant").
    other = await speech.async_say("Hello", engine=MP3_ENGINE, wait=WaitFor.FINISHED)
    assert other.outcome is SpeechOutcome.FINISHED
    # Call options win over the avatar's.
    again = await speech.async_say(
        "Guten Tag", engine=ENGINE, options={"variant": "list"}, wait=WaitFor.FINISHED
    )
    assert_same_pcm((await played(emulator, again)).audio, message_pcm("Guten Tag", 16000))

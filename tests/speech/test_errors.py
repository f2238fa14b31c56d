"""Issue 4 §6: each bad input gives its translated error, and nothing else changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest

from custom_components.zego_digital_human.const import DOMAIN, SpeechEvent
from custom_components.zego_digital_human.speech import SpeechOutcome, WaitFor, sources
from custom_components.zego_digital_human.speech.sources import _wav_payload
from custom_components.zego_digital_human.speech.wav import WavUnwrapper
from zego_emulator import DriveStatus, Fault

from .audio import assert_same_pcm, message_pcm, split, wav
from .conftest import wait_until
from .tts_engine import ENGINE, MAX_MESSAGE

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from custom_components.zego_digital_human.speech import SpeechManager
    from zego_emulator import ZegoEmulator

    from .conftest import MediaServer, TestAvatar
    from .tts_engine import EngineLog


def assert_translated(
    err: HomeAssistantError, key: str, *, validation: bool | None = None
) -> dict[str, str]:
    assert err.translation_domain == DOMAIN
    assert err.translation_key == key
    if validation is not None:
        assert isinstance(err, ServiceValidationError) is validation
    return err.translation_placeholders or {}


def assert_nothing_happened(avatar: TestAvatar, emulator: ZegoEmulator) -> None:
    """Rejected up front: no drive issued, no state change, no event, no recorded error."""
    assert emulator.drives == []
    assert avatar.speaking_log == []
    assert avatar.events == []
    assert avatar.errors == []


def assert_no_audio(avatar: TestAvatar, emulator: ZegoEmulator) -> None:
    """Failed before any audio: the avatar never spoke; any drive opened alongside the
    source was ended cleanly with Start + Stop and no frames."""
    assert avatar.speaking_log == []
    for drive in emulator.drives:
        assert drive.bytes_received == 0
        assert drive.violations == []
        assert drive.stop_at is not None
    assert emulator.open_ws_connections == 0
    assert [kind for kind, _ in avatar.events] == [SpeechEvent.FAILED]
    assert len(avatar.errors) == 1


# --- rejected before anything happens ---------------------------------------------------


@pytest.mark.parametrize("message", ["", "   ", "\n\t"])
async def test_empty_message(
    speech: SpeechManager,
    avatar: TestAvatar,
    emulator: ZegoEmulator,
    engine_log: EngineLog,
    message: str,
) -> None:
    with pytest.raises(ServiceValidationError) as info:
        await speech.async_say(message)
    assert_translated(info.value, "empty_message")
    assert engine_log.messages == []
    assert_nothing_happened(avatar, emulator)


@pytest.mark.parametrize(
    ("kwargs", "key", "placeholders"),
    [
        ({"engine": "tts.nope"}, "tts_engine_not_found", {"engine": "tts.nope"}),
        ({"language": "fr-FR"}, "tts_language_not_supported", {"language": "fr-FR"}),
        ({"options": {"speed": 2}}, "tts_options_not_supported", {"options": "speed"}),
    ],
)
async def test_bad_tts_request(
    speech: SpeechManager,
    avatar: TestAvatar,
    emulator: ZegoEmulator,
    engine_log: EngineLog,
    kwargs: dict[str, object],
    key: str,
    placeholders: dict[str, str],
) -> None:
    with pytest.raises(ServiceValidationError) as info:
        await speech.async_say("Hello", **kwargs)  # type: ignore[arg-type]
    found = assert_translated(info.value, key)
    assert placeholders.items() <= found.items()
    assert engine_log.messages == []
    assert_nothing_happened(avatar, emulator)


@pytest.mark.parametrize(
    ("media_id", "key"),
    [
        ("media-source://speech_nowhere/thing.mp3", "media_unresolvable"),
        ("media-source://tts/tts.speech_test?language=en-US", "media_unresolvable"),
        ("media-source://tts/tts.nope?message=hi&tts_options=null", "tts_engine_not_found"),
        ("media-source://tts/tts.speech_test?message=hi&tts_options={bad", "media_unresolvable"),
        ("media-source://tts/-stream-/no-such-token.wav", "media_unresolvable"),
        ("ftp://example.invalid/a.mp3", "unsupported_media"),
        ("just some words", "unsupported_media"),
        ("  ", "unsupported_media"),
    ],
)
async def test_media_id_that_does_not_resolve(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator, media_id: str, key: str
) -> None:
    with pytest.raises(ServiceValidationError) as info:
        await speech.async_play(media_id)
    assert_translated(info.value, key)
    assert_nothing_happened(avatar, emulator)


async def test_bad_policy(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator
) -> None:
    with pytest.raises(ServiceValidationError) as info:
        await speech.async_say("Hello", policy="shout")
    assert assert_translated(info.value, "invalid_overlap_policy") == {"policy": "shout"}
    assert_nothing_happened(avatar, emulator)


async def test_rejection_does_not_disturb_current_speech(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator, engine_log: EngineLog
) -> None:
    engine_log.seconds = 1.0
    talking = await speech.async_say("Keep talking", wait=WaitFor.STARTED)
    for bad in (speech.async_say(""), speech.async_say("x", engine="tts.nope")):
        with pytest.raises(ServiceValidationError):
            await bad
    with pytest.raises(ServiceValidationError):
        await speech.async_play("media-source://speech_nowhere/x")
    assert talking.drive_id is not None
    record = await emulator.wait_for_drive(talking.drive_id, status=DriveStatus.ENDED, timeout=10)
    assert not record.interrupted
    assert_same_pcm(record.audio, message_pcm("Keep talking", 16000, 1.0))
    assert [kind for kind, _ in avatar.events] == [SpeechEvent.STARTED, SpeechEvent.FINISHED]


# --- failing while producing audio --------------------------------------------------------


async def run_failing(call: Callable[[], Awaitable[object]]) -> HomeAssistantError:
    with pytest.raises(HomeAssistantError) as info:
        await call()
    return info.value


async def test_message_longer_than_the_engine_accepts(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator
) -> None:
    err = await run_failing(
        lambda: speech.async_say("x" * (MAX_MESSAGE + 1), wait=WaitFor.FINISHED)
    )
    placeholders = assert_translated(err, "tts_failed")
    assert placeholders["engine"] == ENGINE
    assert "too long" in placeholders["error"]
    assert_no_audio(avatar, emulator)
    (failed,) = avatar.events_of(SpeechEvent.FAILED)
    assert failed["message"] == "x" * (MAX_MESSAGE + 1)
    assert failed["audio_seconds"] == 0.0
    assert "error" in failed


@pytest.mark.parametrize("variant", ["corrupt", "empty", "adpcm"])
async def test_engine_returns_corrupt_or_empty_wav(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator, variant: str
) -> None:
    err = await run_failing(
        lambda: speech.async_say(
            f"Broken {variant}", options={"variant": variant}, wait=WaitFor.STARTED
        )
    )
    # Corrupt WAV is named as such, an empty one yields no samples, and a codec we
    # cannot resample says which format it was.
    expected = {
        "corrupt": "invalid_wav",
        "empty": "no_audio",
        "adpcm": "unsupported_wav_format",
    }
    assert err.translation_key == expected[variant]
    assert err.translation_domain == DOMAIN
    assert_no_audio(avatar, emulator)


@pytest.mark.parametrize(
    ("path", "key", "validation"),
    [
        ("/missing.mp3", "media_not_found", True),
        ("/notes.txt", "media_not_audio", True),
        ("/picture.png", "media_not_audio", True),
        ("/empty.wav", "no_audio", False),
        ("/forbidden.mp3", "media_fetch_failed", False),
    ],
)
async def test_bad_urls(
    speech: SpeechManager,
    avatar: TestAvatar,
    emulator: ZegoEmulator,
    media_server: MediaServer,
    path: str,
    key: str,
    validation: bool,
) -> None:
    url = media_server.url(path) + "?authSig=TOPSECRET"
    err = await run_failing(lambda: speech.async_play(url, wait=WaitFor.STARTED))
    placeholders = assert_translated(err, key, validation=validation)
    assert "TOPSECRET" not in str(placeholders)
    assert "TOPSECRET" not in str(avatar.events)
    assert_no_audio(avatar, emulator)


async def test_corrupt_wav_file(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator, media_server: MediaServer
) -> None:
    # A WAV header followed by garbage in place of its fmt chunk.
    err = await run_failing(
        lambda: speech.async_play(media_server.url("/notes.txt"), wait=WaitFor.FINISHED)
    )
    assert_translated(err, "media_not_audio")
    assert_no_audio(avatar, emulator)


async def test_our_own_wav_errors_are_translated() -> None:
    """Every WAV from a TTS engine goes through our parser; its errors are translated."""

    async def chunks(data: bytes) -> AsyncIterator[bytes]:
        for part in split(data, (5,)):
            yield part

    cases = [
        (b"<html>nope</html>" * 3, "invalid_wav"),
        (wav(b"", 16000)[:30], "no_audio"),
    ]
    for data, key in cases:
        payload = _wav_payload(WavUnwrapper(None), chunks(data), label=ENGINE, idle_timeout=5)
        with pytest.raises(HomeAssistantError) as info:
            async for _ in payload:
                pass
        assert info.value.translation_key == key


async def test_stream_offline(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator, engine_log: EngineLog
) -> None:
    avatar.offline = True
    err = await run_failing(lambda: speech.async_say("Anyone there?", wait=WaitFor.STARTED))
    # The core's own translated error passes through unchanged.
    assert err.translation_key == "attached_task_ended"
    assert emulator.drives == []
    assert avatar.speaking_log == []
    assert [kind for kind, _ in avatar.events] == [SpeechEvent.FAILED]


# --- ZEGO errors during the drive ---------------------------------------------------------


async def test_zego_rejects_the_drive(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator
) -> None:
    await avatar.ensure_streaming()
    emulator.faults.add(
        Fault.zego(400000006, "task is initializing", action="DriveByWsStream", count=None)
    )
    err = await run_failing(lambda: speech.async_say("Too early", wait=WaitFor.STARTED))
    placeholders = assert_translated(err, "drive_rejected")
    assert placeholders["code"] == "400000006"
    assert placeholders["message"] == "task is initializing"
    request_ids = [r.request_id for r in emulator.requests if r.code == 400000006]
    assert placeholders["request_id"] in request_ids
    text = f"{err} {placeholders} {avatar.events}"
    assert emulator.config.server_secret not in text
    assert "Signature" not in text
    assert "Token" not in text
    assert avatar.speaking_log == []
    assert [kind for kind, _ in avatar.events] == [SpeechEvent.FAILED]
    assert avatar.errors == [err]


async def test_clock_skew_on_the_drive_says_fix_the_clock(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator
) -> None:
    """Found by the soak (HA's clock stepped an hour): a drive refused for the timestamp
    tells the user to correct the clock, as every other request does, not "ZEGO refused"."""
    await avatar.ensure_streaming()
    emulator.faults.add(
        Fault.zego(100000004, "Signature expired", action="DriveByWsStream", count=None)
    )
    err = await run_failing(lambda: speech.async_say("What time is it", wait=WaitFor.STARTED))
    assert isinstance(err, HomeAssistantError)
    assert err.translation_domain == DOMAIN
    assert err.translation_key in ("clock_skew", "clock_skew_unknown")
    assert [kind for kind, _ in avatar.events] == [SpeechEvent.FAILED]


@pytest.mark.parametrize("variant", ["stall", "stall22k"])
async def test_engine_that_goes_quiet_mid_message(
    speech: SpeechManager,
    avatar: TestAvatar,
    emulator: ZegoEmulator,
    monkeypatch: pytest.MonkeyPatch,
    variant: str,
) -> None:
    # Straight through (16 kHz) and through our resampler (22.05 kHz): the engine is
    # named as the culprit, and the avatar is not left with an open drive.
    monkeypatch.setattr(sources, "TTS_IDLE_TIMEOUT", 0.5)
    err = await run_failing(
        lambda: speech.async_say(
            f"Quiet {variant}", options={"variant": variant}, wait=WaitFor.FINISHED
        )
    )
    assert assert_translated(err, "tts_timeout")["engine"] == ENGINE
    await wait_until(lambda: not avatar.speaking)
    assert emulator.open_ws_connections == 0
    (record,) = emulator.drives
    assert record.bytes_received > 0  # what did arrive was played
    assert record.stop_at is not None
    assert record.violations == []
    assert [kind for kind, _ in avatar.events] == [SpeechEvent.STARTED, SpeechEvent.FAILED]


async def test_socket_dropped_mid_drive(
    speech: SpeechManager, avatar: TestAvatar, emulator: ZegoEmulator, engine_log: EngineLog
) -> None:
    engine_log.seconds = 2.0
    emulator.faults.add(Fault.ws_drop_after(16000))  # half a second in
    err = await run_failing(lambda: speech.async_say("Cut off", wait=WaitFor.FINISHED))
    placeholders = assert_translated(err, "drive_connection_failed")
    assert "Token" not in placeholders["error"]
    assert emulator.open_ws_connections == 0
    # It had started: the avatar spoke; what it had received still plays out, then it stops.
    await wait_until(lambda: not avatar.speaking)
    assert avatar.speaking_log == [True, False]
    kinds = [kind for kind, _ in avatar.events]
    assert kinds == [SpeechEvent.STARTED, SpeechEvent.FAILED]
    # And the next request works.
    engine_log.seconds = 0.3
    result = await speech.async_say("Back again", wait=WaitFor.FINISHED)
    assert result.outcome is SpeechOutcome.FINISHED

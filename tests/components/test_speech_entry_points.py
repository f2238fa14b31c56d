"""Every way a user makes the avatar speak, through HA's real machinery.

tts.speak, media_player.play_media (a TTS id and WAV/MP3 URLs), notify.send_message and the
speak / play_audio actions each reach the emulator as the expected PCM (compared sample by
sample), inside a valid Start/Stop, with no underrun and no protocol violation.
"""

from __future__ import annotations

import asyncio
import shutil
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from homeassistant.components.media_player import DOMAIN as MP_DOMAIN
from homeassistant.components.notify import DOMAIN as NOTIFY_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest

from custom_components.zego_digital_human.const import DOMAIN
from tests.speech.audio import assert_same_pcm, best_correlation, message_pcm, tone, wav
from tests.speech.tts_engine import (
    ENGINE,
    EngineLog,
)
from zego_emulator import DriveRecord, DriveStatus, EmulatorConfig, ZegoEmulator

from .conftest import avatar_subentry, managed_avatar_data

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.typing import WebSocketGenerator

PLAYER = "media_player.lobby"
NOTIFIER = "notify.lobby"
EVENTS = "event.lobby_speech"
RATE = 16000


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """A TLS WebSocket, as ZEGO's; lifecycle durations scaled down for speed."""
    return EmulatorConfig(port=0, time_scale=0.01, ws_tls=True)


@pytest.fixture
def subentries_data() -> list[dict[str, Any]]:
    """One managed avatar whose default engine is the test engine."""
    return [avatar_subentry(managed_avatar_data(tts_engine=ENGINE))]


@pytest.fixture
async def media_server(socket_enabled: None, tmp_path: Path) -> AsyncIterator[TestServer]:
    """Serves a WAV, an MP3 made by ffmpeg, a text file and 404s on 127.0.0.1."""
    source = wav(tone(0.4, RATE, freq=523.0), RATE)
    mp3_path = tmp_path / "chime.mp3"
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None
    process = await asyncio.create_subprocess_exec(
        ffmpeg,
        *("-hide_banner", "-loglevel", "error", "-i", "pipe:0", "-f", "mp3", str(mp3_path)),
        stdin=asyncio.subprocess.PIPE,
    )
    await process.communicate(source)
    files = {
        "/chime.wav": (source, "audio/wav"),
        "/chime.mp3": (mp3_path.read_bytes(), "audio/mpeg"),
        "/notes.txt": (b"not audio at all\n" * 50, "text/plain"),
    }

    async def handle(request: web.Request) -> web.Response:
        if request.path not in files:
            raise web.HTTPNotFound
        body, content_type = files[request.path]
        return web.Response(body=body, content_type=content_type)

    app = web.Application()
    app.router.add_get("/{name}", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def _ended_drive(emulator: ZegoEmulator, index: int = -1) -> DriveRecord:
    """The drive at index, once the avatar has played it out."""
    for _ in range(200):
        if emulator.drives:
            break
        await asyncio.sleep(0.01)
    drive = emulator.drives[index]
    await emulator.wait_for_drive(drive.drive_id, status=DriveStatus.ENDED, timeout=10)
    return drive


def _assert_clean(drive: DriveRecord) -> None:
    """A valid Start/Stop around the audio, no stutter, no protocol violation."""
    assert drive.kind == "ws"
    assert drive.sample_rate == RATE
    assert drive.start_at is not None
    assert drive.stop_at is not None
    assert drive.violations == []
    assert drive.underruns == 0
    assert not drive.interrupted


async def _wait_state(hass: HomeAssistant, entity_id: str, state: str) -> None:
    for _ in range(500):
        current = hass.states.get(entity_id)
        if current is not None and current.state == state:
            return
        await asyncio.sleep(0.01)
    current = hass.states.get(entity_id)
    raise AssertionError(f"{entity_id} is {current.state if current else None}, not {state}")


@pytest.mark.usefixtures("avatar")
async def test_tts_speak_reaches_the_avatar(hass: HomeAssistant, emulator: ZegoEmulator) -> None:
    """tts.speak with the avatar's player as target: the engine's audio, sample-exact."""
    assert hass.states.get(PLAYER).state == "off"  # no stream yet: it starts on demand

    await hass.services.async_call(
        "tts",
        "speak",
        {ATTR_ENTITY_ID: ENGINE, "media_player_entity_id": PLAYER, "message": "Hello lobby"},
        blocking=True,
    )
    # tts.speak returns at the first frame: the avatar is audibly speaking now.
    assert hass.states.get(PLAYER).state == "playing"
    assert hass.states.get("binary_sensor.lobby_speaking").state == "on"

    drive = await _ended_drive(emulator)
    _assert_clean(drive)
    assert_same_pcm(drive.audio, message_pcm("Hello lobby", RATE))
    await _wait_state(hass, PLAYER, "idle")
    assert hass.states.get("sensor.lobby_avatar_state").state == "ready"
    assert hass.states.get(EVENTS).attributes["event_type"] == "speech_finished"
    assert hass.states.get(EVENTS).attributes["drive_id"] == drive.drive_id
    assert float(hass.states.get("sensor.lobby_time_to_first_audio").state) > 0


@pytest.mark.usefixtures("avatar")
async def test_play_media_urls(
    hass: HomeAssistant, emulator: ZegoEmulator, media_server: TestServer
) -> None:
    """A WAV URL arrives sample-exact; an MP3 URL arrives as the same tone (codec-close)."""
    reference = tone(0.4, RATE, freq=523.0)
    for index, (name, exact) in enumerate((("chime.wav", True), ("chime.mp3", False))):
        await hass.services.async_call(
            MP_DOMAIN,
            "play_media",
            {
                ATTR_ENTITY_ID: PLAYER,
                "media_content_id": str(media_server.make_url(f"/{name}")),
                "media_content_type": "music",
            },
            blocking=True,
        )
        drive = await _ended_drive(emulator, index)
        _assert_clean(drive)
        if exact:
            assert_same_pcm(drive.audio, reference)
        else:
            assert best_correlation(drive.audio, reference) > 0.9


@pytest.mark.usefixtures("avatar")
async def test_notify_says_title_then_message(
    hass: HomeAssistant, emulator: ZegoEmulator, engine_log: EngineLog
) -> None:
    """notify.send_message: the title is said first, as its own sentence."""
    await hass.services.async_call(
        NOTIFY_DOMAIN,
        "send_message",
        {ATTR_ENTITY_ID: NOTIFIER, "title": "Front door", "message": "A visitor is here"},
        blocking=True,
    )
    drive = await _ended_drive(emulator)
    _assert_clean(drive)
    assert engine_log.messages == ["Front door. A visitor is here"]
    assert_same_pcm(drive.audio, message_pcm("Front door. A visitor is here", RATE))


@pytest.mark.usefixtures("avatar")
async def test_speak_action_waits_and_reports(hass: HomeAssistant, emulator: ZegoEmulator) -> None:
    """speak with wait: returns when the avatar has finished, with the drive's figures."""
    response = await hass.services.async_call(
        DOMAIN,
        "speak",
        {ATTR_ENTITY_ID: PLAYER, "message": "Agenda for today", "wait": True},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    (result,) = response["results"]
    drive = emulator.drives[-1]
    assert result["avatar"] == "Lobby"
    assert result["outcome"] == "finished"
    assert result["drive_id"] == drive.drive_id
    assert result["audio_seconds"] == pytest.approx(0.3, abs=0.001)
    assert result["time_to_first_audio"] > 0
    # A managed avatar without a stream started one first; that wait is reported apart.
    assert result["stream_wait"] is not None
    # The avatar's clock starts when the first frame arrives, a hair after it was sent.
    await emulator.wait_for_drive(drive.drive_id, status=DriveStatus.ENDED, timeout=1)
    _assert_clean(drive)
    assert_same_pcm(drive.audio, message_pcm("Agenda for today", RATE))


@pytest.mark.usefixtures("avatar")
async def test_play_audio_action_with_a_tts_media_id(
    hass: HomeAssistant, emulator: ZegoEmulator
) -> None:
    """play_audio with a media-source TTS id is synthesised in the avatar's format."""
    media_id = f"media-source://tts/{ENGINE}?message=Good+evening&language=en-US"
    await hass.services.async_call(
        DOMAIN,
        "play_audio",
        {ATTR_ENTITY_ID: PLAYER, "media_id": media_id, "wait": True},
        blocking=True,
    )
    drive = await _ended_drive(emulator)
    _assert_clean(drive)
    assert_same_pcm(drive.audio, message_pcm("Good evening", RATE))


@pytest.mark.usefixtures("avatar")
@pytest.mark.parametrize(
    ("service", "data", "error", "key"),
    [
        (
            (DOMAIN, "speak"),
            {"message": "   "},
            ServiceValidationError,
            "empty_message",
        ),
        (
            (NOTIFY_DOMAIN, "send_message"),
            {ATTR_ENTITY_ID: NOTIFIER, "title": "Only a title", "message": " "},
            ServiceValidationError,
            "empty_message",
        ),
        (
            (DOMAIN, "speak"),
            {"message": "Hi", "tts_engine": "tts.nowhere"},
            ServiceValidationError,
            "tts_engine_not_found",
        ),
        (
            (MP_DOMAIN, "play_media"),
            {"media_content_id": "media-source://nowhere/x", "media_content_type": "music"},
            HomeAssistantError,
            None,
        ),
    ],
)
async def test_bad_requests_change_nothing(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    service: tuple[str, str],
    data: dict[str, Any],
    error: type[Exception],
    key: str | None,
) -> None:
    """Each bad request is refused with its error; no task is created, nothing is driven."""
    data = {ATTR_ENTITY_ID: PLAYER, **data}
    with pytest.raises(error) as raised:
        await hass.services.async_call(*service, data, blocking=True)
    if key is not None:
        assert getattr(raised.value, "translation_key", None) == key
    assert emulator.drives == []
    assert hass.states.get(PLAYER).state == "off"
    assert hass.states.get(EVENTS).state == "unknown"


@pytest.mark.usefixtures("avatar")
async def test_media_urls_that_are_not_audio(
    hass: HomeAssistant, emulator: ZegoEmulator, media_server: TestServer
) -> None:
    """A 404 and a text file fail the call with a translated error; the avatar stays quiet."""
    for name in ("missing.wav", "notes.txt"):
        with pytest.raises(HomeAssistantError) as raised:
            await hass.services.async_call(
                MP_DOMAIN,
                "play_media",
                {
                    ATTR_ENTITY_ID: PLAYER,
                    "media_content_id": str(media_server.make_url(f"/{name}")),
                    "media_content_type": "music",
                },
                blocking=True,
            )
        assert raised.value.translation_domain == DOMAIN
        assert raised.value.translation_key is not None
    assert all(drive.audio == b"" for drive in emulator.drives)
    assert hass.states.get("binary_sensor.lobby_speaking").state == "off"


@pytest.mark.usefixtures("avatar")
async def test_media_stop_interrupts(
    hass: HomeAssistant, emulator: ZegoEmulator, engine_log: EngineLog
) -> None:
    """Stopping the player mid-utterance sends Stop, closes the socket and reports it."""
    engine_log.seconds = 5.0
    await hass.services.async_call(
        MP_DOMAIN,
        "play_media",
        {
            ATTR_ENTITY_ID: PLAYER,
            "media_content_id": f"media-source://tts/{ENGINE}?message=A+long+story",
            "media_content_type": "music",
        },
        blocking=True,
    )
    assert hass.states.get(PLAYER).state == "playing"
    await hass.services.async_call(MP_DOMAIN, "media_stop", {ATTR_ENTITY_ID: PLAYER}, blocking=True)
    drive = emulator.drives[-1]
    assert drive.stop_at is not None or drive.interrupted
    await _wait_state(hass, PLAYER, "idle")
    assert hass.states.get(EVENTS).attributes["event_type"] == "speech_interrupted"
    for _ in range(200):
        if emulator.open_ws_connections == 0:
            break
        await asyncio.sleep(0.01)
    assert emulator.open_ws_connections == 0
    assert drive.audio_seconds < 5.0


@pytest.mark.usefixtures("avatar")
async def test_turn_on_and_off_drive_the_stream(
    hass: HomeAssistant, emulator: ZegoEmulator
) -> None:
    """A managed avatar's player turns the stream task on and off."""
    await hass.services.async_call(MP_DOMAIN, "turn_on", {ATTR_ENTITY_ID: PLAYER}, blocking=True)
    assert hass.states.get(PLAYER).state == "idle"
    assert hass.states.get("binary_sensor.lobby_stream_online").state == "on"
    await hass.services.async_call(MP_DOMAIN, "turn_off", {ATTR_ENTITY_ID: PLAYER}, blocking=True)
    assert hass.states.get(PLAYER).state == "off"
    assert all(task.status.value >= 4 for task in emulator.tasks.values())


@pytest.mark.usefixtures("avatar")
async def test_browse_media_offers_audio_sources(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> None:
    """The player browses HA's media sources (TTS among them)."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "media_player/browse_media", "entity_id": PLAYER})
    response = await client.receive_json()
    assert response["success"], response
    children = {child["media_content_id"] for child in response["result"]["children"]}
    assert any(child.startswith("media-source://tts") for child in children)

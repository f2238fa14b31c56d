"""A request that fails before its first audio never reaches the avatar's drive.

ZEGO interrupts whatever the avatar is saying when a new drive is issued (DriveByWsStream).
Before: on a live stream the drive was opened in parallel with the source, and an
interrupting request cut the running one at once, so a bad URL, a file that is not audio or
a refusing engine still silenced the avatar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.zego_digital_human.const import DOMAIN
from tests.speech.tts_engine import ENGINE, MAX_MESSAGE
from zego_emulator import DriveStatus

from .conftest import avatar_subentry, managed_avatar_data

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from tests.speech.tts_engine import EngineLog
    from zego_emulator import ZegoEmulator

PLAYER = "media_player.lobby"


@pytest.fixture
def subentries_data() -> list[dict[str, Any]]:
    """One managed avatar whose default engine is the test engine."""
    return [avatar_subentry(managed_avatar_data(tts_engine=ENGINE))]


@pytest.fixture
async def media_server(socket_enabled: None) -> AsyncIterator[TestServer]:
    """Serves a text file; everything else is a 404."""

    async def handle(request: web.Request) -> web.Response:
        if request.path != "/notes.txt":
            raise web.HTTPNotFound
        return web.Response(body=b"not audio at all\n" * 50, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/{name}", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


def _bad_request(kind: str, server: TestServer) -> tuple[str, dict[str, Any]]:
    if kind == "refusing engine":
        return "speak", {"message": "x" * (MAX_MESSAGE + 1)}
    if kind == "silent engine":
        return "speak", {"message": "Nothing", "options": {"variant": "empty"}}
    name = "notes.txt" if kind == "not audio" else "missing.wav"
    return "play_audio", {"media_id": str(server.make_url(f"/{name}"))}


@pytest.mark.parametrize("kind", ["refusing engine", "silent engine", "not audio", "bad url"])
async def test_failing_request_leaves_the_avatar_speaking(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    engine_log: EngineLog,
    avatar: MockConfigEntry,
    media_server: TestServer,
    kind: str,
) -> None:
    """Mid-speech on a live stream, a request failing before audio changes nothing."""
    engine_log.seconds = 2.0
    response = await hass.services.async_call(
        DOMAIN,
        "speak",
        {"entity_id": PLAYER, "message": "A long story"},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    drive_id = response["results"][0]["drive_id"]  # type: ignore[index,call-overload]
    assert hass.states.get(PLAYER).state == "playing"

    service, data = _bad_request(kind, media_server)
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            DOMAIN,
            service,
            {"entity_id": PLAYER, "policy": "interrupt", **data},
            blocking=True,
            return_response=True,
        )
    assert raised.value.translation_domain == DOMAIN
    assert raised.value.translation_key is not None
    # No new drive, nothing interrupted: the story plays to its end.
    assert [drive.drive_id for drive in emulator.drives] == [drive_id]
    drive = await emulator.wait_for_drive(drive_id, DriveStatus.ENDED, timeout=10)
    assert not drive.interrupted
    assert drive.audio_seconds == pytest.approx(2.0, abs=0.05)
    assert not any(request.action == "InterruptDriveTask" for request in emulator.requests)
    assert len(emulator.drives) == 1
    assert hass.states.get("event.lobby_speech").attributes["event_type"] == "speech_finished"


async def test_good_request_still_interrupts(
    hass: HomeAssistant, emulator: ZegoEmulator, engine_log: EngineLog, avatar: MockConfigEntry
) -> None:
    """An interrupting request that has audio takes over, as the policy says."""
    engine_log.seconds = 2.0
    first = await hass.services.async_call(
        DOMAIN,
        "speak",
        {"entity_id": PLAYER, "message": "A long story"},
        blocking=True,
        return_response=True,
    )
    assert first is not None
    engine_log.seconds = 0.3
    second = await hass.services.async_call(
        DOMAIN,
        "speak",
        {"entity_id": PLAYER, "message": "Urgent", "wait": True},
        blocking=True,
        return_response=True,
    )
    assert second is not None
    assert second["results"][0]["outcome"] == "finished"  # type: ignore[index,call-overload]
    cut = await emulator.wait_for_drive(
        first["results"][0]["drive_id"],  # type: ignore[index,call-overload]
        DriveStatus.ENDED,
        timeout=10,
    )
    assert cut.audio_seconds < 2.0
    assert len(emulator.drives) == 2

"""The newcomer's path in a real browser: HA speaks, the emulator's stage page shows it.

HA runs in process with the integration set up against an emulator on a loopback port and a
test TTS engine; headless Chromium watches /stage while the speak action goes THROUGH HA. The
page must show the avatar speaking, then ready, and list the drive with 0 underruns, its audio
playable at the length the avatar received.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.const import ATTR_ENTITY_ID, __version__ as ha_version
import pytest

from custom_components.zego_digital_human.const import DOMAIN
from tests.components.conftest import avatar_subentry, managed_avatar_data
from tests.speech.tts_engine import (
    ENGINE,
    EngineLog,
    speech_test_engines,
)
from zego_emulator import DriveStatus, ZegoEmulator

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from homeassistant.core import HomeAssistant

    from .conftest import Browser

PLAYER = "media_player.lobby"
SPEECH_SECONDS = 4.0
"""Long enough that the page (polling every 250 ms) sees the avatar speak on a busy machine."""

TASK_CARD = ".task[data-avatar='Lobby Anna']"


@pytest.fixture
def subentries_data() -> list[dict[str, Any]]:
    """One managed avatar (Lobby Anna) whose default engine is the test engine."""
    return [avatar_subentry(managed_avatar_data(tts_engine=ENGINE))]


@pytest.fixture
async def engine_log(hass: HomeAssistant, tmp_path: Path) -> AsyncIterator[EngineLog]:
    """tts, ffmpeg and media_source with the test engine, before the integration loads."""
    async with speech_test_engines(hass, str(tmp_path), EngineLog(seconds=SPEECH_SECONDS)) as log:
        yield log


@pytest.mark.usefixtures("avatar")
async def test_stage_shows_speech_from_ha(
    hass: HomeAssistant, emulator: ZegoEmulator, browser: Browser, engine_log: EngineLog
) -> None:
    """speak through HA -> the stage shows speaking, then ready, and the drive with 0 underruns."""
    await browser.open(f"{emulator.endpoint}/stage")
    # No stream yet: a managed avatar starts its task on demand.
    assert await browser.js("return document.querySelectorAll('.task').length") == 0
    assert await browser.js("return !document.querySelector('#no-tasks').hidden")

    response = await hass.services.async_call(
        DOMAIN,
        "speak",
        {ATTR_ENTITY_ID: PLAYER, "message": "Welcome to the lobby"},
        blocking=True,
        return_response=True,
    )
    assert engine_log.messages == ["Welcome to the lobby"]
    assert response is not None
    results = response["results"]
    assert isinstance(results, list)
    assert len(results) == 1
    assert isinstance(results[0], dict)
    drive_id = str(results[0]["drive_id"])
    assert drive_id == emulator.drives[-1].drive_id

    speaking = await browser.wait_for(
        "the avatar speaking",
        f"const c = document.querySelector({TASK_CARD!r});"
        " return c && c.dataset.state === 'speaking' && c.dataset.speakingDriveId;",
        limit=SPEECH_SECONDS,
    )
    assert speaking == drive_id
    task = emulator.tasks[emulator.drives[-1].task_id]
    card = await browser.js(
        f"const c = document.querySelector({TASK_CARD!r}); return {{"
        "id: c.dataset.taskId, status: c.dataset.status,"
        " label: c.querySelector('.state').textContent,"
        " room: c.querySelector('[data-field=room]').textContent,"
        " stream: c.querySelector('[data-field=stream]').textContent};"
    )
    assert card == {
        "id": task.task_id,
        "status": "3",
        "label": "speaking",
        "room": "lobby_room",
        "stream": "lobby_stream",
    }
    row = f"tr[data-drive-id='{drive_id}']"
    assert await browser.js(f"return document.querySelector({row!r}).dataset.playing") == "true"
    tag = ha_version.replace(".", "_")
    await browser.screenshot(f"stage-ha{tag}-speaking.png")

    drive = await emulator.wait_for_drive(drive_id, DriveStatus.ENDED, timeout=SPEECH_SECONDS + 10)
    assert drive.underruns == 0
    assert drive.violations == []
    await browser.wait_for(
        "the avatar ready after the drive",
        f"const c = document.querySelector({TASK_CARD!r});"
        " return c && c.dataset.state === 'ready';",
    )
    shown = await browser.wait_for(
        "the ended drive with its figures",
        f"const r = document.querySelector({row!r});"
        " return r && r.dataset.status === '4' && r.dataset.playing === 'false' && {"
        "underruns: r.dataset.underruns, violations: r.dataset.violations,"
        " audio: Number(r.dataset.audioSeconds), task: r.dataset.taskId,"
        " cell: r.querySelector('[data-field=underruns]').textContent};",
    )
    assert shown == {
        "underruns": "0",
        "violations": "0",
        "audio": pytest.approx(drive.audio_seconds, abs=1e-3),
        "task": task.task_id,
        "cell": "0",
    }
    assert drive.audio_seconds == pytest.approx(SPEECH_SECONDS, abs=0.01)

    # The play button loads the audio the avatar received: same length as the drive.
    await browser.js(f"document.querySelector({row!r} + ' button.play').click();")
    duration = await browser.wait_for(
        "the drive's audio loaded by the play button",
        f"const b = document.querySelector({row!r} + ' button.play');"
        " return b.dataset.error ? 'error' : b.dataset.duration;",
    )
    assert duration != "error"
    assert float(duration) == pytest.approx(drive.audio_seconds, abs=0.01)
    await browser.js("for (const a of document.querySelectorAll('audio')) a.pause();")
    await browser.screenshot(f"stage-ha{tag}-ready.png")

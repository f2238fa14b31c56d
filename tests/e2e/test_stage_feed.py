"""The JSON feed behind the stage page (stage.py), without a browser.

The avatar state follows the emulator's playback model: speaking from the first frame to the
end of playback, ready when streaming and quiet, starting/offline from the task status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from custom_components.zego_digital_human.client import RateLimiter, StreamTaskSpec, ZegoClient
from zego_emulator import DriveStatus, EmulatorConfig, TaskStatus, ZegoEmulator
from zego_emulator.config import LOBBY_ANNA_ID, PUBLIC_TIMBRE_SUNNY
from zego_emulator.playback import on_frame, on_interrupt, on_stop
from zego_emulator.records import DriveRecord, TaskRecord
from zego_emulator.stage import RECENT_DRIVES, drive_playing, task_state

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

SECOND_OF_PCM = 16000 * 2


def _task(status: TaskStatus) -> TaskRecord:
    return TaskRecord(
        task_id="t1",
        app_id=1,
        digital_human_id=LOBBY_ANNA_ID,
        room_id="r",
        stream_id="s",
        ttl=60,
        max_idle_time=60,
        background_color="#000000",
        create_time=0,
        created_at=0.0,
        status=status,
    )


def _ws_drive(**fields: Any) -> DriveRecord:
    return DriveRecord(
        drive_id="d1",
        task_id="t1",
        kind="ws",
        issued_at=10.0,
        sample_rate=16000,
        channel=1,
        **fields,
    )


def test_ws_drive_plays_from_first_frame_to_playback_end() -> None:
    """Quiet before audio, speaking while buffered audio plays, quiet after it played out."""
    drive = _ws_drive(status=DriveStatus.DRIVING)
    task = _task(TaskStatus.STREAMING)
    assert not drive_playing(drive, 10.5)
    assert task_state(task, [drive], 10.5) == "ready"
    on_frame(drive, 11.0, SECOND_OF_PCM)  # one second of audio arrives at t=11
    on_frame(drive, 11.5, SECOND_OF_PCM)
    assert not drive_playing(drive, 10.99)
    assert drive_playing(drive, 11.0)
    # Stop not received yet: still speaking, even past what has been buffered (a stutter).
    assert drive_playing(drive, 20.0)
    assert on_stop(drive, 12.0) == pytest.approx(13.0)
    assert task_state(task, [drive], 12.9) == "speaking"
    assert task_state(task, [drive], 13.0) == "ready"


def test_interrupted_and_failed_drives_are_quiet() -> None:
    """An interrupt ends playback at once; a drive that failed before playing never speaks."""
    drive = _ws_drive(status=DriveStatus.DRIVING)
    on_frame(drive, 11.0, SECOND_OF_PCM * 3)
    on_interrupt(drive, 12.0)
    assert drive_playing(drive, 11.5)
    assert not drive_playing(drive, 12.0)
    failed = _ws_drive(status=DriveStatus.FAILED)
    assert not drive_playing(failed, 11.0)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (TaskStatus.INITIALIZING, "starting"),
        (TaskStatus.STREAMING, "ready"),
        (TaskStatus.INIT_FAILED, "offline"),
        (TaskStatus.STOPPING, "offline"),
        (TaskStatus.STOPPED, "offline"),
    ],
)
def test_task_state_from_status(status: TaskStatus, state: str) -> None:
    """Without a playing drive the state follows the task status."""
    assert task_state(_task(status), [], 0.0) == state


def test_text_drive_speaks_while_driving() -> None:
    """Text/audio drives have no frames: they speak while in status 2."""
    drive = DriveRecord(drive_id="d", task_id="t1", kind="text", issued_at=0.0)
    task = _task(TaskStatus.STREAMING)
    assert task_state(task, [drive], 1.0) == "ready"
    drive.status = DriveStatus.DRIVING
    assert task_state(task, [drive], 1.0) == "speaking"
    drive.status = DriveStatus.ENDED
    assert task_state(task, [drive], 1.0) == "ready"


@pytest.fixture
async def stage(socket_enabled: None) -> AsyncIterator[tuple[ZegoEmulator, ZegoClient]]:
    """An emulator at real time (text drives last seconds) with a short start-up.

    Long enough that a loaded machine still reads the feed while a new task is starting
    (at 0.02 s a busy CI run saw it ready already).
    """
    config = EmulatorConfig(port=0, time_scale=1.0, startup_delay=0.5, ws_tls=False)
    async with ZegoEmulator(config) as emu, aiohttp.ClientSession() as session:
        client = ZegoClient(
            app_id=emu.config.app_id,
            server_secret=emu.config.server_secret,
            session=session,
            endpoint=emu.endpoint,
            rate_limiter=RateLimiter(),
        )
        yield emu, client


async def _feed(emu: ZegoEmulator) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{emu.endpoint}/stage/feed.json") as response,
    ):
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        data: dict[str, Any] = await response.json()
        return data


async def test_page_is_self_contained(stage: tuple[ZegoEmulator, ZegoClient]) -> None:
    """The page is served as HTML and loads nothing from another origin."""
    emu, _ = stage
    async with aiohttp.ClientSession() as session:
        for path in ("/stage", "/stage/"):
            async with session.get(emu.endpoint + path) as response:
                assert response.status == 200
                assert response.content_type == "text/html"
                html = await response.text()
            assert 'id="tasks"' in html
            assert "/stage/feed.json" in html
            assert "http://" not in html
            assert "https://" not in html
            assert "<script src" not in html
            assert "<link" not in html


async def test_browser_at_root_is_sent_to_the_stage(
    stage: tuple[ZegoEmulator, ZegoClient],
) -> None:
    """A browser opening "/" lands on the stage; API-shaped requests on "/" are untouched."""
    emu, _ = stage
    async with aiohttp.ClientSession() as session:
        html = {"Accept": "text/html,application/xhtml+xml"}
        async with session.get(emu.endpoint + "/", headers=html, allow_redirects=False) as resp:
            assert resp.status == 302
            assert resp.headers["Location"] == "/stage"
        async with session.get(emu.endpoint + "/?Action=DescribeDigitalHumanList") as resp:
            assert resp.status == 200
            assert resp.content_type == "application/json"
            body = await resp.json()
    assert body["Code"] != 0  # unsigned: the gateway still answers it as the API
    assert emu.requests[-1].action == "DescribeDigitalHumanList"


async def test_feed_follows_a_task_and_a_drive(stage: tuple[ZegoEmulator, ZegoClient]) -> None:
    """Empty, then starting -> ready, speaking during a text drive, offline when stopped."""
    emu, client = stage
    assert await _feed(emu) == {
        "now": pytest.approx(emu.state.now(), abs=5),
        "tasks": [],
        "drives": [],
        "drive_count": 0,
    }

    task_id = await client.create_stream_task(
        StreamTaskSpec(digital_human_id=LOBBY_ANNA_ID, room_id="room1", stream_id="stream1")
    )
    (task,) = (await _feed(emu))["tasks"]
    assert task["task_id"] == task_id
    assert task["avatar"] == "Lobby Anna"
    assert (task["room_id"], task["stream_id"]) == ("room1", "stream1")
    assert (task["status"], task["state"]) == (1, "starting")

    await emu.wait_for_task(task_id, TaskStatus.STREAMING)
    (task,) = (await _feed(emu))["tasks"]
    assert (task["status"], task["state"], task["speaking_drive_id"]) == (3, "ready", None)

    drive_id = await client.drive_by_text(task_id, "Hello there, welcome in.", PUBLIC_TIMBRE_SUNNY)
    await emu.wait_for_drive(drive_id, DriveStatus.DRIVING)
    feed = await _feed(emu)
    (task,) = feed["tasks"]
    assert (task["state"], task["speaking_drive_id"]) == ("speaking", drive_id)
    (drive,) = feed["drives"]
    assert drive["drive_id"] == drive_id
    assert drive["avatar"] == "Lobby Anna"
    assert (drive["kind"], drive["status"], drive["playing"]) == ("text", 2, True)
    assert drive["text"] == "Hello there, welcome in."
    assert drive["underruns"] == 0
    assert drive["violations"] == []
    assert drive["audio_url"] is None  # text drives carry no PCM to play back

    await client.stop_stream_task(task_id)
    (task,) = (await _feed(emu))["tasks"]
    assert task["state"] == "offline"
    assert task["status"] in (4, 5)


async def test_recent_drives_newest_first_and_bounded(
    stage: tuple[ZegoEmulator, ZegoClient],
) -> None:
    """Only the newest drives are listed, newest first; drive_count counts them all."""
    emu, client = stage
    task_id = await client.create_stream_task(
        StreamTaskSpec(digital_human_id=LOBBY_ANNA_ID, room_id="room1", stream_id="stream1")
    )
    await emu.wait_for_task(task_id, TaskStatus.STREAMING)
    task = emu.tasks[task_id]
    ids = [emu.state.new_drive(task, "ws").drive_id for _ in range(RECENT_DRIVES + 3)]
    feed = await _feed(emu)
    assert feed["drive_count"] == RECENT_DRIVES + 3
    assert [d["drive_id"] for d in feed["drives"]] == ids[::-1][:RECENT_DRIVES]

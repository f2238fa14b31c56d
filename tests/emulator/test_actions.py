"""Actions: response shapes, resource codes, state codes, drive queueing and events."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import pytest

from zego_emulator import DriveStatus, EmulatorConfig, TaskStatus, ZegoEmulator
from zego_emulator.config import (
    KIOSK_BEN_ID,
    LOBBY_ANNA_ID,
    PRIVATE_TIMBRE_ANNA,
    PUBLIC_MIA_ID,
    PUBLIC_TIMBRE_CALM,
    PUBLIC_TIMBRE_SUNNY,
)

from .conftest import fast_config

if TYPE_CHECKING:
    from .signing import Api

# Long drives and a quick start-up: drive statuses can be observed between calls.
SLOW_DRIVES = fast_config(
    time_scale=1.0, startup_delay=0.01, stopping_delay=0.01, min_text_drive_seconds=60
)


def _text(
    task_id: str, text: str = "hello", mode: int = 0, timbre: str = PUBLIC_TIMBRE_SUNNY
) -> Any:
    return {
        "TaskId": task_id,
        "Text": text,
        "InterruptMode": mode,
        "TTSConfig": {"TimbreId": timbre},
    }


async def _task_for(api: Api, digital_human_id: str, stream_id: str) -> str:
    data = await api.ok(
        "CreateDigitalHumanStreamTask",
        {
            "DigitalHumanConfig": {"DigitalHumanId": digital_human_id},
            "RTCConfig": {"RoomId": "room", "StreamId": stream_id},
        },
    )
    await api.emu.wait_for_task(data["TaskId"], TaskStatus.STREAMING)
    return str(data["TaskId"])


# --- catalogue -------------------------------------------------------------------------------


async def test_digital_human_list_shape_and_modes(api: Api) -> None:
    data = await api.ok("GetDigitalHumanList", {})
    assert data["Total"] == 3
    names = [h["Name"] for h in data["DigitalHumans"]]
    assert names == ["Lobby Anna", "Kiosk Ben", "Public Mia"]
    anna = data["DigitalHumans"][0]
    assert set(anna) == {"DigitalHumanId", "Name", "AvatarUrl", "IsPublic", "Actions"}
    assert anna["IsPublic"] is False
    assert {"Action": "wave_hand", "PreviewUrl": anna["Actions"][1]["PreviewUrl"]} in anna[
        "Actions"
    ]
    public = await api.ok("GetDigitalHumanList", {"FetchMode": 2})
    assert [h["DigitalHumanId"] for h in public["DigitalHumans"]] == [PUBLIC_MIA_ID]
    private = await api.ok("GetDigitalHumanList", {"FetchMode": 3})
    assert private["Total"] == 2


async def test_digital_human_list_pages(api: Api) -> None:
    page = await api.ok("GetDigitalHumanList", {"Offset": 1, "Limit": 1})
    assert page["Total"] == 3
    assert [h["DigitalHumanId"] for h in page["DigitalHumans"]] == [KIOSK_BEN_ID]
    beyond = await api.ok("GetDigitalHumanList", {"Offset": 10})
    assert beyond == {"Total": 3, "DigitalHumans": []}


async def test_digital_human_info(api: Api) -> None:
    info = await api.ok("GetDigitalHumanInfo", {"DigitalHumanId": KIOSK_BEN_ID})
    assert info["Name"] == "Kiosk Ben"
    assert [a["Action"] for a in info["Actions"]] == ["idle_action", "shake_hands"]
    reply = await api.call("GetDigitalHumanInfo", {"DigitalHumanId": "no-such-avatar"})
    assert reply.code == 400000003


async def test_timbre_list(api: Api) -> None:
    public = await api.ok("GetTimbreList", {})
    assert {t["TimbreId"] for t in public["Timbres"]} == {PUBLIC_TIMBRE_SUNNY, PUBLIC_TIMBRE_CALM}
    assert set(public["Timbres"][0]) == {"TimbreId", "Name", "AvatarUrl"}
    assert await api.ok("GetTimbreList", {"DigitalHumanId": ""}) == public
    anna = await api.ok("GetTimbreList", {"DigitalHumanId": LOBBY_ANNA_ID})
    assert [t["TimbreId"] for t in anna["Timbres"]] == [PRIVATE_TIMBRE_ANNA]
    ben = await api.ok("GetTimbreList", {"DigitalHumanId": KIOSK_BEN_ID})
    assert ben == {"Total": 0, "Timbres": []}
    assert (await api.call("GetTimbreList", {"DigitalHumanId": "nope"})).code == 400000003
    paged = await api.ok("GetTimbreList", {"Limit": 1, "Offset": 1})
    assert paged["Total"] == 2
    assert len(paged["Timbres"]) == 1


# --- stream tasks ----------------------------------------------------------------------------


async def test_create_query_status_shapes(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.create_task("s1", TTL=100, MaxIdleTime=100)
    status = await api.ok("GetDigitalHumanStreamTaskStatus", {"TaskId": task_id})
    assert status["Status"] in (1, 3)
    assert set(status) == {"Status", "RoomId", "StreamId", "CreateTime"}
    assert status["StreamId"] == "s1"
    assert abs(status["CreateTime"] - emu.now()) < 5
    tasks = (await api.ok("QueryDigitalHumanStreamTasks"))["TaskList"]
    assert [t["TaskId"] for t in tasks] == [task_id]
    assert set(tasks[0]) == {"TaskId", "RoomId", "StreamId", "Status", "CreateTime"}


async def test_unknown_digital_human_on_create(api: Api) -> None:
    reply = await api.call(
        "CreateDigitalHumanStreamTask",
        {
            "DigitalHumanConfig": {"DigitalHumanId": "nope"},
            "RTCConfig": {"RoomId": "r", "StreamId": "s"},
        },
    )
    assert reply.code == 400000003


async def test_stream_id_of_a_live_task_is_taken(api: Api, emu: ZegoEmulator) -> None:
    first = await api.create_task("same")
    reply = await api.call(
        "CreateDigitalHumanStreamTask",
        {
            "DigitalHumanConfig": {"DigitalHumanId": KIOSK_BEN_ID},
            "RTCConfig": {"RoomId": "other", "StreamId": "same"},
        },
    )
    assert reply.code == 400000015
    assert "same" in reply.message
    await api.ok("StopDigitalHumanStreamTask", {"TaskId": first})
    # Still held while stopping; free once stopped.
    await emu.wait_for_task(first, TaskStatus.STOPPED)
    await api.create_task("same")


@pytest.mark.parametrize("emu_config", [fast_config(extra_apps={77: "e" * 32})])
async def test_stream_ids_and_tasks_are_per_app(api: Api) -> None:
    mine = await api.create_task("shared")
    other = await api.ok(
        "CreateDigitalHumanStreamTask",
        {
            "DigitalHumanConfig": {"DigitalHumanId": LOBBY_ANNA_ID},
            "RTCConfig": {"RoomId": "r", "StreamId": "shared"},
        },
        app_id=77,
        secret="e" * 32,
    )
    listed = await api.ok("QueryDigitalHumanStreamTasks", {}, app_id=77, secret="e" * 32)
    assert [t["TaskId"] for t in listed["TaskList"]] == [other["TaskId"]]
    # Another AppId cannot see or touch my task.
    reply = await api.call(
        "StopDigitalHumanStreamTask", {"TaskId": mine}, app_id=77, secret="e" * 32
    )
    assert reply.code == 400000005


@pytest.mark.parametrize("emu_config", [fast_config(max_concurrent_tasks=2)])
async def test_concurrency_limit(api: Api, emu: ZegoEmulator) -> None:
    first = await api.create_task("a")
    await api.create_task("b")
    reply = await api.call(
        "CreateDigitalHumanStreamTask",
        {
            "DigitalHumanConfig": {"DigitalHumanId": LOBBY_ANNA_ID},
            "RTCConfig": {"RoomId": "r", "StreamId": "c"},
        },
    )
    assert reply.code == 400000008
    await api.ok("StopDigitalHumanStreamTask", {"TaskId": first})
    await emu.wait_for_task(first, TaskStatus.STOPPED)
    await api.create_task("c")


@pytest.mark.parametrize(
    "action",
    [
        "StopDigitalHumanStreamTask",
        "GetDigitalHumanStreamTaskStatus",
        "DriveByWsStream",
        "InterruptDriveTask",
        "DriveByAudio",
    ],  # fmt: skip
)
async def test_unknown_task_id(api: Api, action: str) -> None:
    body = {"TaskId": "no-such-task", "AudioUrl": "https://example.invalid/a.wav"}
    assert (await api.call(action, body)).code == 400000005


@pytest.mark.parametrize("emu_config", [fast_config(startup_delay=1000)])
@pytest.mark.parametrize(
    ("action", "extra"),
    [
        ("DriveByWsStream", {}),
        ("DriveByText", {"Text": "hi", "TTSConfig": {"TimbreId": PUBLIC_TIMBRE_SUNNY}}),
        ("DriveByAudio", {"AudioUrl": "https://example.invalid/a.wav"}),
        ("DriveByRTCStream", {"RTCConfig": {"RoomId": "r", "StreamId": "src"}}),
        ("InterruptDriveTask", {}),
        ("DoAction", {"Action": "nod"}),
    ],
)
async def test_calls_while_initializing_answer_400000006(
    api: Api, emu: ZegoEmulator, action: str, extra: dict[str, Any]
) -> None:
    task_id = await api.create_task()
    assert emu.tasks[task_id].status is TaskStatus.INITIALIZING
    assert (await api.call(action, {"TaskId": task_id, **extra})).code == 400000006
    # Status still works, and says 1.
    assert (await api.ok("GetDigitalHumanStreamTaskStatus", {"TaskId": task_id}))["Status"] == 1


async def test_stopping_and_stopped_tasks(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    await api.ok("StopDigitalHumanStreamTask", {"TaskId": task_id})
    await emu.wait_for_task(task_id, TaskStatus.STOPPED)
    assert (await api.call("StopDigitalHumanStreamTask", {"TaskId": task_id})).code == 400000007
    for action in ("GetDigitalHumanStreamTaskStatus", "DriveByWsStream", "InterruptDriveTask"):
        assert (await api.call(action, {"TaskId": task_id})).code == 400000005, action
    assert (await api.ok("QueryDigitalHumanStreamTasks"))["TaskList"] == []


@pytest.mark.parametrize("emu_config", [fast_config(stopping_delay=1000)])
async def test_stop_while_stopping_answers_400000007(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    await api.ok("StopDigitalHumanStreamTask", {"TaskId": task_id})
    assert emu.tasks[task_id].status is TaskStatus.STOPPING
    assert (await api.call("StopDigitalHumanStreamTask", {"TaskId": task_id})).code == 400000007
    assert (await api.call("DriveByWsStream", {"TaskId": task_id})).code == 400000007
    assert (await api.ok("GetDigitalHumanStreamTaskStatus", {"TaskId": task_id}))["Status"] == 4
    # Stopping tasks are no longer "running": not listed.
    assert (await api.ok("QueryDigitalHumanStreamTasks"))["TaskList"] == []


@pytest.mark.parametrize("emu_config", [fast_config(ended_task_code=400000007)])
async def test_ended_task_code_is_a_setting(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    await api.ok("StopDigitalHumanStreamTask", {"TaskId": task_id})
    await emu.wait_for_task(task_id, TaskStatus.STOPPED)
    assert (await api.call("DriveByWsStream", {"TaskId": task_id})).code == 400000007


# --- timbres on DriveByText ------------------------------------------------------------------


async def test_timbre_checks(api: Api, emu: ZegoEmulator) -> None:
    anna = await _task_for(api, LOBBY_ANNA_ID, "anna")
    ben = await _task_for(api, KIOSK_BEN_ID, "ben")
    assert (await api.call("DriveByText", _text(anna, timbre="nope"))).code == 400000004
    # A private timbre works for its own avatar only.
    assert (await api.call("DriveByText", _text(anna, timbre=PRIVATE_TIMBRE_ANNA))).code == 0
    assert (await api.call("DriveByText", _text(ben, timbre=PRIVATE_TIMBRE_ANNA))).code == 400000009
    # Configured unsupported pair: Kiosk Ben cannot use "Calm"; Anna can.
    assert (await api.call("DriveByText", _text(ben, timbre=PUBLIC_TIMBRE_CALM))).code == 400000009
    assert (await api.call("DriveByText", _text(anna, timbre=PUBLIC_TIMBRE_CALM))).code == 0


@pytest.mark.parametrize("emu_config", [fast_config(unsupported_timbres=frozenset())])
async def test_unsupported_pairs_are_a_setting(api: Api) -> None:
    ben = await _task_for(api, KIOSK_BEN_ID, "ben")
    assert (await api.call("DriveByText", _text(ben, timbre=PUBLIC_TIMBRE_CALM))).code == 0


# --- DoAction and GetDriveStatus -------------------------------------------------------------


async def test_do_action(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    await api.ok("DoAction", {"TaskId": task_id, "Action": "nod"})
    assert emu.tasks[task_id].actions_done == ["nod"]
    reply = await api.call("DoAction", {"TaskId": task_id, "Action": "shake_hands"})
    assert reply.code == 400000001  # Ben's action, not Anna's
    assert reply.message.startswith("Invalid parameter: Action")


async def test_get_drive_status(api: Api) -> None:
    task_id = await api.streaming_task()
    first = (await api.ok("DriveByWsStream", {"TaskId": task_id}))["DriveId"]
    second = (await api.ok("DriveByWsStream", {"TaskId": task_id}))["DriveId"]
    listed = await api.ok("GetDriveStatus", {"TaskId": task_id})
    assert listed == {
        "DriveList": [{"DriveId": first, "Status": 4}, {"DriveId": second, "Status": 1}]
    }
    one = await api.ok("GetDriveStatus", {"DriveId": second})
    assert one == {"DriveList": [{"DriveId": second, "Status": 1}]}
    assert (await api.call("GetDriveStatus", {"DriveId": "nope"})).code == 400000001


# --- drive queueing ----------------------------------------------------------------------------


@pytest.mark.parametrize("emu_config", [SLOW_DRIVES])
async def test_text_drives_queue_and_preempt(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    first = (await api.ok("DriveByText", _text(task_id)))["DriveId"]
    second = (await api.ok("DriveByText", _text(task_id)))["DriveId"]
    assert first != second
    assert emu.drive(first).status is DriveStatus.DRIVING
    assert emu.drive(second).status is DriveStatus.QUEUED
    # InterruptMode 1 pre-empts the current drive but keeps the queue.
    third = (await api.ok("DriveByText", _text(task_id, mode=1)))["DriveId"]
    assert emu.drive(first).status is DriveStatus.ENDED
    assert emu.drive(first).interrupted
    assert emu.drive(third).status is DriveStatus.DRIVING
    assert emu.drive(second).status is DriveStatus.QUEUED
    # DriveByAudio queues like text.
    fourth = (
        await api.ok(
            "DriveByAudio", {"TaskId": task_id, "AudioUrl": "http://example.invalid/a.mp3"}
        )
    )["DriveId"]
    assert emu.drive(fourth).status is DriveStatus.QUEUED
    # InterruptDriveTask stops the current drive and discards the queue.
    await api.ok("InterruptDriveTask", {"TaskId": task_id})
    for drive_id in (second, third, fourth):
        assert emu.drive(drive_id).status is DriveStatus.ENDED
        assert emu.drive(drive_id).interrupted
    assert [s for s, _ in emu.drive(second).status_history] == [
        DriveStatus.QUEUED,
        DriveStatus.ENDED,
    ]


@pytest.mark.parametrize("emu_config", [SLOW_DRIVES])
async def test_ws_drive_preempts_and_flushes_queue(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    playing = (await api.ok("DriveByText", _text(task_id)))["DriveId"]
    queued = (await api.ok("DriveByText", _text(task_id)))["DriveId"]
    ws_drive = (await api.ok("DriveByWsStream", {"TaskId": task_id}))["DriveId"]
    assert emu.drive(playing).interrupted
    assert emu.drive(queued).interrupted
    assert emu.drive(playing).terminal
    assert emu.drive(queued).terminal
    assert emu.drive(ws_drive).status is DriveStatus.QUEUED  # until its first audio frame
    # A text drive with InterruptMode 0 waits behind the WS drive.
    later = (await api.ok("DriveByText", _text(task_id)))["DriveId"]
    assert emu.drive(later).status is DriveStatus.QUEUED


@pytest.mark.parametrize(
    "emu_config",
    [fast_config(time_scale=1.0, startup_delay=0.01, interrupted_drive_status=DriveStatus.FAILED)],
)
async def test_interrupted_status_is_a_setting(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id = (await api.ok("DriveByText", _text(task_id)))["DriveId"]
    await api.ok("InterruptDriveTask", {"TaskId": task_id})
    assert emu.drive(drive_id).status is DriveStatus.FAILED


async def test_text_drives_play_in_order(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    first = (await api.ok("DriveByText", _text(task_id)))["DriveId"]
    second = (await api.ok("DriveByText", _text(task_id, "a much longer sentence to say")))[
        "DriveId"
    ]
    one = await emu.wait_for_drive(first, DriveStatus.ENDED)
    two = await emu.wait_for_drive(second, DriveStatus.ENDED)
    assert not one.interrupted
    assert not two.interrupted
    assert one.ended_at is not None
    assert two.ended_at is not None
    assert one.ended_at <= two.status_history[1][1] <= two.ended_at


async def test_rtc_drive_runs_until_interrupted(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    body = {"TaskId": task_id, "RTCConfig": {"RoomId": "r", "StreamId": "src"}}
    drive_id = (await api.ok("DriveByRTCStream", body))["DriveId"]
    assert emu.drive(drive_id).status is DriveStatus.DRIVING
    await api.ok("InterruptDriveTask", {"TaskId": task_id})
    assert emu.drive(drive_id).status is DriveStatus.ENDED


# --- events ----------------------------------------------------------------------------------


async def test_callback_shaped_events(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id = (await api.ok("DriveByText", _text(task_id)))["DriveId"]
    await emu.wait_for_drive(drive_id, DriveStatus.ENDED)
    await api.ok("StopDigitalHumanStreamTask", {"TaskId": task_id})
    await emu.wait_for_task(task_id, TaskStatus.STOPPED)
    task_events = [e["Detail"]["Status"] for e in emu.events if e["EventType"] == 3]
    drive_events = [e["Detail"]["Status"] for e in emu.events if e["EventType"] == 4]
    assert task_events == [1, 3, 4, 5]
    assert drive_events == [1, 2, 4]
    event = emu.events[0]
    assert set(event) == {
        "AppId",
        "TaskId",
        "EventType",
        "Nonce",
        "Timestamp",
        "Signature",
        "EventTime",
        "Detail",
    }
    assert event["AppId"] == emu.config.app_id
    assert event["TaskId"] == task_id
    assert event["Detail"] == {"Status": 1, "RoomId": "room_1", "StreamId": "stream_1"}
    assert len(event["Timestamp"]) == 10  # seconds, as in ZEGO's examples
    joined = "".join(sorted([emu.config.callback_secret, event["Timestamp"], event["Nonce"]]))
    assert event["Signature"] == hashlib.sha1(joined.encode(), usedforsecurity=False).hexdigest()
    assert abs(event["EventTime"] / 1000 - emu.now()) < 5


def test_callback_signature_vector() -> None:
    from zego_emulator.events import callback_signature

    assert (
        callback_signature("secret", "1470820198", "123412")
        == "5bd59fd62953a8059fb7eaba95720f66d19e4517"
    )


def test_config_rejects_bad_interrupted_status() -> None:
    with pytest.raises(ValueError, match="interrupted_drive_status"):
        EmulatorConfig(interrupted_drive_status=DriveStatus.DRIVING)

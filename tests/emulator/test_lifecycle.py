"""Task lifecycle with a small time scale: start-up, stop, TTL, MaxIdleTime, expiry."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from zego_emulator import Fault, TaskStatus, ZegoEmulator
from zego_emulator.config import PUBLIC_TIMBRE_SUNNY

from .conftest import fast_config

if TYPE_CHECKING:
    from .signing import Api


def _history(emu: ZegoEmulator, task_id: str) -> list[TaskStatus]:
    return [s for s, _ in emu.tasks[task_id].status_history]


async def test_create_starts_initializing_then_streams(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.create_task()
    task = emu.tasks[task_id]
    assert task.status_history[0][0] is TaskStatus.INITIALIZING
    await emu.wait_for_task(task_id, TaskStatus.STREAMING)
    (_, created), (_, streaming) = task.status_history
    # startup_delay 0.5 s x time_scale 0.01 = 5 ms (a generous upper bound for a busy machine)
    assert 0.004 <= streaming - created < 1.0
    data = await api.ok("GetDigitalHumanStreamTaskStatus", {"TaskId": task_id})
    assert data["Status"] == 3


@pytest.mark.parametrize("emu_config", [fast_config(time_scale=1.0, startup_delay=0.2)])
async def test_startup_delay_is_real_at_scale_one(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.create_task()
    task = await emu.wait_for_task(task_id, TaskStatus.STREAMING, timeout=5)
    (_, created), (_, streaming) = task.status_history
    assert streaming - created >= 0.2


async def test_stop_goes_through_stopping_and_vanishes(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    assert len((await api.ok("QueryDigitalHumanStreamTasks"))["TaskList"]) == 1
    await api.ok("StopDigitalHumanStreamTask", {"TaskId": task_id})
    await emu.wait_for_task(task_id, TaskStatus.STOPPED)
    assert _history(emu, task_id) == [1, 3, 4, 5]
    assert emu.tasks[task_id].end_reason == "stopped"
    assert (await api.ok("QueryDigitalHumanStreamTasks"))["TaskList"] == []
    assert (
        await api.call("GetDigitalHumanStreamTaskStatus", {"TaskId": task_id})
    ).code == 400000005
    assert (await api.call("StopDigitalHumanStreamTask", {"TaskId": task_id})).code == 400000007


async def test_stop_while_initializing(api: Api, emu: ZegoEmulator) -> None:
    emu.config.startup_delay = 1000
    task_id = await api.create_task()
    await api.ok("StopDigitalHumanStreamTask", {"TaskId": task_id})
    await emu.wait_for_task(task_id, TaskStatus.STOPPED)
    assert _history(emu, task_id) == [1, 4, 5]


async def test_ttl_ends_the_task(api: Api, emu: ZegoEmulator) -> None:
    # TTL 10 s x 0.01 = 0.1 s, measured from creation, whatever the drives.
    task_id = await api.streaming_task(TTL=10)
    body = {"TaskId": task_id, "Text": "hi", "TTSConfig": {"TimbreId": PUBLIC_TIMBRE_SUNNY}}
    await api.ok("DriveByText", body)
    task = await emu.wait_for_task(task_id, TaskStatus.STOPPED, timeout=5)
    assert task.end_reason == "ttl"
    assert task.ended_at is not None
    assert task.ended_at - task.created_at >= 0.1
    assert (await api.ok("QueryDigitalHumanStreamTasks"))["TaskList"] == []
    assert (await api.call("DriveByText", body)).code == 400000005
    assert (await api.call("StopDigitalHumanStreamTask", {"TaskId": task_id})).code == 400000007


async def test_idle_ends_the_task(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task(MaxIdleTime=30)  # 0.3 s
    task = await emu.wait_for_task(task_id, TaskStatus.STOPPED, timeout=5)
    assert task.end_reason == "idle"
    assert task.ended_at is not None
    assert task.ended_at - task.created_at >= 0.3


async def test_drives_reset_the_idle_timer(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task(MaxIdleTime=60)  # 0.6 s
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < 1.5:
        await api.ok("DriveByWsStream", {"TaskId": task_id})
        await asyncio.sleep(0.1)
        assert emu.tasks[task_id].status is TaskStatus.STREAMING
    last_drive = emu.tasks[task_id].last_activity_at
    task = await emu.wait_for_task(task_id, TaskStatus.STOPPED, timeout=5)
    assert task.end_reason == "idle"
    assert task.status_history[-2][1] - last_drive >= 0.6


async def test_do_action_does_not_count_as_driving(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task(MaxIdleTime=30)
    before = emu.tasks[task_id].last_activity_at
    await api.ok("DoAction", {"TaskId": task_id, "Action": "nod"})
    assert emu.tasks[task_id].last_activity_at == before


async def test_expire_task_in_process(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    emu.expire_task(task_id)
    assert emu.tasks[task_id].status is TaskStatus.STOPPING
    await emu.wait_for_task(task_id, TaskStatus.STOPPED)
    assert emu.tasks[task_id].end_reason == "expired"
    task_events = [e["Detail"]["Status"] for e in emu.events if e["EventType"] == 3]
    assert task_events == [1, 3, 4, 5]


async def test_init_failure(api: Api, emu: ZegoEmulator) -> None:
    emu.faults.add(Fault(kind="init_fail", message="render node crashed"))
    task_id = await api.create_task()
    await emu.wait_for_task(task_id, TaskStatus.INIT_FAILED)
    status = await api.ok("GetDigitalHumanStreamTaskStatus", {"TaskId": task_id})
    assert status["Status"] == 2
    assert status["FailReason"] == "render node crashed"
    assert (await api.ok("QueryDigitalHumanStreamTasks"))["TaskList"] == []
    assert (await api.call("DriveByWsStream", {"TaskId": task_id})).code == 400000006
    # The StreamId stays taken until the failed task is stopped.
    assert (
        await api.call(
            "CreateDigitalHumanStreamTask",
            {
                "DigitalHumanConfig": {"DigitalHumanId": emu.tasks[task_id].digital_human_id},
                "RTCConfig": {"RoomId": "room_1", "StreamId": "stream_1"},
            },
        )
    ).code == 400000015
    await api.ok("StopDigitalHumanStreamTask", {"TaskId": task_id})
    await emu.wait_for_task(task_id, TaskStatus.STOPPED)
    assert _history(emu, task_id) == [1, 2, 4, 5]
    # The next task starts normally: the fault fired once.
    assert await api.streaming_task("stream_2")

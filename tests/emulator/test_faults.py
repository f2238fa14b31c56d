"""Faults on demand (in-process) and credential changes."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from zego_emulator import DriveStatus, Fault, ZegoEmulator

from .signing import Api
from .wsutil import connect, expect_close, frames, new_drive, open_drive, pcm


async def test_http_status_fault_answers_non_json(api: Api, emu: ZegoEmulator) -> None:
    emu.faults.add(Fault(kind="http_status", action="GetDigitalHumanList", http_status=502))
    reply = await api.call("GetDigitalHumanList")
    assert reply.status == 502
    assert reply.body == "Internal Server Error"
    assert emu.requests[-1].code is None
    assert emu.requests[-1].http_status == 502
    # It fired once, and only for its action.
    assert (await api.call("GetDigitalHumanList")).code == 0
    assert len(emu.faults) == 0


async def test_fault_action_filter_and_until_cleared(api: Api, emu: ZegoEmulator) -> None:
    emu.faults.add(Fault.http(500, action="GetTimbreList", count=None))
    assert (await api.call("GetDigitalHumanList")).code == 0
    for _ in range(3):
        assert (await api.call("GetTimbreList")).status == 500
    emu.faults.clear()
    assert (await api.call("GetTimbreList")).code == 0


async def test_zego_error_fault(api: Api, emu: ZegoEmulator) -> None:
    emu.faults.add(Fault.zego(400010002, "System busy", count=2))
    for _ in range(2):
        reply = await api.call("QueryDigitalHumanStreamTasks")
        assert (reply.status, reply.code, reply.message) == (200, 400010002, "System busy")
        assert "RequestId" in reply.body
    assert (await api.call("QueryDigitalHumanStreamTasks")).code == 0


async def test_zego_error_fault_applies_before_the_gateway(api: Api, emu: ZegoEmulator) -> None:
    emu.faults.add(Fault.zego(100000015, "gateway internal error"))
    reply = await api.call("GetDigitalHumanList", secret="wrong")
    assert reply.code == 100000015


async def test_delay_fault(api: Api, emu: ZegoEmulator) -> None:
    emu.faults.add(Fault.slow(0.3, action="GetDigitalHumanList"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    reply = await api.call("GetDigitalHumanList")
    assert reply.code == 0
    assert loop.time() - started >= 0.29


async def test_delay_fault_lets_a_client_time_out(api: Api, emu: ZegoEmulator) -> None:
    emu.faults.add(Fault.slow(0.5))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await api.call("GetDigitalHumanList")
    # The emulator keeps answering other requests meanwhile.
    assert (await api.call("GetTimbreList")).code == 0


async def test_close_cuts_a_long_delay_short(session: aiohttp.ClientSession) -> None:
    emu = ZegoEmulator()
    await emu.start()
    api = Api(session, emu)
    emu.faults.add(Fault.slow(60))
    pending = asyncio.ensure_future(api.call("GetDigitalHumanList"))
    await asyncio.sleep(0.1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await emu.close()
    assert loop.time() - started < 5
    await asyncio.wait([pending], timeout=5)
    assert pending.done()
    pending.exception()  # the answer or a disconnect; either is fine


async def test_ws_drop_fault_cuts_the_connection(api: Api, emu: ZegoEmulator) -> None:
    emu.faults.add(Fault.ws_drop_after(6400))
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    for chunk in frames(pcm(0.5)):
        try:
            await ws.send_bytes(chunk)
        except (ConnectionError, aiohttp.ClientError):
            break
    code, _ = await expect_close(ws)
    assert code != 1000
    drive = await emu.wait_for_drive(drive_id, DriveStatus.FAILED)
    assert drive.dropped
    assert drive.violations == []
    assert 6400 <= drive.bytes_received < 16000
    assert drive.fail_reason == "connection dropped (fault)"
    assert emu.open_ws_connections == 0


async def test_ws_refuse_fault(api: Api, emu: ZegoEmulator) -> None:
    emu.faults.add(Fault.ws_refused(503))
    task_id = await api.streaming_task()
    drive_id, address = await new_drive(api, task_id)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await connect(api, address)
    assert err.value.status == 503
    # The token was not consumed: the next attempt works.
    ws = await connect(api, address)
    await ws.close()


async def test_revoke_and_set_secret(api: Api, emu: ZegoEmulator) -> None:
    old = emu.config.server_secret
    new = emu.revoke_credentials()
    assert new != old
    assert len(new) == 32
    assert (await api.call("GetDigitalHumanList", secret=old)).code == 100000005
    assert (await api.call("GetDigitalHumanList", secret=new)).code == 0
    emu.set_server_secret("a" * 32)
    assert emu.config.server_secret == "a" * 32
    assert (await api.call("GetDigitalHumanList", secret="a" * 32)).code == 0
    assert (await api.call("GetDigitalHumanList", secret=new)).code == 100000005


async def test_config_object_of_caller_is_not_changed(session: aiohttp.ClientSession) -> None:
    from zego_emulator import EmulatorConfig

    config = EmulatorConfig()
    async with ZegoEmulator(config) as emu:
        emu.revoke_credentials()
    assert config.server_secret == EmulatorConfig().server_secret


async def test_reset(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    await ws.send_bytes(pcm(0.1))
    emu.faults.add(Fault.http(500, action="GetTimbreList"))
    emu.revoke_credentials()
    emu.reset()
    code, _ = await expect_close(ws)
    assert code == 1001
    assert emu.tasks == {}
    assert emu.drives == []
    assert emu.events == []
    assert emu.requests == []
    assert len(emu.faults) == 0
    assert (await api.call("GetTimbreList")).code == 0  # initial secret restored
    assert await api.streaming_task()  # the StreamId is free again
    assert emu.open_ws_connections == 0
    assert drive_id not in {d.drive_id for d in emu.drives}


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault(kind="explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="count"):
        Fault(kind="delay", count=0)
    with pytest.raises(ValueError, match="unknown fault fields"):
        Fault.from_json({"kind": "delay", "seconds": 3})
    with pytest.raises(ValueError, match="count must be an integer"):
        Fault.from_json({"kind": "delay", "count": "2"})
    fault = Fault.from_json({"kind": "zego_error", "action": "DriveByWsStream", "code": 400010007})
    assert (fault.kind, fault.action, fault.code, fault.count) == (
        "zego_error",
        "DriveByWsStream",
        400010007,
        1,
    )

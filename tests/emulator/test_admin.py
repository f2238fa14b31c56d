"""The admin HTTP API under /_emulator/ (no signature, loopback only)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any
import wave

from zego_emulator import DriveStatus, TaskStatus, ZegoEmulator

from .wsutil import open_drive, pcm, stop_msg

if TYPE_CHECKING:
    import aiohttp

    from .signing import Api


async def _admin(
    session: aiohttp.ClientSession, emu: ZegoEmulator, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    url = f"{emu.endpoint}/_emulator/{path}"
    async with session.request(method, url, json=body) as resp:
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.read()


async def test_state_masks_secrets(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    status, state = await _admin(api.session, emu, "GET", "state")
    assert status == 200
    assert state["endpoint"] == emu.endpoint
    assert state["ws_endpoint"] == emu.ws_endpoint
    assert state["settings"]["server_secret"] == emu.config.server_secret[:4] + "***"
    assert emu.config.server_secret not in str(state)
    assert state["settings"]["time_scale"] == 0.01
    assert [t["TaskId"] for t in state["tasks"]] == [task_id]
    assert state["tasks"][0]["Status"] == 3
    assert state["open_ws_connections"] == 0


async def test_drives_and_audio(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    audio = pcm(0.25)
    await ws.send_bytes(audio)
    await ws.send_str(stop_msg(drive_id))
    await ws.close()
    await emu.wait_for_drive(drive_id, DriveStatus.ENDED)
    status, drives = await _admin(api.session, emu, "GET", "drives")
    assert status == 200
    assert drives[0]["drive_id"] == drive_id
    assert drives[0]["bytes_received"] == len(audio)
    assert drives[0]["underruns"] == 0
    assert "audio" not in drives[0]
    status, one = await _admin(api.session, emu, "GET", f"drives/{drive_id}")
    assert one["status"] == 4
    status, wav_bytes = await _admin(api.session, emu, "GET", f"drives/{drive_id}/audio.wav")
    assert status == 200
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        assert wav.readframes(wav.getnframes()) == audio
    assert (await _admin(api.session, emu, "GET", "drives/nope/audio.wav"))[0] == 404
    status, events = await _admin(api.session, emu, "GET", "events")
    assert [e["EventType"] for e in events][:2] == [3, 3]
    status, requests = await _admin(api.session, emu, "GET", "requests")
    assert [r["action"] for r in requests] == [
        "CreateDigitalHumanStreamTask",
        "DriveByWsStream",
    ]


async def test_faults_over_http(api: Api, emu: ZegoEmulator) -> None:
    status, fault = await _admin(
        api.session,
        emu,
        "POST",
        "faults",
        {"kind": "zego_error", "action": "GetTimbreList", "code": 400010007, "count": None},
    )
    assert status == 201
    assert fault["fault_id"] > 0
    assert (await api.call("GetTimbreList")).code == 400010007
    assert (await api.call("GetTimbreList")).code == 400010007
    status, listed = await _admin(api.session, emu, "GET", "faults")
    assert [f["fault_id"] for f in listed] == [fault["fault_id"]]
    assert (await _admin(api.session, emu, "DELETE", f"faults/{fault['fault_id']}"))[0] == 200
    assert (await api.call("GetTimbreList")).code == 0
    await _admin(api.session, emu, "POST", "faults", {"kind": "http_status", "http_status": 503})
    assert (await _admin(api.session, emu, "DELETE", "faults"))[0] == 200
    assert (await api.call("GetTimbreList")).code == 0
    status, error = await _admin(api.session, emu, "POST", "faults", {"kind": "nope"})
    assert status == 400
    assert "unknown fault kind" in error["error"]
    assert (await _admin(api.session, emu, "DELETE", "faults/999999"))[0] == 404


async def test_delay_and_ws_faults_over_http(api: Api, emu: ZegoEmulator) -> None:
    await _admin(api.session, emu, "POST", "faults", {"kind": "ws_refuse", "http_status": 502})
    await _admin(api.session, emu, "POST", "faults", {"kind": "delay", "delay": 0.01})
    assert [f.kind for f in emu.faults] == ["ws_refuse", "delay"]


async def test_expire_revoke_secret_reset(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    status, task = await _admin(api.session, emu, "POST", f"tasks/{task_id}/expire")
    assert status == 200
    assert task["EndReason"] == "expired"
    await emu.wait_for_task(task_id, TaskStatus.STOPPED)
    assert (await _admin(api.session, emu, "POST", "tasks/nope/expire"))[0] == 404

    status, revoked = await _admin(api.session, emu, "POST", "credentials/revoke")
    assert status == 200
    assert (await api.call("GetTimbreList", secret=revoked["ServerSecret"])).code == 0
    status, _ = await _admin(
        api.session, emu, "POST", "credentials/secret", {"ServerSecret": "b" * 32}
    )
    assert status == 200
    assert (await api.call("GetTimbreList", secret="b" * 32)).code == 0
    assert (await _admin(api.session, emu, "POST", "credentials/secret", {}))[0] == 400

    assert (await _admin(api.session, emu, "POST", "reset"))[0] == 200
    assert emu.tasks == {}
    assert (await api.call("GetTimbreList")).code == 0


async def test_admin_needs_no_signature_but_the_api_does(api: Api, emu: ZegoEmulator) -> None:
    async with api.session.get(emu.endpoint + "/_emulator/state") as resp:
        assert resp.status == 200
    async with api.session.post(emu.endpoint + "/", json={}) as resp:
        assert (await resp.json())["Code"] == 100000006


def test_admin_refuses_non_loopback_clients() -> None:
    from zego_emulator.admin import _is_loopback

    assert _is_loopback("127.0.0.1")
    assert _is_loopback("::1")
    assert not _is_loopback("192.168.1.10")
    assert not _is_loopback(None)
    assert not _is_loopback("not-an-ip")

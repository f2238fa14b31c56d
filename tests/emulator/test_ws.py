"""The WebSocket drive channel: handshake rules, the Start/PCM/Stop protocol, close codes."""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING
import wave

import aiohttp
import pytest

from zego_emulator import DriveStatus, DriveStatusError, TaskStatus, ZegoEmulator

from .conftest import fast_config
from .wsutil import (
    connect,
    expect_close,
    frames,
    new_drive,
    open_drive,
    pcm,
    send_paced,
    start_msg,
    stop_msg,
)

if TYPE_CHECKING:
    from .signing import Api


async def test_wss_address_is_a_bare_ip_tls_url(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    _, address = await new_drive(api, task_id)
    rest_port = int(emu.endpoint.rsplit(":", 1)[1])
    assert address.startswith("wss://127.0.0.1:")
    host_port, _, query = address.removeprefix("wss://").partition("/ws?Token=")
    assert int(host_port.split(":")[1]) != rest_port
    assert len(query) >= 16
    # Certificate verification fails (as with ZEGO's bare-IP addresses) unless turned off.
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        await api.session.ws_connect(address)


@pytest.mark.parametrize("emu_config", [fast_config(ws_tls=False)])
async def test_plain_ws_on_rest_port(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, address = await new_drive(api, task_id)
    assert address.startswith(emu.endpoint.replace("http://", "ws://") + "/ws?Token=")
    ws = await connect(api, address)
    await ws.send_str(start_msg(drive_id))
    await ws.send_bytes(pcm(0.1))
    await ws.send_str(stop_msg(drive_id))
    await ws.close()
    drive = await emu.wait_for_drive(drive_id, DriveStatus.ENDED)
    assert drive.bytes_received == 3200


async def test_complete_drive(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id, SampleRate=24000, SequenceID="seq-1")
    audio = pcm(0.5, rate=24000)
    for chunk in frames(audio, 4096):
        await ws.send_bytes(chunk)
    await ws.send_str(stop_msg(drive_id))
    await ws.close()
    assert ws.close_code == 1000
    drive = await emu.wait_for_drive(drive_id, DriveStatus.ENDED)
    assert drive.kind == "ws"
    assert drive.task_id == task_id
    assert (drive.sample_rate, drive.channel, drive.voice_channel) == (24000, 1, 0)
    assert drive.bytes_received == len(audio)
    assert drive.audio_seconds == pytest.approx(0.5)
    assert len(drive.frames) == len(frames(audio, 4096))
    assert drive.audio == audio
    assert drive.violations == []
    assert not drive.interrupted
    assert [s for s, _ in drive.status_history] == [
        DriveStatus.QUEUED,
        DriveStatus.DRIVING,
        DriveStatus.ENDED,
    ]
    stamps = [drive.issued_at, drive.connected_at, drive.start_at, drive.first_frame_at]
    stamps += [drive.last_frame_at, drive.stop_at, drive.closed_at]
    times = [t for t in stamps if t is not None]
    assert len(times) == len(stamps)
    assert times[:6] == sorted(times[:6])
    assert drive.playback_end_at is not None
    assert drive.playback_end_at == pytest.approx(times[3] + 0.5, abs=0.01)
    assert drive.ended_at is not None
    assert drive.ended_at >= drive.playback_end_at - 0.01
    with wave.open(io.BytesIO(drive.wav_bytes())) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        assert wav.readframes(wav.getnframes()) == audio
    assert emu.open_ws_connections == 0


@pytest.mark.parametrize("emu_config", [fast_config(record_audio=False)])
async def test_record_audio_off(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    await ws.send_bytes(pcm(0.1))
    await ws.send_str(stop_msg(drive_id))
    await ws.close()
    drive = await emu.wait_for_drive(drive_id)
    assert drive.bytes_received == 3200
    assert drive.audio == b""


@pytest.mark.parametrize("token", ["", "not-a-token"])
async def test_bad_token_is_refused_with_403(api: Api, emu: ZegoEmulator, token: str) -> None:
    task_id = await api.streaming_task()
    _, address = await new_drive(api, task_id)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await connect(api, address.split("?")[0] + f"?Token={token}")
    assert err.value.status == 403


async def test_token_is_single_use(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, address = await new_drive(api, task_id)
    ws = await connect(api, address)
    await ws.close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await connect(api, address)
    assert err.value.status == 403


@pytest.mark.parametrize(
    "emu_config", [fast_config(ws_token_single_use=False, second_ws_connection="allow")]
)
async def test_token_reuse_when_configured(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, address = await new_drive(api, task_id)
    first = await connect(api, address)
    second = await connect(api, address)
    assert emu.drive(drive_id).connections == 2
    await first.close()
    await second.close()


async def test_second_connection_is_rejected(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    first_id, first = await open_drive(api, task_id)
    await first.send_bytes(pcm(0.1))
    second_id, address = await new_drive(api, task_id)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await connect(api, address)
    assert err.value.status == 409
    assert emu.open_ws_connections == 1
    assert emu.max_ws_connections_per_task == 1
    # Once the first is closed, the next connection is accepted.
    await first.close()
    second = await connect(api, address)
    await second.close()


@pytest.mark.parametrize("emu_config", [fast_config(second_ws_connection="close_old")])
async def test_second_connection_replaces_old_when_configured(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    _, first = await open_drive(api, task_id)
    second_id, address = await new_drive(api, task_id)
    second = await connect(api, address)
    code, reason = await expect_close(first)
    assert code == 4011
    assert "replaced" in reason
    await second.send_str(start_msg(second_id))
    await second.close()
    assert emu.max_ws_connections_per_task == 1


@pytest.mark.parametrize("emu_config", [fast_config(second_ws_connection="allow")])
async def test_second_connection_allowed_when_configured(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    _, first = await open_drive(api, task_id)
    _, address = await new_drive(api, task_id)
    second = await connect(api, address)
    assert emu.open_ws_connections == 2
    assert emu.max_ws_connections_per_task == 2
    await first.close()
    await second.close()


VIOLATIONS = [
    # (messages after connecting, close code, violation text fragment)
    ([b"\x00\x00"], 4002, "before Start"),
    (["STOP"], 4002, "Stop before Start"),
    (["not json"], 4003, "not JSON"),
    (['["Start"]'], 4003, "not a JSON object"),
    (['{"Action": "Start"}'], 4003, "without a Payload"),
    (['{"Action": "Start", "Payload": {}}'], 4003, "DriveId"),
    (['{"Action": "Hello", "Payload": {}}'], 4008, "unknown Action"),
    (["START:SampleRate=8000"], 4003, "SampleRate"),
    (["START:SampleRate='16000'"], 4003, "SampleRate"),
    (["START:Channel=3"], 4003, "Channel"),
    (["START:VoiceChannel=3"], 4003, "VoiceChannel"),
    (["WRONGSTART"], 4004, "DriveId does not match"),
    (["START", "START"], 4008, "in progress"),
    (["START", b"\x00"], 4005, "not a multiple"),
    (["START", b""], 4005, "empty"),
    (["START:Channel=2", b"\x00\x00"], 4005, "multiple of 4"),
    (["START", "WRONGSTOP"], 4004, "DriveId does not match"),
    (["START", "STOP", "STOP"], 4008, "twice"),
    (["START", b"\x00\x00", "STOP", b"\x00\x00"], 4006, "after Stop"),
    (["START", b"\x00\x00", "STOP", "START"], 4007, "reused"),
]


def _expand(item: str | bytes, drive_id: str) -> str | bytes:
    if isinstance(item, bytes) or (not item.isupper() and not item.startswith("START:")):
        return item
    if item.startswith("START:"):
        name, _, raw = item.removeprefix("START:").partition("=")
        value: object = raw.strip("'") if raw.startswith("'") else int(raw)
        return start_msg(drive_id, **{name: value})
    return {
        "START": start_msg(drive_id),
        "STOP": stop_msg(drive_id),
        "WRONGSTART": start_msg("another-drive"),
        "WRONGSTOP": stop_msg("another-drive"),
    }[item]


@pytest.mark.parametrize(
    ("messages", "code", "text"), VIOLATIONS, ids=[f"{c}-{t}" for _, c, t in VIOLATIONS]
)
async def test_protocol_violations_close_the_socket(
    api: Api, emu: ZegoEmulator, messages: list[str | bytes], code: int, text: str
) -> None:
    task_id = await api.streaming_task()
    drive_id, address = await new_drive(api, task_id)
    ws = await connect(api, address)
    for item in messages:
        message = _expand(item, drive_id)
        if isinstance(message, bytes):
            await ws.send_bytes(message)
        else:
            await ws.send_str(message)
    close_code, reason = await expect_close(ws)
    assert close_code == code
    assert reason
    drive = emu.drive(drive_id)
    assert any(text in v for v in drive.violations), drive.violations
    assert drive.close_code == code
    final = await emu.wait_for_drive(drive_id, DriveStatus.FAILED)
    assert final.fail_reason


@pytest.mark.parametrize("emu_config", [fast_config(strict_frames=False)])
async def test_lenient_frames_when_configured(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    await ws.send_bytes(b"\x00\x00\x00")
    await ws.send_bytes(b"")
    await ws.send_str(stop_msg(drive_id))
    await ws.close()
    drive = await emu.wait_for_drive(drive_id)
    assert drive.violations == []
    assert drive.bytes_received == 3


@pytest.mark.parametrize("emu_config", [fast_config(ws_start_timeout=0.2)])
async def test_start_must_arrive_in_time(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, address = await new_drive(api, task_id)
    ws = await connect(api, address)
    code, _ = await expect_close(ws)
    assert code == 4001
    drive = await emu.wait_for_drive(drive_id, DriveStatus.FAILED)
    assert "Start not received" in drive.violations[0]


@pytest.mark.parametrize("emu_config", [fast_config(drive_id_reuse="allow")])
async def test_drive_id_reuse_when_configured(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    await ws.send_bytes(pcm(0.1))
    await ws.send_str(stop_msg(drive_id))
    await emu.wait_for_drive(drive_id, DriveStatus.ENDED)
    await ws.send_str(start_msg(drive_id))
    await ws.send_bytes(pcm(0.1))
    await ws.send_str(stop_msg(drive_id))
    await ws.close()
    drive = emu.drive(drive_id)
    await emu.state.wait_until(
        lambda: drive.status_history[-1][0] is DriveStatus.ENDED and len(drive.status_history) > 3,
        5,
    )
    assert drive.violations == []
    assert drive.bytes_received == 6400
    assert drive.underruns == 0  # a new utterance after Stop is not a stutter


async def test_close_without_stop_fails_after_playout(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    await ws.send_bytes(pcm(0.3))
    await ws.close()
    drive = await emu.wait_for_drive(drive_id, DriveStatus.FAILED)
    assert "socket closed without Stop" in drive.violations
    assert drive.ended_at is not None
    assert drive.first_frame_at is not None
    # It played what it had before failing.
    assert drive.ended_at >= drive.first_frame_at + 0.29


@pytest.mark.parametrize("emu_config", [fast_config(close_without_stop="end")])
async def test_close_without_stop_can_end(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    await ws.send_bytes(pcm(0.1))
    await ws.close()
    drive = await emu.wait_for_drive(drive_id, DriveStatus.ENDED)
    assert drive.violations == ["socket closed without Stop"]


@pytest.mark.parametrize("emu_config", [fast_config(close_without_stop="wait")])
async def test_close_without_stop_can_wait(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    await ws.send_bytes(pcm(0.05))
    await ws.close()
    await emu.state.wait_until(lambda: emu.drive(drive_id).closed_at is not None, 5)
    await asyncio.sleep(0.1)
    assert emu.drive(drive_id).status is DriveStatus.DRIVING
    await api.ok("InterruptDriveTask", {"TaskId": task_id})
    assert emu.drive(drive_id).status is DriveStatus.ENDED


async def test_close_before_start_is_a_violation(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, address = await new_drive(api, task_id)
    ws = await connect(api, address)
    await ws.close()
    drive = await emu.wait_for_drive(drive_id, DriveStatus.FAILED)
    assert drive.violations == ["socket closed before Start"]


async def test_start_then_stop_without_audio_ends(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    await ws.send_str(stop_msg(drive_id))
    await ws.close()
    drive = await emu.wait_for_drive(drive_id, DriveStatus.ENDED)
    assert drive.underruns == 0
    assert drive.bytes_received == 0


async def test_wait_for_drive_reports_a_different_final_status(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    await ws.send_bytes(b"\x01")
    await expect_close(ws)
    with pytest.raises(DriveStatusError, match="FAILED"):
        await emu.wait_for_drive(drive_id, DriveStatus.ENDED)
    with pytest.raises(TimeoutError, match="unknown"):
        await emu.wait_for_drive("no-such-drive", timeout=0.05)


async def test_new_ws_drive_interrupts_the_current_one(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    first_id, first = await open_drive(api, task_id)
    await first.send_bytes(pcm(1.0))
    await emu.wait_for_drive(first_id, DriveStatus.DRIVING)
    second_id, address = await new_drive(api, task_id)
    drive = emu.drive(first_id)
    assert drive.status is DriveStatus.ENDED
    assert drive.interrupted
    assert drive.playback_end_at is not None
    assert drive.buffered_until is not None
    assert drive.playback_end_at < drive.buffered_until
    # The old socket stays open (the client must close it); its late audio is discarded.
    await first.send_bytes(pcm(0.1))
    await first.send_str(stop_msg(first_id))
    await emu.state.wait_until(lambda: drive.discarded_bytes == 3200, 5)
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await connect(api, address)  # still one connection per task
    await first.close()
    second = await connect(api, address)
    await second.send_str(start_msg(second_id))
    await second.close()
    assert drive.violations == []


@pytest.mark.parametrize("emu_config", [fast_config(ws_on_interrupt="close")])
async def test_interrupt_can_close_the_socket(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    first_id, first = await open_drive(api, task_id)
    await first.send_bytes(pcm(0.5))
    await api.ok("InterruptDriveTask", {"TaskId": task_id})
    code, reason = await expect_close(first)
    assert code == 4009
    assert emu.drive(first_id).interrupted
    assert emu.drive(first_id).violations == []


async def test_interrupt_drive_task_ends_ws_drive(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    await ws.send_bytes(pcm(0.5))
    await emu.wait_for_drive(drive_id, DriveStatus.DRIVING)
    await api.ok("InterruptDriveTask", {"TaskId": task_id})
    drive = emu.drive(drive_id)
    assert drive.status is DriveStatus.ENDED
    assert drive.interrupted
    await ws.close()


async def test_token_of_interrupted_drive_is_refused(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    _, address = await new_drive(api, task_id)
    await new_drive(api, task_id)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await connect(api, address)
    assert err.value.status == 403


async def test_task_end_closes_socket_and_invalidates_tokens(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    await ws.send_bytes(pcm(0.2))
    _, unused_address = await new_drive(api, task_id)
    emu.expire_task(task_id)
    code, reason = await expect_close(ws)
    assert code == 4010
    assert "task" in reason
    assert emu.drive(drive_id).interrupted
    assert emu.drive(drive_id).violations == []
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await connect(api, unused_address)
    assert err.value.status == 403
    await emu.wait_for_task(task_id, TaskStatus.STOPPED)
    assert emu.tasks[task_id].end_reason == "expired"
    assert emu.open_ws_connections == 0


@pytest.mark.parametrize("emu_config", [fast_config(ws_token_ttl=0.1)])
async def test_unused_token_expires(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, address = await new_drive(api, task_id)
    drive = await emu.wait_for_drive(drive_id, DriveStatus.FAILED)
    assert "token expired" in (drive.fail_reason or "")
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await connect(api, address)
    assert err.value.status == 403


@pytest.mark.parametrize("emu_config", [fast_config(ws_token_ttl=0.1)])
async def test_used_token_does_not_expire_the_drive(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    await asyncio.sleep(0.2)
    await ws.send_bytes(pcm(0.05))
    await ws.send_str(stop_msg(drive_id))
    await ws.close()
    await emu.wait_for_drive(drive_id, DriveStatus.ENDED)


@pytest.mark.parametrize("emu_config", [fast_config(time_scale=0.01)])
async def test_ws_audio_frames_reset_the_idle_timer(api: Api, emu: ZegoEmulator) -> None:
    # MaxIdleTime 50 s x 0.01 = 0.5 s; 1.5 s of paced audio keeps the task alive.
    task_id = await api.streaming_task(MaxIdleTime=50)
    drive_id, ws = await open_drive(api, task_id)
    await send_paced(ws, frames(pcm(1.5)), head_start=0.1, rate_bytes=32000)
    assert emu.tasks[task_id].status is TaskStatus.STREAMING
    await ws.send_str(stop_msg(drive_id))
    await ws.close()
    await emu.wait_for_task(task_id, TaskStatus.STOPPED, timeout=5)
    assert emu.tasks[task_id].end_reason == "idle"

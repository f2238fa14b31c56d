"""WebSocket drives against the emulator: pacing, Stop, close, cancellation and failures."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING

import pytest

from custom_components.zego_digital_human.client import (
    PacingConfig,
    WsDriveSession,
    ZegoClient,
    ZegoDriveConnectionError,
)
from zego_emulator import EmulatorConfig, Fault, ZegoEmulator
from zego_emulator.records import DriveRecord, DriveStatus

from .conftest import chunks_of, sine_pcm, start_task

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable


def drive_record(emulator: ZegoEmulator, drive_id: str | None) -> DriveRecord:
    return next(d for d in emulator.drives if d.drive_id == drive_id)


async def wait_until(predicate: Callable[[], bool]) -> None:
    """Poll a condition the emulator updates asynchronously (bounded, not a timing check)."""
    async with asyncio.timeout(10):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.005)


async def test_full_paced_drive_over_tls(client: ZegoClient, emulator: ZegoEmulator) -> None:
    task_id = await start_task(client)
    pcm = sine_pcm(2.0)
    first_frames: list[float] = []
    async with WsDriveSession(client, task_id, on_first_frame=first_frames.append) as session:
        assert session.drive_id is not None
        report = await session.stream(chunks_of(pcm))
    record = drive_record(emulator, report.drive_id)
    await emulator.wait_for_drive(report.drive_id, status=DriveStatus.ENDED, timeout=10)

    # What the client says it did.
    frame_bytes = PacingConfig().frame_bytes(16000)
    assert report.completed
    assert report.bytes_sent == len(pcm)
    assert report.frames_sent == math.ceil(len(pcm) / frame_bytes)
    assert report.audio_seconds == pytest.approx(2.0)
    assert report.source_stalls == 0
    assert first_frames == [report.first_frame_at]
    assert report.opened_at is not None
    assert report.ready_at is not None
    assert report.first_frame_at is not None
    assert report.last_frame_at is not None
    assert report.stop_sent_at is not None
    assert report.playback_end_at is not None
    assert report.opened_at <= report.ready_at <= report.first_frame_at
    assert report.first_frame_at <= report.last_frame_at <= report.stop_sent_at

    # What the avatar got: the same audio, in whole-sample frames, paced, then Stop.
    assert record.kind == "ws"
    assert record.sample_rate == 16000
    assert record.channel == 1
    assert record.audio == pcm
    assert record.violations == []
    assert record.underruns == 0
    assert record.status is DriveStatus.ENDED
    sizes = [size for _, size in record.frames]
    assert all(size == frame_bytes for size in sizes[:-1])
    assert all(size % 2 == 0 for size in sizes)
    assert record.stop_at is not None
    assert record.last_frame_at is not None
    assert record.stop_at >= record.last_frame_at
    # Paced, not burst: an unpaced send would buffer all 2 s at once.
    assert record.max_lead_seconds < 1.0
    await wait_until(lambda: emulator.open_ws_connections == 0)
    assert emulator.max_ws_connections_per_task == 1


@pytest.mark.parametrize("emulator_config", [EmulatorConfig(port=0, time_scale=0.01, ws_tls=False)])
async def test_plain_ws_at_24k_with_odd_tail(client: ZegoClient, emulator: ZegoEmulator) -> None:
    task_id = await start_task(client)
    pcm = sine_pcm(0.3, sample_rate=24000) + b"\x01"  # an odd trailing byte
    async with WsDriveSession(client, task_id, sample_rate=24000) as session:
        report = await session.stream(chunks_of(pcm, sizes=(999, 1)))
    await emulator.wait_for_drive(report.drive_id, status=DriveStatus.ENDED, timeout=10)
    record = drive_record(emulator, report.drive_id)
    assert record.sample_rate == 24000
    assert record.audio == pcm[:-1]
    assert record.violations == []
    assert report.bytes_sent == len(pcm) - 1


async def test_empty_source_sends_start_and_stop(
    client: ZegoClient, emulator: ZegoEmulator
) -> None:
    async def nothing() -> AsyncIterator[bytes]:
        for chunk in (b"", b""):
            yield chunk

    task_id = await start_task(client)
    async with WsDriveSession(client, task_id) as session:
        report = await session.stream(nothing())
    record = drive_record(emulator, report.drive_id)
    assert report.completed
    assert report.frames_sent == 0
    assert record.frames == []
    assert record.violations == []
    assert record.start_at is not None
    assert record.stop_at is not None


async def test_late_source_reanchors_the_clock(client: ZegoClient, emulator: ZegoEmulator) -> None:
    pcm = sine_pcm(0.8)
    head = 16000 * 2 // 5  # 0.2 s

    async def late_source() -> AsyncIterator[bytes]:
        yield pcm[:head]
        # Far longer than the 0.2 s sent plus the head start: the avatar runs dry.
        await asyncio.sleep(1.0)
        yield pcm[head:]

    task_id = await start_task(client)
    async with WsDriveSession(client, task_id) as session:
        report = await session.stream(late_source())
    await emulator.wait_for_drive(report.drive_id, status=DriveStatus.ENDED, timeout=10)
    record = drive_record(emulator, report.drive_id)
    assert report.source_stalls == 1
    assert report.stall_seconds > 0
    # One stutter where the source was late, none after: the head start was rebuilt.
    assert record.underruns == 1
    assert record.audio == pcm


async def test_cancel_mid_drive_sends_stop_and_closes(
    client: ZegoClient, emulator: ZegoEmulator
) -> None:
    task_id = await start_task(client)
    pcm = sine_pcm(3.0)
    session = WsDriveSession(client, task_id)
    await session.open()
    record = drive_record(emulator, session.drive_id)
    streaming = asyncio.create_task(session.stream(chunks_of(pcm)))
    # Half a second of audio: past the head start, so the pacing loop is running.
    await wait_until(lambda: record.bytes_received >= 16000)
    streaming.cancel()
    with pytest.raises(asyncio.CancelledError):
        await streaming
    # Stop went out before the socket was closed, and both before CancelledError arrived.
    assert record.stop_at is not None
    assert record.bytes_received < len(pcm)
    await wait_until(lambda: emulator.open_ws_connections == 0)
    assert record.closed_at is not None
    assert record.violations == []
    assert session.report is not None
    assert not session.report.completed
    assert session.report.stop_sent_at is not None
    await session.close()  # idempotent
    await session.close()


async def test_cancel_while_waiting_for_the_source(
    client: ZegoClient, emulator: ZegoEmulator
) -> None:
    never = asyncio.Event()

    async def stuck_source() -> AsyncIterator[bytes]:
        await never.wait()
        yield b"\x00\x00"

    task_id = await start_task(client)
    session = WsDriveSession(client, task_id)
    await session.open()
    record = drive_record(emulator, session.drive_id)
    await wait_until(lambda: record.start_at is not None)
    streaming = asyncio.create_task(session.stream(stuck_source()))
    await asyncio.sleep(0)
    streaming.cancel()
    with pytest.raises(asyncio.CancelledError):
        await streaming
    assert record.stop_at is not None
    await wait_until(lambda: emulator.open_ws_connections == 0)


async def test_exception_inside_context_closes_with_stop(
    client: ZegoClient, emulator: ZegoEmulator
) -> None:
    task_id = await start_task(client)
    session = WsDriveSession(client, task_id)

    async def use_and_fail() -> None:
        async with session:
            raise RuntimeError("caller failed")

    with pytest.raises(RuntimeError, match="caller failed"):
        await use_and_fail()
    record = drive_record(emulator, session.drive_id)
    assert record.stop_at is not None
    await wait_until(lambda: emulator.open_ws_connections == 0)


async def test_server_drops_socket_mid_drive(
    client: ZegoClient, emulator: ZegoEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    task_id = await start_task(client)
    emulator.faults.add(Fault.ws_drop_after(16000))
    session = WsDriveSession(client, task_id)
    await session.open()
    with pytest.raises(ZegoDriveConnectionError, match="dropped mid-drive") as info:
        await session.stream(chunks_of(sine_pcm(3.0)))
    err = info.value
    assert session.drive_id is not None
    assert session.drive_id in str(err)
    assert "Token" not in str(err)
    assert "Token" not in repr(err)
    assert err.__cause__ is None
    record = drive_record(emulator, session.drive_id)
    assert record.dropped
    assert session.report is not None
    assert not session.report.completed
    await wait_until(lambda: emulator.open_ws_connections == 0)
    await session.close()
    ours = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("custom_components")
    )
    assert "Token" not in ours
    assert emulator.config.server_secret not in ours


@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(port=0, time_scale=0.01, ws_on_interrupt="close")]
)
async def test_server_closes_socket_mid_drive(client: ZegoClient, emulator: ZegoEmulator) -> None:
    task_id = await start_task(client)
    session = WsDriveSession(client, task_id)
    await session.open()
    record = drive_record(emulator, session.drive_id)
    streaming = asyncio.create_task(session.stream(chunks_of(sine_pcm(3.0))))
    await wait_until(lambda: record.bytes_received >= 16000)
    await client.interrupt_drive_task(task_id)
    with pytest.raises(ZegoDriveConnectionError, match=r"mid-drive \(close code 4009\)"):
        await streaming
    await wait_until(lambda: emulator.open_ws_connections == 0)


async def test_refused_handshake(client: ZegoClient, emulator: ZegoEmulator) -> None:
    task_id = await start_task(client)
    emulator.faults.add(Fault.ws_refused(503))
    session = WsDriveSession(client, task_id)
    with pytest.raises(ZegoDriveConnectionError) as info:
        await session.open()
    assert "HTTP 503" in str(info.value)
    assert "Token" not in str(info.value)
    assert info.value.__cause__ is None
    await session.close()
    assert emulator.open_ws_connections == 0


async def test_verify_ssl_refuses_the_self_signed_certificate(
    client: ZegoClient, emulator: ZegoEmulator
) -> None:
    task_id = await start_task(client)
    session = WsDriveSession(client, task_id, verify_ssl=True)
    with pytest.raises(ZegoDriveConnectionError) as info:
        await session.open()
    assert "Token" not in str(info.value)
    assert info.value.__cause__ is None


async def test_misuse(client: ZegoClient, emulator: ZegoEmulator) -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        WsDriveSession(client, "t", sample_rate=44100)
    task_id = await start_task(client)
    session = WsDriveSession(client, task_id)
    with pytest.raises(RuntimeError, match="open"):
        await session.stream(chunks_of(b"\x00\x00"))
    async with session:
        with pytest.raises(RuntimeError, match="once"):
            await session.open()
        assert "Token" not in repr(session)
        assert session.drive_id is not None
        assert session.drive_id in repr(session)

"""The jitter-buffer playback model: exact unit cases, then real paced and bursty drives."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from zego_emulator import DriveRecord, DriveStatus, ZegoEmulator, playback

from .wsutil import FRAME_16K_40MS, frames, open_drive, pcm, send_paced, stop_msg

if TYPE_CHECKING:
    from .signing import Api

SECOND = 32000  # bytes of one second at 16 kHz mono s16le


def _drive() -> DriveRecord:
    record = DriveRecord(drive_id="d", task_id="t", kind="ws", issued_at=0.0)
    record.sample_rate, record.channel = 16000, 1
    return record


def test_paced_input_never_underruns() -> None:
    drive = _drive()
    # 0.2 s head start, then one 40 ms frame every 40 ms: always 0.2 s ahead.
    for k in range(50):
        playback.on_frame(drive, 10.0 + max(0.0, k * 0.04 - 0.2), FRAME_16K_40MS)
    end = playback.on_stop(drive, drive.last_frame_at or 0.0)
    assert drive.underruns == 0
    assert drive.underrun_seconds == 0
    assert drive.audio_seconds == pytest.approx(2.0)
    assert drive.max_lead_seconds == pytest.approx(0.24)
    assert end == pytest.approx(12.0)
    assert drive.last_frame_to_stop == 0


def test_frame_after_dry_buffer_is_an_underrun() -> None:
    drive = _drive()
    playback.on_frame(drive, 0.0, SECOND // 10)  # plays 0.0 - 0.1
    playback.on_frame(drive, 0.1, SECOND // 10)  # exactly on time: no stutter
    playback.on_frame(drive, 0.5, SECOND // 10)  # buffer dry since 0.2: stutter of 0.3 s
    assert drive.underruns == 1
    assert drive.underrun_seconds == pytest.approx(0.3)
    assert drive.buffered_until == pytest.approx(0.6)  # playback resumed from the arrival
    assert playback.on_stop(drive, 0.55) == pytest.approx(0.6)
    assert drive.underruns == 1


def test_burst_gives_lead_not_underruns() -> None:
    drive = _drive()
    for _ in range(10):
        playback.on_frame(drive, 5.0, SECOND // 10)
    assert drive.max_lead_seconds == pytest.approx(1.0)
    assert drive.underruns == 0
    assert playback.on_stop(drive, 5.0) == pytest.approx(6.0)


def test_late_stop_is_an_underrun() -> None:
    drive = _drive()
    playback.on_frame(drive, 0.0, SECOND // 5)  # 0.2 s
    end = playback.on_stop(drive, 0.7)
    assert drive.underruns == 1
    assert drive.underrun_seconds == pytest.approx(0.5)
    assert drive.last_frame_to_stop == pytest.approx(0.7)
    assert end == pytest.approx(0.7)


def test_stereo_and_24k_rates() -> None:
    drive = _drive()
    drive.sample_rate, drive.channel = 24000, 2
    playback.on_frame(drive, 0.0, 96000)
    assert drive.audio_seconds == pytest.approx(1.0)


def test_interrupt_cuts_playback() -> None:
    drive = _drive()
    playback.on_frame(drive, 0.0, SECOND)
    playback.on_interrupt(drive, 0.25)
    assert drive.interrupted
    assert drive.playback_end_at == pytest.approx(0.25)


def test_input_lost_plays_out() -> None:
    drive = _drive()
    playback.on_frame(drive, 0.0, SECOND // 2)
    assert playback.on_input_lost(drive, 0.1) == pytest.approx(0.5)
    assert drive.underruns == 0


async def test_well_paced_drive_has_no_underruns(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    await send_paced(ws, frames(pcm(1.0)), head_start=0.3, rate_bytes=SECOND)
    await ws.send_str(stop_msg(drive_id))
    await ws.close()
    drive = await emu.wait_for_drive(drive_id, DriveStatus.ENDED)
    assert drive.underruns == 0, drive.frames
    assert drive.audio_seconds == pytest.approx(1.0)
    # About the head start ahead (generous bounds: loop scheduling adds jitter).
    assert 0.25 <= drive.max_lead_seconds <= 0.7
    assert drive.last_frame_to_stop is not None
    assert drive.last_frame_to_stop < 0.2
    assert drive.first_frame_at is not None
    assert drive.playback_end_at is not None
    assert drive.playback_end_at == pytest.approx(drive.first_frame_at + 1.0, abs=0.2)


async def test_bursty_then_starved_drive_underruns(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    for chunk in frames(pcm(0.2)):
        await ws.send_bytes(chunk)
    await asyncio.sleep(0.6)  # the source stalls: the avatar's buffer runs dry
    for chunk in frames(pcm(0.2)):
        await ws.send_bytes(chunk)
    await ws.send_str(stop_msg(drive_id))
    await ws.close()
    drive = await emu.wait_for_drive(drive_id, DriveStatus.ENDED)
    assert drive.underruns >= 1
    assert drive.underrun_seconds >= 0.3
    assert drive.max_lead_seconds >= 0.19


async def test_stop_arriving_late_counts(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.streaming_task()
    drive_id, ws = await open_drive(api, task_id)
    await ws.send_bytes(pcm(0.1))
    await asyncio.sleep(0.4)
    await ws.send_str(stop_msg(drive_id))
    await ws.close()
    drive = await emu.wait_for_drive(drive_id, DriveStatus.ENDED)
    assert drive.underruns == 1
    assert drive.last_frame_to_stop is not None
    assert drive.last_frame_to_stop >= 0.35
    assert drive.underrun_seconds >= 0.25

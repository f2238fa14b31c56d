"""A drive socket the server stops reading (never closed): the sender notices, never hangs."""

from __future__ import annotations

import asyncio

import pytest

from custom_components.zego_digital_human.client import (
    PacingConfig,
    WsDriveSession,
    ZegoClient,
    ZegoDriveConnectionError,
)
from zego_emulator import Fault, ZegoEmulator

from .conftest import chunks_of, sine_pcm, start_task

# A guard against a hang, far above any send timeout here (not a timing assertion).
HANG_GUARD = 120


@pytest.mark.parametrize(
    ("seconds", "pacing"),
    [
        # Short utterance: everything fits into the socket buffers; only the end shows it.
        (1.0, PacingConfig()),
        # Long utterance sent unpaced: the buffers fill up and a send blocks.
        (240.0, PacingConfig(head_start=1000.0)),
    ],
    ids=["fits_in_buffers", "fills_buffers"],
)
async def test_silent_server_fails_the_drive(
    client: ZegoClient, emulator: ZegoEmulator, seconds: float, pacing: PacingConfig
) -> None:
    """The server stops reading mid-utterance: the drive fails as a connection error."""
    pcm = sine_pcm(seconds)
    task_id = await start_task(client)
    emulator.faults.add(Fault.ws_silent_after(3200))
    session = WsDriveSession(client, task_id, pacing=pacing, send_timeout=1.0)
    async with asyncio.timeout(HANG_GUARD):
        await session.open()
        with pytest.raises(ZegoDriveConnectionError) as err:
            await session.stream(chunks_of(pcm))
    assert session.report is not None
    assert not session.report.completed
    assert "Token" not in str(err.value)

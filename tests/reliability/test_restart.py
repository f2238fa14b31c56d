"""HA stops mid-utterance and starts again on the same storage.

The interrupted drive is ended with Stop, every managed task is taken over again (the same
TaskId, read from storage) or stopped, so that no task is left running unknown to HA (and
billing); the entities come back in a sensible state, nothing logs an error, and the
avatars speak again on their old tasks.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.const import ATTR_ENTITY_ID, EVENT_HOMEASSISTANT_STOP
import pytest

from custom_components.zego_digital_human.const import DOMAIN
from tests.components.conftest import avatar_subentry, managed_avatar_data
from tests.speech.tts_engine import ENGINE
from zego_emulator import DriveStatus, TaskStatus, ZegoEmulator

from .conftest import settle, wait_state

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from tests.speech.tts_engine import EngineLog

NAMES = ("Lobby", "Hall")


@pytest.fixture
def subentries_data() -> list[dict[str, Any]]:
    """Two managed avatars: one will be speaking at the stop, one idle on its stream."""
    return [
        avatar_subentry(
            managed_avatar_data(
                name=name,
                room_id=f"{name.lower()}_room",
                stream_id=f"{name.lower()}_stream",
                tts_engine=ENGINE,
            ),
            subentry_id=f"01JRESTART{index:016d}",
        )
        for index, name in enumerate(NAMES)
    ]


@pytest.fixture
def expected_lingering_timers(how: str) -> bool:
    """The stop event makes HA's tts reschedule its memcache cleanup: HA's timer, not ours."""
    return how == "stop_event"


async def _speak(hass: HomeAssistant, name: str, message: str, *, wait: bool) -> None:
    await hass.services.async_call(
        DOMAIN,
        "speak",
        {ATTR_ENTITY_ID: f"media_player.{name.lower()}", "message": message, "wait": wait},
        blocking=True,
    )


def _task_ids(entry: MockConfigEntry) -> dict[str, str | None]:
    return {c.config.name: c.task_id for c in entry.runtime_data.avatars.values()}


def _running(emulator: ZegoEmulator) -> set[str]:
    return {
        task_id
        for task_id, task in emulator.tasks.items()
        if task.status in (TaskStatus.INITIALIZING, TaskStatus.STREAMING)
    }


@pytest.mark.parametrize("how", ["stop_event", "unload"])
async def test_restart_mid_utterance(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    engine_log: EngineLog,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    """Stop while Lobby speaks, start again: tasks taken over, Stop sent, speech works."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    for name in NAMES:
        await _speak(hass, name, f"Hello from {name}", wait=True)
    before = _task_ids(mock_config_entry)
    assert all(before.values())
    assert _running(emulator) == set(before.values())

    engine_log.seconds = 5.0
    await _speak(hass, "Lobby", "A long story that HA cuts short", wait=False)
    drive = emulator.drives[-1]
    await emulator.wait_for_drive(drive.drive_id, status=DriveStatus.DRIVING, timeout=10)
    assert hass.states.get("sensor.lobby_avatar_state").state == "speaking"

    async with asyncio.timeout(30):  # hang guard
        if how == "stop_event":
            # What HA announces first when it stops; the entries stay loaded till the end.
            hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
            await hass.async_block_till_done()
        assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        await settle(hass, emulator)
    assert drive.stop_at is not None, "Stop was sent for the interrupted drive"
    assert drive.violations == []
    # Managed tasks outlive a restart (they are taken over next time).
    assert _running(emulator) == set(before.values())

    engine_log.seconds = 0.2
    async with asyncio.timeout(30):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    assert _task_ids(mock_config_entry) == before
    # Every task running at ZEGO is one HA holds: none is left unknown and billing.
    assert _running(emulator) == set(before.values())
    for name in NAMES:
        await wait_state(hass, f"sensor.{name.lower()}_avatar_state", "ready")
        assert hass.states.get(f"media_player.{name.lower()}").state == "idle"
        assert hass.states.get(f"binary_sensor.{name.lower()}_speaking").state == "off"
    for name in NAMES:
        await _speak(hass, name, f"Back again, {name}", wait=True)
        assert emulator.drives[-1].task_id == before[name]
    assert sum(1 for r in emulator.requests if r.action == "CreateDigitalHumanStreamTask") == 2
    errors = [
        record
        for record in caplog.records
        if record.levelno >= logging.ERROR and "zego" in record.name
    ]
    assert errors == []
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await settle(hass, emulator)

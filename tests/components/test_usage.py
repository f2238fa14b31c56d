"""What an avatar costs: stream time, drives and audio sent, ready for long-term statistics."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from unittest.mock import patch

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import State
from homeassistant.helpers import restore_state as rs
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    mock_restore_cache_with_extra_data,
)

from custom_components.zego_digital_human.const import (
    CONF_MAX_IDLE_TIME,
    CONF_TTS_ENGINE,
    DOMAIN,
    STATUS_POLL_INTERVAL,
)
from tests.speech.tts_engine import ENGINE
from zego_emulator import TaskStatus

from .conftest import avatar_subentry, managed_avatar_data

if TYPE_CHECKING:
    from collections.abc import Iterator

    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from zego_emulator import ZegoEmulator

STREAM_TIME = "sensor.lobby_stream_time"
DRIVES = "sensor.lobby_drives"
AUDIO_SENT = "sensor.lobby_audio_sent"
STATUS = "sensor.lobby_stream_status"
PLAYER = "media_player.lobby"


def _value(hass: HomeAssistant, entity_id: str) -> float:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return float(state.state)


async def _press(hass: HomeAssistant, entity_id: str) -> None:
    await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: entity_id}, blocking=True)
    await hass.async_block_till_done()


class FakeClock:
    """The monotonic clock stream time is measured on, moved by the test.

    HA's timers are fired with async_fire_time_changed; the wall clock stays real, because
    ZEGO's request signatures carry it and the emulator checks it.
    """

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    """Stream time's clock, under the test's control."""
    fake = FakeClock()
    with patch("custom_components.zego_digital_human.usage.monotonic", fake):
        yield fake


async def _let_time_pass(hass: HomeAssistant, clock: FakeClock, seconds: float) -> None:
    clock.now += seconds
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
    await hass.async_block_till_done(wait_background_tasks=True)


async def _speak(hass: HomeAssistant, message: str) -> None:
    await hass.services.async_call(
        DOMAIN, "speak", {ATTR_ENTITY_ID: PLAYER, "message": message, "wait": True}, blocking=True
    )
    await hass.async_block_till_done()


async def test_statistics_ready(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Totals that only grow, with the units and classes long-term statistics need."""
    expected = {
        STREAM_TIME: ("duration", "min"),
        DRIVES: (None, None),
        AUDIO_SENT: ("duration", "s"),
    }
    for entity_id, (device_class, unit) in expected.items():
        state = hass.states.get(entity_id)
        assert state is not None, entity_id
        assert state.attributes["state_class"] == "total_increasing"
        assert state.attributes.get("device_class") == device_class
        assert state.attributes.get("unit_of_measurement") == unit
        assert float(state.state) == 0


async def test_stream_time_counts_only_live_time(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
    clock: FakeClock,
) -> None:
    """Stream time grows while the task streams (every minute on screen) and stops with it."""
    await _let_time_pass(hass, clock, 600)
    assert _value(hass, STREAM_TIME) == 0  # no task: nothing to pay

    await _press(hass, "button.lobby_start_stream")
    assert hass.states.get(STATUS).state == "streaming"  # type: ignore[union-attr]
    await _let_time_pass(hass, clock, 61)
    assert _value(hass, STREAM_TIME) == pytest.approx(61 / 60, abs=0.01)
    await _let_time_pass(hass, clock, 61)
    assert _value(hass, STREAM_TIME) == pytest.approx(122 / 60, abs=0.01)

    await _press(hass, "button.lobby_stop_stream")
    assert hass.states.get(STATUS).state == "stopped"  # type: ignore[union-attr]
    await _let_time_pass(hass, clock, 3600)
    assert _value(hass, STREAM_TIME) == pytest.approx(122 / 60, abs=0.01)


@pytest.mark.parametrize(
    "subentries_data",
    [[avatar_subentry(managed_avatar_data(**{CONF_TTS_ENGINE: ENGINE, CONF_MAX_IDLE_TIME: 30}))]],
)
@pytest.mark.usefixtures("avatar")
async def test_idle_stop_stops_paying_and_next_speech_restarts(
    hass: HomeAssistant, emulator: ZegoEmulator, clock: FakeClock
) -> None:
    """Keep-alive off: ZEGO's MaxIdleTime ends a silent task, the stream time stops growing,
    and the next request starts a new task."""
    await _speak(hass, "Welcome")
    assert _value(hass, DRIVES) == 1
    assert _value(hass, AUDIO_SENT) == pytest.approx(0.3, abs=0.05)
    (first,) = emulator.tasks.values()

    # 30 s of idle, scaled by the emulator's time_scale of 0.01: 0.3 s.
    await emulator.wait_for_task(first.task_id, TaskStatus.STOPPED, timeout=10)
    assert emulator.tasks[first.task_id].end_reason == "idle"
    async_fire_time_changed(hass, dt_util.utcnow() + STATUS_POLL_INTERVAL)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(STATUS).state == "stopped"  # type: ignore[union-attr]
    paid = _value(hass, STREAM_TIME)
    await _let_time_pass(hass, clock, 3600)
    assert _value(hass, STREAM_TIME) == paid

    await _speak(hass, "Welcome back")
    assert hass.states.get(STATUS).state == "streaming"  # type: ignore[union-attr]
    assert len(emulator.tasks) == 2
    assert _value(hass, DRIVES) == 2
    assert _value(hass, AUDIO_SENT) == pytest.approx(0.6, abs=0.1)


async def test_totals_survive_restarts(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    mock_config_entry: MockConfigEntry,
    clock: FakeClock,
) -> None:
    """The totals an earlier run left are restored and counted on, also across a reload."""
    if hasattr(rs.RestoreStateData(hass), "last_states_by_entity_registry_id"):
        # HA 2026.11 keys stored states by registry entry; the newest test harness (made for
        # 2026.10) still seeds the old field, so it cannot stand in for a previous run there.
        # tests/benchmarks/test_soak.py restarts a real HA process on every leg instead.
        pytest.skip("this HA's restore store cannot be seeded by the test harness's helper")
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(STREAM_TIME, "20.575"),
                {"native_value": 1234.5, "native_unit_of_measurement": "s"},
            ),
            (State(DRIVES, "7"), {"native_value": 7, "native_unit_of_measurement": None}),
            (State(AUDIO_SENT, "12.3"), {"native_value": 12.3, "native_unit_of_measurement": "s"}),
        ],
    )
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert _value(hass, STREAM_TIME) == pytest.approx(1234.5 / 60, abs=0.01)
    assert _value(hass, DRIVES) == 7
    assert _value(hass, AUDIO_SENT) == pytest.approx(12.3)

    await _press(hass, "button.lobby_start_stream")
    await _let_time_pass(hass, clock, 120)
    assert _value(hass, STREAM_TIME) == pytest.approx((1234.5 + 120) / 60, abs=0.01)

    # A reload (as after a reconfigure or a restart): nothing is lost, counting goes on.
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert _value(hass, STREAM_TIME) >= (1234.5 + 120) / 60 - 0.01
    assert _value(hass, DRIVES) == 7
    await _let_time_pass(hass, clock, 60)
    assert _value(hass, STREAM_TIME) == pytest.approx((1234.5 + 180) / 60, abs=0.05)
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()

"""Fixtures of the reliability suites: the product in HA against the emulator, plus tallies.

The tallies (faults injected, storms run, bad inputs tried, leaks found) are printed in one
line at the end of the session so that the totals can be quoted.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
import pytest

# The integration tests' fixtures, shared (importing a fixture into a conftest registers it).
from tests.components.conftest import (  # noqa: F401
    avatar_subentry,
    check_flow_translations,
    emulator,
    fast_waits,
    managed_avatar_data,
    mock_config_entry,
)
from tests.speech.tts_engine import (
    ENGINE,
    EngineLog,
    speech_test_engines,
)
from zego_emulator import EmulatorConfig, ZegoEmulator

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from _pytest.terminal import TerminalReporter
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

INTEGRATION_PATH = "custom_components/zego_digital_human"

TALLY: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    """One line with the totals of every reliability suite that ran."""
    if not TALLY:
        return
    terminalreporter.write_line(
        "reliability: faults injected={} storms run={} bad inputs tried={} leaks found={}".format(
            TALLY["faults"], TALLY["storms"], TALLY["bad_inputs"], TALLY["leaks"]
        )
    )


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """Plain ws (TLS is covered elsewhere); lifecycle durations scaled down."""
    return EmulatorConfig(port=0, time_scale=0.01, ws_tls=False)


@pytest.fixture
def subentries_data() -> list[dict[str, Any]]:
    """One managed avatar speaking with the test engine."""
    return [avatar_subentry(managed_avatar_data(tts_engine=ENGINE))]


@pytest.fixture
async def engine_log(hass: HomeAssistant, tmp_path: Path) -> AsyncIterator[EngineLog]:
    """tts, ffmpeg and media_source with the test engines, before the integration loads."""
    async with speech_test_engines(hass, str(tmp_path), EngineLog(seconds=0.2)) as log:
        yield log


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant,
    engine_log: EngineLog,
    mock_config_entry: MockConfigEntry,  # noqa: F811 - the imported fixture
) -> AsyncIterator[MockConfigEntry]:
    """The integration loaded with its avatars; unloaded (sockets closed) afterwards."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    yield mock_config_entry
    if mock_config_entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
        await hass.async_block_till_done()


def our_pending_tasks() -> list[asyncio.Task[Any]]:
    """The asyncio tasks still running code of the integration (by coroutine file or name)."""
    current = asyncio.current_task()
    found = []
    for task in asyncio.all_tasks():
        if task is current or task.done():
            continue
        coro = task.get_coro()
        code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
        filename = code.co_filename if code is not None else ""
        if "zego_emulator" in filename:
            continue
        if INTEGRATION_PATH in filename or "zego" in task.get_name().lower():
            found.append(task)
    return found


POLL = 0.02


async def settle(
    hass: HomeAssistant,
    emulator: ZegoEmulator,  # noqa: F811 - the imported fixture's value
    *,
    within: float = 10,
) -> None:
    """Wait until no socket is open at the emulator and no task of ours is pending."""
    for _ in range(int(within / POLL)):
        if not emulator.open_ws_connections and not our_pending_tasks():
            break
        await asyncio.sleep(POLL)
    assert emulator.open_ws_connections == 0, "WebSockets left open at the emulator"
    assert our_pending_tasks() == [], "tasks of the integration left pending"
    await hass.async_block_till_done()


async def wait_state(hass: HomeAssistant, entity_id: str, *states: str, within: float = 10) -> str:
    """Wait until entity_id is in one of states; return it."""
    for _ in range(int(within / POLL)):
        current = hass.states.get(entity_id)
        if current is not None and current.state in states:
            return current.state
        await asyncio.sleep(POLL)
    current = hass.states.get(entity_id)
    raise AssertionError(
        f"{entity_id} is {current.state if current else None}, not one of {states}"
    )

"""Setting up, unloading and removing the entry; stale devices; stable unique ids."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
import pytest

from custom_components.zego_digital_human.client import shared_rate_limiter
from custom_components.zego_digital_human.const import DOMAIN
from custom_components.zego_digital_human.coordinator import attached_issue_id
from zego_emulator import EmulatorConfig, Fault, TaskStatus, ZegoEmulator

from .conftest import MANAGED_SUBENTRY_ID
from .devices import avatar_device, device_owners

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry


async def test_load_unload(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """Set-up checks the credentials once; unload leaves the managed task running."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    # Credential check, then the portrait and the emulator probe (player.py): an avatar
    # without a task costs no status request.
    actions = [r.action for r in emulator.requests]
    assert actions[0] == "QueryDigitalHumanStreamTasks"
    assert sorted(actions[1:]) == ["DescribeEmulator", "GetDigitalHumanInfo"]
    # Polls, flows and speech share the AppId's rate limiter (ZEGO: 10 requests/s/action).
    client = mock_config_entry.runtime_data.client
    assert client.rate_limiter is shared_rate_limiter(emulator.config.app_id)

    task = await mock_config_entry.runtime_data.avatars[MANAGED_SUBENTRY_ID].ensure_streaming()
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED
    # The task survives for the next start (restart), unlike on removal.
    assert emulator.tasks[task.task_id].status is TaskStatus.STREAMING


async def test_setup_auth_failure_starts_reauth(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """A rejected secret fails set-up and asks the user for a new one."""
    emulator.revoke_credentials()
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    assert flows[0]["context"]["entry_id"] == mock_config_entry.entry_id


@pytest.mark.parametrize(
    "fault",
    [
        Fault.http(503, count=None),
        Fault.zego(400010002, "System busy", count=None),
        Fault.zego(100000004, "signature expired", count=None),
    ],
)
async def test_setup_retries_when_zego_fails(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    mock_config_entry: MockConfigEntry,
    fault: Fault,
) -> None:
    """Unreachable ZEGO, a busy ZEGO or a clock that is off: set-up is retried later."""
    emulator.faults.add(fault)
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert hass.config_entries.flow.async_progress() == []


@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(port=0, time_scale=0.01, ws_tls=False, clock_offset=7200)]
)
async def test_setup_retries_on_clock_skew(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """A skewed clock may be fixed by NTP: retry rather than fail for good."""
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_first_refresh_failure_is_setup_retry(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """A stored task that cannot be checked at start-up makes set-up retry, not forget it."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    coordinator = mock_config_entry.runtime_data.avatars[MANAGED_SUBENTRY_ID]
    task = await coordinator.ensure_streaming()
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)

    emulator.faults.add(Fault.http(500, action="GetDigitalHumanStreamTaskStatus", count=None))
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert mock_config_entry.runtime_data.store.get(MANAGED_SUBENTRY_ID) is not None

    emulator.faults.clear()
    await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    coordinator = mock_config_entry.runtime_data.avatars[MANAGED_SUBENTRY_ID]
    assert coordinator.task_id == task.task_id
    await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_unique_ids_stable_across_reload(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Entities and the device keep their ids (derived from the subentry id) on reload."""
    before = {
        entry.unique_id: entry.entity_id
        for entry in er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    }
    assert set(before) == {
        f"{MANAGED_SUBENTRY_ID}_{key}"
        for key in (
            "avatar_state",
            "stream_status",
            "task_id",
            "last_error",
            "time_to_first_audio",
            "stream_time",
            "drives",
            "audio_sent",
            "speaking",
            "stream_online",
            "start_stream",
            "stop_stream",
            "interrupt",
            "speech",
            "media_player",
            "notify",
            "assist_satellite",
            "conversation",
            "assist_agent",
            "assist_mode",
        )
    } | {f"{MANAGED_SUBENTRY_ID}-pipeline"}  # HA's own scheme for the pipeline select
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    after = {
        entry.unique_id: entry.entity_id
        for entry in er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    }
    assert after == before
    devices = dr.async_entries_for_config_entry(device_registry, init_integration.entry_id)
    assert [device.identifiers for device in devices] == [{(DOMAIN, MANAGED_SUBENTRY_ID)}]
    assert device_owners(devices[0]) == {init_integration.entry_id: {MANAGED_SUBENTRY_ID}}


async def test_stale_device_removed(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    mock_config_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """The device (and repair issue) of an avatar that no longer exists is removed at set-up."""
    mock_config_entry.add_to_hass(hass)
    stale = device_registry.async_get_or_create(
        config_entry_id=mock_config_entry.entry_id, identifiers={(DOMAIN, "gone-avatar")}
    )
    for subentry_id in ("gone-avatar", MANAGED_SUBENTRY_ID):
        ir.async_create_issue(
            hass,
            DOMAIN,
            attached_issue_id(subentry_id),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="attached_task_ended",
            translation_placeholders={"avatar": "x", "task_id": "y"},
        )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert device_registry.async_get(stale.id) is None
    # Issues of avatars that no longer exist (or are no longer attached) go too.
    issues = ir.async_get(hass)
    assert issues.async_get_issue(DOMAIN, attached_issue_id("gone-avatar")) is None
    assert issues.async_get_issue(DOMAIN, attached_issue_id(MANAGED_SUBENTRY_ID)) is None
    assert avatar_device(hass, MANAGED_SUBENTRY_ID)
    await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_remove_entry_stops_managed_tasks(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Removing the entry stops the tasks HA created and deletes the stored TaskIds."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    task = await mock_config_entry.runtime_data.avatars[MANAGED_SUBENTRY_ID].ensure_streaming()
    ir.async_create_issue(
        hass,
        DOMAIN,
        attached_issue_id(MANAGED_SUBENTRY_ID),
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="attached_task_ended",
        translation_placeholders={"avatar": "Lobby", "task_id": "x"},
    )

    assert await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await emulator.wait_for_task(task.task_id, TaskStatus.STOPPED)
    assert emulator.tasks[task.task_id].end_reason == "stopped"
    assert issue_registry.async_get_issue(DOMAIN, attached_issue_id(MANAGED_SUBENTRY_ID)) is None

"""Avatars added or removed while the entry runs: only that avatar changes.

Before: every subentry change reloaded the entry, which cut every avatar's speech.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest

from custom_components.zego_digital_human.const import DOMAIN, SUBENTRY_TYPE_AVATAR
from custom_components.zego_digital_human.coordinator import AvatarCoordinator
from tests.speech.tts_engine import ENGINE
from zego_emulator import DriveStatus, TaskStatus
from zego_emulator.config import KIOSK_BEN_ID

from .conftest import MANAGED_SUBENTRY_ID, avatar_subentry, managed_avatar_data
from .devices import avatar_device

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from tests.speech.tts_engine import EngineLog
    from zego_emulator import ZegoEmulator

HALL_SUBENTRY_ID = "01JAVATARHALL0000000000000"
GARDEN_SUBENTRY_ID = "01JAVATARGARDEN00000000000"


def _hall_data() -> dict[str, Any]:
    return managed_avatar_data(
        name="Hall",
        digital_human_id=KIOSK_BEN_ID,
        room_id="hall_room",
        stream_id="hall_stream",
        tts_engine=ENGINE,
    )


@pytest.fixture
def subentries_data() -> list[dict[str, Any]]:
    """Lobby (speaks through the test engine) and Garden (to be removed)."""
    return [
        avatar_subentry(managed_avatar_data(tts_engine=ENGINE)),
        avatar_subentry(
            managed_avatar_data(name="Garden", room_id="garden_room", stream_id="garden_stream"),
            GARDEN_SUBENTRY_ID,
        ),
    ]


async def test_adding_and_removing_avatars_keeps_the_others_speaking(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    engine_log: EngineLog,
    avatar: MockConfigEntry,
) -> None:
    """Lobby speaks a long utterance while Hall is added and Garden removed: it finishes."""
    entity_registry = er.async_get(hass)
    garden = avatar.runtime_data.avatars[GARDEN_SUBENTRY_ID]
    garden_task = await garden.ensure_streaming()
    assert hass.states.get("media_player.garden") is not None

    engine_log.seconds = 3.0
    response = await hass.services.async_call(
        DOMAIN,
        "speak",
        {"entity_id": "media_player.lobby", "message": "A long story"},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    drive_id = response["results"][0]["drive_id"]  # type: ignore[index,call-overload]
    lobby = avatar.runtime_data.avatars[MANAGED_SUBENTRY_ID]
    lobby_speech = avatar.runtime_data.speech[MANAGED_SUBENTRY_ID]
    assert lobby_speech.speaking

    hass.config_entries.async_add_subentry(
        avatar,
        ConfigSubentry(
            data=MappingProxyType(_hall_data()),
            subentry_id=HALL_SUBENTRY_ID,
            subentry_type=SUBENTRY_TYPE_AVATAR,
            title="Hall",
            unique_id=None,
        ),
    )
    await hass.async_block_till_done()
    hass.config_entries.async_remove_subentry(avatar, GARDEN_SUBENTRY_ID)
    await hass.async_block_till_done()

    # Hall is there, with its device and entities; Garden is gone, its task stopped.
    assert hass.states.get("media_player.hall") is not None
    assert hass.states.get("sensor.hall_avatar_state") is not None
    assert entity_registry.async_get("media_player.hall") is not None
    assert hass.states.get("media_player.garden") is None
    assert entity_registry.async_get("media_player.garden") is None
    assert GARDEN_SUBENTRY_ID not in avatar.runtime_data.avatars
    assert avatar_device(hass, GARDEN_SUBENTRY_ID) is None
    await emulator.wait_for_task(garden_task.task_id, TaskStatus.STOPPED)

    # Lobby's drive plays to the end: all its audio, no interruption, no Stop before the end.
    drive = await emulator.wait_for_drive(drive_id, DriveStatus.ENDED, timeout=15)
    assert not drive.interrupted
    assert drive.audio_seconds == pytest.approx(3.0, abs=0.05)
    assert not any(request.action == "InterruptDriveTask" for request in emulator.requests)
    assert hass.states.get("event.lobby_speech").attributes["event_type"] == "speech_finished"
    # Lobby was never touched: the same coordinator and speech manager.
    assert avatar.state is ConfigEntryState.LOADED
    assert avatar.runtime_data.avatars[MANAGED_SUBENTRY_ID] is lobby
    assert avatar.runtime_data.speech[MANAGED_SUBENTRY_ID] is lobby_speech

    # The added avatar speaks too.
    response = await hass.services.async_call(
        DOMAIN,
        "speak",
        {"entity_id": "media_player.hall", "message": "Hello", "wait": True},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["results"][0]["outcome"] == "finished"  # type: ignore[index,call-overload]


async def test_changing_the_account_still_reloads(
    hass: HomeAssistant, emulator: ZegoEmulator, avatar: MockConfigEntry
) -> None:
    """Reauth/reconfigure change the entry's own data: the entry is set up anew."""
    before = avatar.runtime_data
    hass.config_entries.async_update_entry(
        avatar, data={**avatar.data, "server_secret": emulator.config.server_secret}
    )
    await hass.async_block_till_done()
    assert avatar.runtime_data is before  # same data: nothing to do
    emulator.set_server_secret("f" * 32)
    hass.config_entries.async_update_entry(avatar, data={**avatar.data, "server_secret": "f" * 32})
    await hass.async_block_till_done()
    assert avatar.state is ConfigEntryState.LOADED
    assert avatar.runtime_data is not before


async def test_first_refreshes_run_together(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """At set-up every avatar's first refresh is in flight at the same time."""
    original = AvatarCoordinator._async_setup
    started = 0
    in_flight = 0
    most_in_flight = 0
    everyone_in = asyncio.Event()

    async def _setup(self: AvatarCoordinator) -> None:
        nonlocal started, in_flight, most_in_flight
        started += 1
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        if started == len(mock_config_entry.subentries):
            everyone_in.set()
        # One after another, the first would wait here alone until the bound runs out.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everyone_in.wait(), timeout=5)
        try:
            await original(self)
        finally:
            in_flight -= 1

    mock_config_entry.add_to_hass(hass)
    with patch.object(AvatarCoordinator, "_async_setup", _setup):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    assert started == 2
    assert most_in_flight == 2
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_changing_an_avatar_rebuilds_only_that_avatar(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    avatar: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A reconfigured avatar gets a new coordinator; its entities stay, the others' objects too."""
    lobby = avatar.runtime_data.avatars[MANAGED_SUBENTRY_ID]
    garden = avatar.runtime_data.avatars[GARDEN_SUBENTRY_ID]
    subentry = avatar.subentries[GARDEN_SUBENTRY_ID]
    hass.config_entries.async_update_subentry(
        avatar, subentry, data={**subentry.data, "overlap_policy": "queue"}
    )
    await hass.async_block_till_done()
    assert avatar.runtime_data.avatars[MANAGED_SUBENTRY_ID] is lobby
    rebuilt = avatar.runtime_data.avatars[GARDEN_SUBENTRY_ID]
    assert rebuilt is not garden
    assert rebuilt.config.overlap_policy == "queue"
    state = hass.states.get("media_player.garden")
    assert state is not None
    assert state.state != "unavailable"
    # The entity follows the new coordinator: a state change of it shows.
    await hass.services.async_call(
        DOMAIN, "start_stream", {"entity_id": "media_player.garden"}, blocking=True
    )
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.garden_stream_online").state == "on"
    # Every entity was replaced, HA's own pipeline select included: none was added twice.
    assert "does not generate unique IDs" not in caplog.text
    pipeline = hass.states.get("select.garden_assistant")
    assert pipeline is not None
    assert pipeline.state != "unavailable"


async def test_stale_device_removed_without_detaching_calls(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """A stale avatar device is removed outright.

    Detaching it with async_update_device(remove_config_entry_id=...) is deprecated from HA
    2026.8 (a device belongs to one entry and subentry) and stops working in 2027.8.
    """
    mock_config_entry.add_to_hass(hass)
    device_registry = dr.async_get(hass)
    stale = device_registry.async_get_or_create(
        config_entry_id=mock_config_entry.entry_id, identifiers={(DOMAIN, "gone-avatar")}
    )
    with patch.object(
        device_registry, "async_update_device", wraps=device_registry.async_update_device
    ) as update_device:
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    assert device_registry.async_get(stale.id) is None
    assert not any("remove_config_entry_id" in call.kwargs for call in update_device.mock_calls)
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)

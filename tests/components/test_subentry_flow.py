"""The avatar subentry flow: add (managed, attached), reconfigure, remove; every field error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntryState
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest

from custom_components.zego_digital_human.client import StreamTaskSpec
from custom_components.zego_digital_human.const import (
    CONF_BACKGROUND_COLOR,
    CONF_DIGITAL_HUMAN_ID,
    CONF_KEEP_ALIVE,
    CONF_LANGUAGE,
    CONF_MAX_IDLE_TIME,
    CONF_NAME,
    CONF_OVERLAP_POLICY,
    CONF_ROOM_ID,
    CONF_SAMPLE_RATE,
    CONF_STREAM_ID,
    CONF_STREAM_MODE,
    CONF_TASK_ID,
    CONF_TTL,
    CONF_TTS_ENGINE,
    CONF_VOICE_OPTIONS,
    DOMAIN,
    SUBENTRY_TYPE_AVATAR,
)
from zego_emulator import DigitalHumanSpec, Fault, TaskStatus, ZegoEmulator
from zego_emulator.config import KIOSK_BEN_ID, LOBBY_ANNA_ID, PUBLIC_MIA_ID

from .conftest import MANAGED_SUBENTRY_ID, avatar_subentry, external_task, managed_avatar_data

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

SPEECH_INPUT = {
    CONF_TTS_ENGINE: "tts.piper",
    CONF_LANGUAGE: " en-US ",
    CONF_VOICE_OPTIONS: {"voice": "amy"},
    CONF_SAMPLE_RATE: "24000",
    CONF_OVERLAP_POLICY: "queue",
}
MANAGED_INPUT: dict[str, Any] = {
    CONF_ROOM_ID: "hall",
    CONF_STREAM_ID: "hall_stream-1",
    CONF_TTL: 3600,
    CONF_MAX_IDLE_TIME: 300.0,
    CONF_BACKGROUND_COLOR: "#00FF00",
    CONF_KEEP_ALIVE: True,
}


def _suggested(result: Any) -> dict[str, Any]:
    return {
        str(key): (key.description or {}).get("suggested_value")
        for key in result["data_schema"].schema
    }


async def _start(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_TYPE_AVATAR), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return result


async def _start_reconfigure(hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str) -> Any:
    # MockConfigEntry.start_subentry_reconfigure_flow changed its signature after 2025.4.
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_TYPE_AVATAR),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id},
    )


async def _configure(hass: HomeAssistant, result: Any, user_input: dict[str, Any]) -> Any:
    return await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)


async def _finish(hass: HomeAssistant, entry: MockConfigEntry, result: Any, title: str) -> None:
    """Go on from the form a test stopped at to the created avatar (a flow must end)."""
    before = set(entry.subentries)
    inputs = {"managed": MANAGED_INPUT, "speech": SPEECH_INPUT}
    while result["type"] is FlowResultType.FORM:
        result = await _configure(hass, result, inputs[result["step_id"]])
        assert not result.get("errors"), result
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == title
    (added,) = set(entry.subentries) - before
    assert entry.subentries[added].title == title
    await hass.async_block_till_done()


async def test_add_managed_avatar(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Name, digital human (picked from ZEGO's list by name), managed settings, speech."""
    result = await _start(hass, init_integration)
    options = result["data_schema"].schema[CONF_DIGITAL_HUMAN_ID].config["options"]
    assert {"value": LOBBY_ANNA_ID, "label": "Lobby Anna"} in options
    assert {"value": PUBLIC_MIA_ID, "label": "Public Mia"} in options

    result = await _configure(
        hass,
        result,
        {CONF_NAME: " Hall ", CONF_DIGITAL_HUMAN_ID: PUBLIC_MIA_ID, CONF_STREAM_MODE: "managed"},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "managed"
    defaults = _suggested(result)
    # Generated ids are valid ZEGO ids.
    assert defaults[CONF_ROOM_ID].startswith("ha_room_")
    assert defaults[CONF_STREAM_ID].startswith("ha_avatar_")
    assert defaults[CONF_TTL] == 86400
    assert defaults[CONF_MAX_IDLE_TIME] == 900
    assert defaults[CONF_KEEP_ALIVE] is False

    result = await _configure(hass, result, MANAGED_INPUT)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "speech"
    assert _suggested(result)[CONF_SAMPLE_RATE] == "16000"

    result = await _configure(hass, result, SPEECH_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Hall"
    assert result["data"] == {
        CONF_NAME: "Hall",
        CONF_DIGITAL_HUMAN_ID: PUBLIC_MIA_ID,
        CONF_STREAM_MODE: "managed",
        CONF_ROOM_ID: "hall",
        CONF_STREAM_ID: "hall_stream-1",
        CONF_TTL: 3600,
        CONF_MAX_IDLE_TIME: 300,
        CONF_BACKGROUND_COLOR: "#00FF00",
        CONF_KEEP_ALIVE: True,
        CONF_TTS_ENGINE: "tts.piper",
        CONF_LANGUAGE: "en-US",
        CONF_VOICE_OPTIONS: {"voice": "amy"},
        CONF_SAMPLE_RATE: 24000,
        CONF_OVERLAP_POLICY: "queue",
    }
    await hass.async_block_till_done()
    # The entry reloaded: the new avatar has its device and coordinator.
    assert init_integration.state is ConfigEntryState.LOADED
    new_id = next(sid for sid in init_integration.subentries if sid != MANAGED_SUBENTRY_ID)
    assert new_id in init_integration.runtime_data.avatars
    device = device_registry.async_get_device(identifiers={(DOMAIN, new_id)})
    assert device is not None
    assert device.name == "Hall"


async def test_add_attached_avatar(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """An attached avatar needs the TaskId of a live task; it has no managed settings."""
    task_id = await external_task(hass, emulator)
    result = await _start(hass, init_integration)
    result = await _configure(
        hass,
        result,
        {CONF_NAME: "Kiosk", CONF_DIGITAL_HUMAN_ID: KIOSK_BEN_ID, CONF_STREAM_MODE: "attached"},
    )
    assert result["step_id"] == "attached"
    result = await _configure(hass, result, {CONF_TASK_ID: f" {task_id} "})
    assert result["step_id"] == "speech"
    result = await _configure(
        hass, result, {CONF_SAMPLE_RATE: "16000", CONF_OVERLAP_POLICY: "interrupt"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_NAME: "Kiosk",
        CONF_DIGITAL_HUMAN_ID: KIOSK_BEN_ID,
        CONF_STREAM_MODE: "attached",
        CONF_TASK_ID: task_id,
        CONF_TTS_ENGINE: None,
        CONF_LANGUAGE: None,
        CONF_VOICE_OPTIONS: {},
        CONF_SAMPLE_RATE: 16000,
        CONF_OVERLAP_POLICY: "interrupt",
    }
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({CONF_NAME: "  "}, {CONF_NAME: "name_required"}),
        (
            {CONF_DIGITAL_HUMAN_ID: "no-such-human"},
            {CONF_DIGITAL_HUMAN_ID: "unknown_digital_human"},
        ),
        ({CONF_DIGITAL_HUMAN_ID: " "}, {CONF_DIGITAL_HUMAN_ID: "unknown_digital_human"}),
    ],
)
async def test_identity_errors_recover(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
    user_input: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Name and DigitalHumanId errors (an id typed in is checked with ZEGO)."""
    good = {CONF_NAME: "Hall", CONF_DIGITAL_HUMAN_ID: LOBBY_ANNA_ID, CONF_STREAM_MODE: "managed"}
    result = await _start(hass, init_integration)
    result = await _configure(hass, result, good | user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == errors
    result = await _configure(hass, result, good)
    assert result["step_id"] == "managed"
    await _finish(hass, init_integration, result, "Hall")


async def test_identity_typed_known_id_and_connection_error(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """A typed-in id that ZEGO knows is accepted; a failed check is cannot_connect."""
    result = await _start(hass, init_integration)
    # Not in the list shown (the list was fetched already), but ZEGO knows it.
    emulator.faults.add(Fault.http(500, action="GetDigitalHumanInfo", count=None))
    result = await _configure(
        hass,
        result,
        {CONF_NAME: "Hall", CONF_DIGITAL_HUMAN_ID: "typed-id", CONF_STREAM_MODE: "managed"},
    )
    assert result["errors"] == {"base": "cannot_connect"}
    emulator.faults.clear()
    # A digital human added at ZEGO after the list was fetched can be typed in.
    emulator.config.digital_humans += (
        DigitalHumanSpec(
            digital_human_id="typed-id", name="New", avatar_url="https://x.invalid", is_public=True
        ),
    )
    result = await _configure(
        hass,
        result,
        {CONF_NAME: "Hall", CONF_DIGITAL_HUMAN_ID: "typed-id", CONF_STREAM_MODE: "managed"},
    )
    assert result["step_id"] == "managed"
    await _finish(hass, init_integration, result, "Hall")


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({CONF_ROOM_ID: ""}, {CONF_ROOM_ID: "invalid_room_id"}),
        ({CONF_ROOM_ID: "r" * 129}, {CONF_ROOM_ID: "invalid_room_id"}),
        ({CONF_ROOM_ID: "é" * 65}, {CONF_ROOM_ID: "invalid_room_id"}),
        ({CONF_STREAM_ID: "has space"}, {CONF_STREAM_ID: "invalid_stream_id"}),
        ({CONF_STREAM_ID: "dot.ted"}, {CONF_STREAM_ID: "invalid_stream_id"}),
        ({CONF_STREAM_ID: "ünïcode"}, {CONF_STREAM_ID: "invalid_stream_id"}),
        ({CONF_STREAM_ID: ""}, {CONF_STREAM_ID: "invalid_stream_id"}),
        ({CONF_STREAM_ID: "s" * 129}, {CONF_STREAM_ID: "stream_id_too_long"}),
        ({CONF_STREAM_ID: "lobby_stream"}, {CONF_STREAM_ID: "stream_id_in_use"}),
        ({CONF_TTL: 9}, {CONF_TTL: "invalid_ttl"}),
        ({CONF_TTL: 86401}, {CONF_TTL: "invalid_ttl"}),
        ({CONF_TTL: 12.5}, {CONF_TTL: "invalid_ttl"}),
        ({CONF_MAX_IDLE_TIME: 29}, {CONF_MAX_IDLE_TIME: "invalid_max_idle_time"}),
        ({CONF_MAX_IDLE_TIME: 86401}, {CONF_MAX_IDLE_TIME: "invalid_max_idle_time"}),
        ({CONF_BACKGROUND_COLOR: "green"}, {CONF_BACKGROUND_COLOR: "invalid_background_color"}),
        ({CONF_BACKGROUND_COLOR: "#12345"}, {CONF_BACKGROUND_COLOR: "invalid_background_color"}),
        (
            {CONF_STREAM_ID: "a/b", CONF_TTL: 0, CONF_MAX_IDLE_TIME: 0},
            {
                CONF_STREAM_ID: "invalid_stream_id",
                CONF_TTL: "invalid_ttl",
                CONF_MAX_IDLE_TIME: "invalid_max_idle_time",
            },
        ),
    ],
)
async def test_managed_errors_recover(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
    user_input: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Each managed field is checked against ZEGO's rules; the form comes back, then passes."""
    result = await _start(hass, init_integration)
    result = await _configure(
        hass,
        result,
        {CONF_NAME: "Hall", CONF_DIGITAL_HUMAN_ID: LOBBY_ANNA_ID, CONF_STREAM_MODE: "managed"},
    )
    result = await _configure(hass, result, MANAGED_INPUT | user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "managed"
    assert result["errors"] == errors
    # The user's input is kept for correction.
    assert _suggested(result)[CONF_ROOM_ID] == (MANAGED_INPUT | user_input)[CONF_ROOM_ID]

    result = await _configure(hass, result, MANAGED_INPUT | {CONF_STREAM_ID: "s" * 128})
    assert result["step_id"] == "speech"
    await _finish(hass, init_integration, result, "Hall")


async def test_attached_errors_recover(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """TaskIds ZEGO does not know (or that ended) or that failed to start are refused."""
    client = init_integration.runtime_data.client
    live = await client.create_stream_task(
        StreamTaskSpec(digital_human_id=KIOSK_BEN_ID, room_id="kiosk", stream_id="kiosk_s")
    )
    ended = await client.create_stream_task(
        StreamTaskSpec(digital_human_id=KIOSK_BEN_ID, room_id="kiosk", stream_id="kiosk_old")
    )
    emulator.expire_task(ended)
    await emulator.wait_for_task(ended, TaskStatus.STOPPED)
    emulator.faults.add(Fault(kind="init_fail", message="model error"))
    failed = await client.create_stream_task(
        StreamTaskSpec(digital_human_id=KIOSK_BEN_ID, room_id="kiosk", stream_id="kiosk_bad")
    )
    await emulator.wait_for_task(failed, TaskStatus.INIT_FAILED)

    result = await _start(hass, init_integration)
    result = await _configure(
        hass,
        result,
        {CONF_NAME: "Kiosk", CONF_DIGITAL_HUMAN_ID: KIOSK_BEN_ID, CONF_STREAM_MODE: "attached"},
    )
    for task_id, error in (
        ("not-a-task", "unknown_task"),
        ("", "unknown_task"),
        (ended, "unknown_task"),
        (failed, "task_not_running"),
    ):
        result = await _configure(hass, result, {CONF_TASK_ID: task_id})
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "attached"
        assert result["errors"] == {CONF_TASK_ID: error}

    emulator.faults.add(Fault.http(500, action="GetDigitalHumanStreamTaskStatus", count=None))
    result = await _configure(hass, result, {CONF_TASK_ID: live})
    assert result["errors"] == {"base": "cannot_connect"}
    emulator.faults.clear()

    result = await _configure(hass, result, {CONF_TASK_ID: live})
    assert result["step_id"] == "speech"
    await _finish(hass, init_integration, result, "Kiosk")


@pytest.mark.parametrize(
    "subentries_data",
    [[avatar_subentry(managed_avatar_data(**{CONF_STREAM_MODE: "attached", CONF_TASK_ID: "t1"}))]],
)
async def test_attached_task_in_use(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """Two avatars must not drive one task (one WebSocket per task)."""
    result = await _start(hass, init_integration)
    result = await _configure(
        hass,
        result,
        {CONF_NAME: "Kiosk", CONF_DIGITAL_HUMAN_ID: KIOSK_BEN_ID, CONF_STREAM_MODE: "attached"},
    )
    result = await _configure(hass, result, {CONF_TASK_ID: "t1"})
    assert result["errors"] == {CONF_TASK_ID: "task_in_use"}
    # Another task, not driven by any avatar, is accepted.
    free = await external_task(hass, emulator, room_id="kiosk_2", stream_id="kiosk_2")
    result = await _configure(hass, result, {CONF_TASK_ID: free})
    assert result["step_id"] == "speech"
    await _finish(hass, init_integration, result, "Kiosk")


async def test_speech_errors_recover(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """Voice options must be a mapping."""
    result = await _start(hass, init_integration)
    result = await _configure(
        hass,
        result,
        {CONF_NAME: "Hall", CONF_DIGITAL_HUMAN_ID: LOBBY_ANNA_ID, CONF_STREAM_MODE: "managed"},
    )
    result = await _configure(hass, result, MANAGED_INPUT)
    result = await _configure(hass, result, SPEECH_INPUT | {CONF_VOICE_OPTIONS: ["amy"]})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_VOICE_OPTIONS: "invalid_voice_options"}
    result = await _configure(hass, result, SPEECH_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault.http(500, action="GetDigitalHumanList", count=None), "cannot_connect"),
        (Fault.zego(100000005, "signature error", action="GetDigitalHumanList"), "invalid_auth"),
    ],
)
async def test_add_aborts_when_zego_cannot_list(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
    fault: Fault,
    reason: str,
) -> None:
    """Without ZEGO's list of digital humans there is nothing to pick from."""
    emulator.faults.add(fault)
    result = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, SUBENTRY_TYPE_AVATAR), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason


async def test_add_aborts_when_entry_not_loaded(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """An entry that is not loaded has no client to ask ZEGO with."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.subentries.async_init(
        (mock_config_entry.entry_id, SUBENTRY_TYPE_AVATAR), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"


async def test_reconfigure_avatar(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Every step starts from the current settings; the change is stored and reloaded."""
    result = await _start_reconfigure(hass, init_integration, MANAGED_SUBENTRY_ID)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert _suggested(result)[CONF_NAME] == "Lobby"
    assert _suggested(result)[CONF_DIGITAL_HUMAN_ID] == LOBBY_ANNA_ID

    result = await _configure(
        hass,
        result,
        {CONF_NAME: "", CONF_DIGITAL_HUMAN_ID: LOBBY_ANNA_ID, CONF_STREAM_MODE: "managed"},
    )
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {CONF_NAME: "name_required"}

    result = await _configure(
        hass,
        result,
        {CONF_NAME: "Lobby 2", CONF_DIGITAL_HUMAN_ID: LOBBY_ANNA_ID, CONF_STREAM_MODE: "managed"},
    )
    assert result["step_id"] == "managed"
    # Its own StreamId is not "in use" by another avatar.
    assert _suggested(result)[CONF_STREAM_ID] == "lobby_stream"
    result = await _configure(hass, result, _suggested(result) | {CONF_TTL: 5})
    assert result["errors"] == {CONF_TTL: "invalid_ttl"}
    result = await _configure(
        hass,
        result,
        _suggested(result) | {CONF_TTL: 600, CONF_STREAM_ID: "lobby_stream"},
    )
    assert result["step_id"] == "speech"
    assert _suggested(result)[CONF_SAMPLE_RATE] == "16000"
    result = await _configure(
        hass, result, {CONF_SAMPLE_RATE: "24000", CONF_OVERLAP_POLICY: "interrupt"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    subentry = init_integration.subentries[MANAGED_SUBENTRY_ID]
    assert subentry.title == "Lobby 2"
    assert subentry.data[CONF_TTL] == 600
    assert subentry.data[CONF_SAMPLE_RATE] == 24000
    coordinator = init_integration.runtime_data.avatars[MANAGED_SUBENTRY_ID]
    assert coordinator.config.name == "Lobby 2"
    assert coordinator.config.ttl == 600
    device = device_registry.async_get_device(identifiers={(DOMAIN, MANAGED_SUBENTRY_ID)})
    assert device is not None
    assert device.name == "Lobby 2"


async def test_reconfigure_managed_to_attached(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Switching a managed avatar to attached drops its managed settings and buttons."""
    task_id = await external_task(
        hass, emulator, digital_human_id=LOBBY_ANNA_ID, room_id="elsewhere", stream_id="other"
    )
    result = await _start_reconfigure(hass, init_integration, MANAGED_SUBENTRY_ID)
    result = await _configure(
        hass,
        result,
        {CONF_NAME: "Lobby", CONF_DIGITAL_HUMAN_ID: LOBBY_ANNA_ID, CONF_STREAM_MODE: "attached"},
    )
    assert result["step_id"] == "attached"
    result = await _configure(hass, result, {CONF_TASK_ID: task_id})
    result = await _configure(
        hass, result, {CONF_SAMPLE_RATE: "16000", CONF_OVERLAP_POLICY: "interrupt"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    data = init_integration.subentries[MANAGED_SUBENTRY_ID].data
    assert data[CONF_STREAM_MODE] == "attached"
    assert data[CONF_TASK_ID] == task_id
    assert CONF_STREAM_ID not in data
    assert CONF_KEEP_ALIVE not in data
    state = hass.states.get("sensor.lobby_stream_status")
    assert state is not None
    assert state.state == "streaming"
    assert state.attributes["room_id"] == "elsewhere"


async def test_remove_avatar(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Removing an avatar removes its device and entities and stops its managed task."""
    coordinator = init_integration.runtime_data.avatars[MANAGED_SUBENTRY_ID]
    task = await coordinator.ensure_streaming()
    assert device_registry.async_get_device(identifiers={(DOMAIN, MANAGED_SUBENTRY_ID)})

    assert hass.config_entries.async_remove_subentry(init_integration, MANAGED_SUBENTRY_ID)
    await hass.async_block_till_done()

    assert init_integration.state is ConfigEntryState.LOADED
    assert init_integration.runtime_data.avatars == {}
    assert device_registry.async_get_device(identifiers={(DOMAIN, MANAGED_SUBENTRY_ID)}) is None
    assert er.async_entries_for_config_entry(entity_registry, init_integration.entry_id) == []
    assert hass.states.get("sensor.lobby_avatar_state") is None
    await emulator.wait_for_task(task.task_id, TaskStatus.STOPPED)
    assert emulator.tasks[task.task_id].end_reason == "stopped"
    assert init_integration.runtime_data.store.as_dict() == {}


async def test_remove_avatar_when_stop_fails(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A task that cannot be stopped on removal is logged and forgotten; removal goes on."""
    coordinator = init_integration.runtime_data.avatars[MANAGED_SUBENTRY_ID]
    task = await coordinator.ensure_streaming()
    emulator.faults.add(Fault.http(500, action="StopDigitalHumanStreamTask", count=None))
    assert hass.config_entries.async_remove_subentry(init_integration, MANAGED_SUBENTRY_ID)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED
    assert f"Could not stop stream task {task.task_id}" in caplog.text
    assert init_integration.runtime_data.store.as_dict() == {}

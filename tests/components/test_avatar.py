"""The stream-task lifecycle of an avatar: start, wait, expiry, keep-alive, stop, restart."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.zego_digital_human.const import (
    CONF_KEEP_ALIVE,
    CONF_STREAM_ID,
    CONF_TTL,
    DOMAIN,
    STATUS_POLL_INTERVAL,
)
from zego_emulator import EmulatorConfig, Fault, TaskStatus, ZegoEmulator
from zego_emulator.config import LOBBY_ANNA_ID

from .conftest import (
    ATTACHED_SUBENTRY_ID,
    MANAGED_SUBENTRY_ID,
    attached_avatar_data,
    avatar_subentry,
    external_task,
    make_config_entry,
    managed_avatar_data,
)

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers import issue_registry as ir
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from custom_components.zego_digital_human.coordinator import AvatarCoordinator

STATE = "sensor.lobby_avatar_state"
STATUS = "sensor.lobby_stream_status"
ONLINE = "binary_sensor.lobby_stream_online"
LAST_ERROR = "sensor.lobby_last_error"
TASK_SENSOR = "sensor.lobby_task_id"


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


def _coordinator(
    entry: MockConfigEntry, subentry_id: str = MANAGED_SUBENTRY_ID
) -> AvatarCoordinator:
    return entry.runtime_data.avatars[subentry_id]


def _count(emulator: ZegoEmulator, action: str) -> int:
    return sum(1 for record in emulator.requests if record.action == action)


async def _poll(hass: HomeAssistant) -> None:
    """Let one poll interval pass (and whatever it started finish)."""
    async_fire_time_changed(hass, dt_util.utcnow() + STATUS_POLL_INTERVAL)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _press(hass: HomeAssistant, entity_id: str) -> None:
    await hass.services.async_call("button", "press", {"entity_id": entity_id}, blocking=True)
    await hass.async_block_till_done()


def _live_tasks(emulator: ZegoEmulator) -> list[Any]:
    return [task for task in emulator.tasks.values() if task.status is not TaskStatus.STOPPED]


# --- managed: start ------------------------------------------------------------------------


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_start_creates_task_and_waits(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """The start button creates the task from the avatar's settings and waits until it streams."""
    seen: list[str] = []

    @callback
    def _record(event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        if new_state is not None:
            seen.append(new_state.state)

    unsub = async_track_state_change_event(hass, [STATE], _record)
    await _press(hass, "button.lobby_start_stream")
    unsub()

    assert seen[0] == "starting"
    assert seen[-1] == "ready"
    (task,) = emulator.tasks.values()
    assert (task.digital_human_id, task.room_id, task.stream_id) == (
        LOBBY_ANNA_ID,
        "lobby_room",
        "lobby_stream",
    )
    assert (task.ttl, task.max_idle_time, task.background_color) == (86400, 86400, "#102030")
    assert task.status is TaskStatus.STREAMING

    assert _state(hass, STATE) == "ready"
    assert _state(hass, STATUS) == "streaming"
    assert _state(hass, ONLINE) == "on"
    assert _state(hass, TASK_SENSOR) == task.task_id
    attributes = hass.states.get(STATUS).attributes  # type: ignore[union-attr]
    assert attributes["room_id"] == "lobby_room"
    assert attributes["stream_id"] == "lobby_stream"
    stored = init_integration.runtime_data.store.get(MANAGED_SUBENTRY_ID)
    assert stored is not None
    assert stored.task_id == task.task_id

    # A second start while streaming creates nothing and asks nothing (status is fresh).
    requests = len(emulator.requests)
    await _press(hass, "button.lobby_start_stream")
    assert len(emulator.requests) == requests
    assert len(emulator.tasks) == 1


async def test_concurrent_starts_create_one_task(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """Starts racing each other (button, service, first speech) share one task."""
    coordinator = _coordinator(init_integration)
    tasks = [hass.async_create_task(coordinator.ensure_streaming()) for _ in range(3)]
    results = [await task for task in tasks]
    assert len({result.task_id for result in results}) == 1
    assert _count(emulator, "CreateDigitalHumanStreamTask") == 1


@pytest.mark.parametrize(
    "emulator_config",
    [EmulatorConfig(port=0, time_scale=0.01, ws_tls=False, startup_delay=100_000.0)],
)
async def test_start_timeout_says_what_happened(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """A task that does not stream in time fails the start with a translated timeout."""
    coordinator = _coordinator(init_integration)
    coordinator.start_timeout = 0.2
    with pytest.raises(HomeAssistantError) as excinfo:
        await _press(hass, "button.lobby_start_stream")
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == "stream_start_timeout"
    assert excinfo.value.translation_placeholders == {"timeout": "0.2", "status": "initializing"}
    assert "did not start within 0.2 seconds (last status: initializing)" in str(excinfo.value)

    assert _state(hass, STATE) == "starting"  # ZEGO still says initializing
    assert _state(hass, STATUS) == "initializing"
    assert "did not start" in _state(hass, LAST_ERROR)
    # The task is kept (and stored): it may still come up.
    assert coordinator.task_id is not None
    assert init_integration.runtime_data.store.get(MANAGED_SUBENTRY_ID) is not None


@pytest.mark.parametrize(
    "emulator_config",
    [EmulatorConfig(port=0, time_scale=0.01, ws_tls=False, startup_delay=100_000.0)],
)
async def test_task_ends_while_starting(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """A task ZEGO ends before it ever streamed fails the start with that reason."""
    coordinator = _coordinator(init_integration)
    start = hass.async_create_task(coordinator.ensure_streaming())
    await emulator.state.wait_until(lambda: bool(emulator.tasks), 5)
    (task,) = emulator.tasks.values()
    emulator.expire_task(task.task_id)
    with pytest.raises(HomeAssistantError) as excinfo:
        await start
    assert excinfo.value.translation_key == "stream_ended_while_starting"
    assert excinfo.value.translation_placeholders == {"avatar": "Lobby"}
    assert _state(hass, STATE) == "error"
    assert coordinator.task_id is None


async def test_stop_while_starting_wins(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """A stop pressed while the task is being created stops it as soon as it exists."""
    coordinator = _coordinator(init_integration)
    emulator.faults.add(Fault.slow(0.2, action="CreateDigitalHumanStreamTask"))
    start = hass.async_create_task(coordinator.ensure_streaming())
    await emulator.state.wait_until(
        lambda: bool(emulator.requests) or coordinator.data.state == "starting", 5
    )
    await _press(hass, "button.lobby_stop_stream")
    with pytest.raises(HomeAssistantError) as excinfo:
        await start
    assert excinfo.value.translation_key == "stream_stopped_while_starting"
    (task,) = emulator.tasks.values()
    await emulator.wait_for_task(task.task_id, TaskStatus.STOPPED)
    assert coordinator.task_id is None
    assert init_integration.runtime_data.store.get(MANAGED_SUBENTRY_ID) is None
    assert _state(hass, STATE) == "offline"


async def test_start_init_failure(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """ZEGO failing to start the task shows its reason and the error state."""
    emulator.faults.add(Fault(kind="init_fail", message="model not loaded"))
    with pytest.raises(HomeAssistantError) as excinfo:
        await _press(hass, "button.lobby_start_stream")
    assert excinfo.value.translation_key == "stream_start_failed"
    assert excinfo.value.translation_placeholders == {"reason": "model not loaded"}

    assert _state(hass, STATE) == "error"
    assert _state(hass, STATUS) == "init_failed"
    assert _state(hass, ONLINE) == "off"
    assert _state(hass, LAST_ERROR) == "ZEGO could not start the avatar's stream: model not loaded"
    assert hass.states.get(STATUS).attributes["fail_reason"] == "model not loaded"  # type: ignore[union-attr]
    assert init_integration.runtime_data.store.get(MANAGED_SUBENTRY_ID) is None

    # A later start tries again and succeeds, clearing the error.
    await _press(hass, "button.lobby_start_stream")
    assert _state(hass, STATE) == "ready"


@pytest.mark.parametrize(
    ("fault", "key"),
    [
        (
            Fault.zego(400000008, "concurrency limit", action="CreateDigitalHumanStreamTask"),
            "quota_exceeded",
        ),
        (
            Fault.zego(400000003, "no such human", action="CreateDigitalHumanStreamTask"),
            "digital_human_not_found",
        ),
        (
            Fault.zego(400000001, "invalid parameter 'TTL'", action="CreateDigitalHumanStreamTask"),
            "invalid_parameter",
        ),
        (
            Fault.zego(400010001, "no permission", action="CreateDigitalHumanStreamTask"),
            "service_not_enabled",
        ),
        (Fault.http(502, action="CreateDigitalHumanStreamTask", count=None), "communication_error"),
        (
            Fault.zego(100000004, "signature expired", action="CreateDigitalHumanStreamTask"),
            "clock_skew",
        ),
    ],
)
async def test_start_errors_are_translated(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
    fault: Fault,
    key: str,
) -> None:
    """What ZEGO refuses becomes a translated error and the avatar's last error."""
    emulator.faults.add(fault)
    with pytest.raises(HomeAssistantError) as excinfo:
        await _press(hass, "button.lobby_start_stream")
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == key
    assert _state(hass, STATE) == "error"
    assert _state(hass, LAST_ERROR) not in ("unknown", "")
    assert emulator.config.server_secret not in _state(hass, LAST_ERROR)


async def test_start_stream_id_taken_by_another_task(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """A StreamId published by a task HA does not own fails the start at once."""
    await external_task(
        hass, emulator, digital_human_id=LOBBY_ANNA_ID, room_id="x", stream_id="lobby_stream"
    )
    with pytest.raises(HomeAssistantError) as excinfo:
        await _press(hass, "button.lobby_start_stream")
    assert excinfo.value.translation_key == "stream_id_in_use"
    assert _state(hass, STATE) == "error"


async def test_start_waits_for_stopping_task_to_release_stream_id(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """Right after a task ended, ZEGO still holds its StreamId while stopping: wait it out."""
    coordinator = _coordinator(init_integration)
    first = await coordinator.ensure_streaming()
    emulator.config.stopping_delay = 20.0  # 0.2 s at time_scale 0.01
    emulator.expire_task(first.task_id)
    coordinator.status_freshness = 0  # as if the last status were old

    second = await coordinator.ensure_streaming()
    assert second.task_id != first.task_id
    assert second.stream_id == "lobby_stream"
    conflicts = [
        r
        for r in emulator.requests
        if r.action == "CreateDigitalHumanStreamTask" and r.code == 400000015
    ]
    assert conflicts
    assert _state(hass, STATE) == "ready"


async def test_start_auth_error_starts_reauth(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """A credentials rejection on an action asks for reauthentication."""
    emulator.revoke_credentials()
    with pytest.raises(HomeAssistantError) as excinfo:
        await _press(hass, "button.lobby_start_stream")
    assert excinfo.value.translation_key == "authentication_error"
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


# --- managed: stop, expiry, keep-alive ---------------------------------------------------------


async def test_stop(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """Stop ends the task at ZEGO and forgets it; stopping again costs nothing."""
    await _press(hass, "button.lobby_start_stream")
    (task,) = emulator.tasks.values()
    await _press(hass, "button.lobby_stop_stream")
    assert emulator.tasks[task.task_id].end_reason == "stopped"
    assert _state(hass, STATE) == "offline"
    assert _state(hass, STATUS) == "stopped"
    assert _state(hass, ONLINE) == "off"
    assert init_integration.runtime_data.store.get(MANAGED_SUBENTRY_ID) is None

    requests = len(emulator.requests)
    await _press(hass, "button.lobby_stop_stream")
    assert len(emulator.requests) == requests


async def test_stop_of_task_ended_elsewhere_is_quiet(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """Stopping a task ZEGO already ended is not an error."""
    await _press(hass, "button.lobby_start_stream")
    (task,) = emulator.tasks.values()
    emulator.expire_task(task.task_id)
    await _press(hass, "button.lobby_stop_stream")
    assert _state(hass, STATE) == "offline"


async def test_expiry_noticed_by_poll(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """When ZEGO ends the task (stopped elsewhere, expired), the next poll shows it."""
    await _press(hass, "button.lobby_start_stream")
    (task,) = emulator.tasks.values()
    emulator.expire_task(task.task_id)
    await emulator.wait_for_task(task.task_id, TaskStatus.STOPPED)

    await _poll(hass)
    assert _state(hass, STATE) == "offline"
    assert _state(hass, STATUS) == "stopped"
    assert _state(hass, ONLINE) == "off"
    assert init_integration.runtime_data.store.get(MANAGED_SUBENTRY_ID) is None
    # Keep-alive is off: nothing is re-created, and without a task nothing is polled.
    requests = len(emulator.requests)
    await _poll(hass)
    assert len(emulator.requests) == requests
    assert len(emulator.tasks) == 1


async def test_stopping_is_shown_until_gone(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """A task ZEGO is stopping shows as stopping (and not online)."""
    await _press(hass, "button.lobby_start_stream")
    (task,) = emulator.tasks.values()
    emulator.config.stopping_delay = 100_000.0
    emulator.expire_task(task.task_id)
    await _poll(hass)
    assert _state(hass, STATUS) == "stopping"
    assert _state(hass, ONLINE) == "off"
    assert _state(hass, STATE) == "offline"


@pytest.mark.parametrize(
    "subentries_data", [[avatar_subentry(managed_avatar_data(**{CONF_TTL: 10}))]]
)
async def test_ttl_expiry(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """A task that reaches its TTL (10 s, scaled to 0.1 s) is noticed as ended."""
    await _press(hass, "button.lobby_start_stream")
    (task,) = emulator.tasks.values()
    await emulator.wait_for_task(task.task_id, TaskStatus.STOPPED, timeout=5)
    assert emulator.tasks[task.task_id].end_reason == "ttl"
    await _poll(hass)
    assert _state(hass, STATE) == "offline"
    assert _state(hass, STATUS) == "stopped"


@pytest.mark.parametrize(
    "subentries_data", [[avatar_subentry(managed_avatar_data(**{CONF_KEEP_ALIVE: True}))]]
)
async def test_keep_alive_recreates(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """With keep-alive, a task ZEGO ended is re-created; a stop makes keep-alive stand down."""
    await _press(hass, "button.lobby_start_stream")
    (first,) = emulator.tasks.values()
    emulator.expire_task(first.task_id)
    await emulator.wait_for_task(first.task_id, TaskStatus.STOPPED)

    await _poll(hass)
    live = _live_tasks(emulator)
    assert len(live) == 1
    assert live[0].task_id != first.task_id
    assert live[0].stream_id == "lobby_stream"
    assert _state(hass, STATE) == "ready"
    assert _coordinator(init_integration).task_id == live[0].task_id
    stored = init_integration.runtime_data.store.get(MANAGED_SUBENTRY_ID)
    assert stored is not None
    assert stored.task_id == live[0].task_id

    # Stopped on request: keep-alive does not bring it back.
    await _press(hass, "button.lobby_stop_stream")
    await _poll(hass)
    await _poll(hass)
    assert _live_tasks(emulator) == [] or all(
        task.status is TaskStatus.STOPPING for task in _live_tasks(emulator)
    )
    assert _count(emulator, "CreateDigitalHumanStreamTask") == 2
    assert _state(hass, STATE) == "offline"


@pytest.mark.parametrize(
    "subentries_data", [[avatar_subentry(managed_avatar_data(**{CONF_KEEP_ALIVE: True}))]]
)
async def test_keep_alive_retries_next_interval(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """A failed re-creation is shown and tried again at the next poll interval."""
    await _press(hass, "button.lobby_start_stream")
    (first,) = emulator.tasks.values()
    emulator.expire_task(first.task_id)
    await emulator.wait_for_task(first.task_id, TaskStatus.STOPPED)
    emulator.faults.add(
        Fault.zego(400010007, "no free node", action="CreateDigitalHumanStreamTask")
    )

    await _poll(hass)
    assert _state(hass, STATE) == "error"
    assert "quota" in _state(hass, LAST_ERROR)
    assert _live_tasks(emulator) == []

    await _poll(hass)
    assert len(_live_tasks(emulator)) == 1
    assert _state(hass, STATE) == "ready"


@pytest.mark.parametrize(
    "subentries_data", [[avatar_subentry(managed_avatar_data(**{CONF_KEEP_ALIVE: True}))]]
)
async def test_keep_alive_not_after_init_failure(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """A task that failed to start is not re-created in a loop."""
    emulator.faults.add(Fault(kind="init_fail", message="bad avatar"))
    with pytest.raises(HomeAssistantError):
        await _press(hass, "button.lobby_start_stream")
    await _poll(hass)
    await _poll(hass)
    assert _count(emulator, "CreateDigitalHumanStreamTask") == 1
    assert _state(hass, STATE) == "error"


# --- polling ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subentries_data",
    [
        [
            avatar_subentry(managed_avatar_data()),
            avatar_subentry(
                managed_avatar_data(name="Hall", **{CONF_STREAM_ID: "hall_stream"}),
                "01JAVATARMANAGED000000000C",
            ),
        ]
    ],
)
async def test_poll_costs_one_request_per_avatar_with_a_task(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """No task, no request; with a task, exactly one status request per poll interval."""
    await _poll(hass)
    await _poll(hass)
    assert _count(emulator, "GetDigitalHumanStreamTaskStatus") == 0

    await _press(hass, "button.lobby_start_stream")
    before = _count(emulator, "GetDigitalHumanStreamTaskStatus")
    for _ in range(3):
        await _poll(hass)
    assert _count(emulator, "GetDigitalHumanStreamTaskStatus") - before == 3
    assert _state(hass, "sensor.hall_avatar_state") == "offline"


async def test_poll_failure_marks_unavailable_then_recovers(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """ZEGO unreachable: entities go unavailable (logged once), and come back."""
    caplog.set_level(logging.INFO, logger="custom_components.zego_digital_human")
    await _press(hass, "button.lobby_start_stream")
    emulator.faults.add(Fault.http(500, action="GetDigitalHumanStreamTaskStatus", count=None))
    await _poll(hass)
    assert _state(hass, STATE) == STATE_UNAVAILABLE
    assert _state(hass, ONLINE) == STATE_UNAVAILABLE
    await _poll(hass)
    assert caplog.text.count("Error fetching zego_digital_human avatar Lobby data") == 1

    emulator.faults.clear()
    await _poll(hass)
    assert _state(hass, STATE) == "ready"
    assert "Fetching zego_digital_human avatar Lobby data recovered" in caplog.text


async def test_poll_auth_failure_starts_reauth(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """Credentials rejected while polling: the user is asked for a new secret."""
    await _press(hass, "button.lobby_start_stream")
    emulator.revoke_credentials()
    await _poll(hass)
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    assert _state(hass, STATE) == STATE_UNAVAILABLE


# --- attached -----------------------------------------------------------------------------------


async def test_attached_lifecycle(
    hass: HomeAssistant, emulator: ZegoEmulator, issue_registry: ir.IssueRegistry
) -> None:
    """Attached: HA polls the given task; when it ends the avatar is offline until changed."""
    task_id = await external_task(hass, emulator)
    entry = make_config_entry(
        emulator, [avatar_subentry(attached_avatar_data(task_id), ATTACHED_SUBENTRY_ID)]
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    attached_id = ATTACHED_SUBENTRY_ID

    assert _state(hass, "sensor.kiosk_avatar_state") == "ready"
    status = hass.states.get("sensor.kiosk_stream_status")
    assert status is not None
    assert status.state == "streaming"
    assert status.attributes["room_id"] == "kiosk_room"
    assert status.attributes["stream_id"] == "kiosk_stream"
    # HA does not own the task: no start/stop buttons, and the actions refuse.
    assert hass.states.get("button.kiosk_start_stream") is None
    assert hass.states.get("button.kiosk_interrupt") is not None
    coordinator = _coordinator(entry, attached_id)
    with pytest.raises(ServiceValidationError) as excinfo:
        await coordinator.async_stop_stream()
    assert excinfo.value.translation_key == "not_managed"
    assert (await coordinator.ensure_streaming()).task_id == task_id
    await coordinator.async_start_stream()  # checks it; creates nothing
    assert len(emulator.tasks) == 1

    emulator.expire_task(task_id)
    await emulator.wait_for_task(task_id, TaskStatus.STOPPED)
    await _poll(hass)
    assert _state(hass, "sensor.kiosk_avatar_state") == "offline"
    assert _state(hass, "sensor.kiosk_stream_status") == "stopped"
    issue = issue_registry.async_get_issue(DOMAIN, f"attached_task_ended_{attached_id}")
    assert issue is not None
    assert issue.translation_placeholders == {"avatar": "Kiosk", "task_id": task_id}

    with pytest.raises(HomeAssistantError) as excinfo:
        await coordinator.ensure_streaming()
    assert excinfo.value.translation_key == "attached_task_ended"
    # Offline until the TaskId changes: the ended task is not polled any more.
    requests = len(emulator.requests)
    await _poll(hass)
    assert len(emulator.requests) == requests

    # The kiosk backend made a new task; the user attaches the avatar to it.
    new_task = await external_task(hass, emulator, stream_id="kiosk_stream_2")
    subentry = entry.subentries[attached_id]
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, "task_id": new_task}
    )
    await hass.async_block_till_done()
    assert _state(hass, "sensor.kiosk_avatar_state") == "ready"
    assert issue_registry.async_get_issue(DOMAIN, f"attached_task_ended_{attached_id}") is None
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    "subentries_data",
    [[avatar_subentry(attached_avatar_data("no-longer-there"), ATTACHED_SUBENTRY_ID)]],
)
async def test_attached_task_gone_at_startup(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """An attached task that no longer exists at start-up: offline, with a repair issue."""
    assert init_integration.state is ConfigEntryState.LOADED
    assert _state(hass, "sensor.kiosk_avatar_state") == "offline"
    assert issue_registry.async_get_issue(DOMAIN, f"attached_task_ended_{ATTACHED_SUBENTRY_ID}")


# --- restart ------------------------------------------------------------------------------------


async def test_restart_takes_over_stored_task(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """A managed task outlives an HA restart: it is checked and taken over, not re-created."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    task = await _coordinator(mock_config_entry).ensure_streaming()
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)

    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert _coordinator(mock_config_entry).task_id == task.task_id
    assert _state(hass, STATE) == "ready"
    assert _count(emulator, "CreateDigitalHumanStreamTask") == 1
    # Checked once at start-up, then trusted while fresh: no second create, no extra check.
    assert (await _coordinator(mock_config_entry).ensure_streaming()).task_id == task.task_id
    await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_restart_forgets_task_that_ended(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """A stored task that ended while HA was down is forgotten, never driven."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    task = await _coordinator(mock_config_entry).ensure_streaming()
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    emulator.expire_task(task.task_id)
    await emulator.wait_for_task(task.task_id, TaskStatus.STOPPED)

    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert _coordinator(mock_config_entry).task_id is None
    assert mock_config_entry.runtime_data.store.get(MANAGED_SUBENTRY_ID) is None
    assert _state(hass, STATE) == "offline"
    assert _state(hass, STATUS) == "stopped"
    assert emulator.drives == []
    assert _count(emulator, "CreateDigitalHumanStreamTask") == 1
    await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_restart_from_storage_only(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """What HA persisted is all it needs: a fresh start reads the TaskId from storage."""
    task_id = await external_task(
        hass,
        emulator,
        digital_human_id=LOBBY_ANNA_ID,
        room_id="lobby_room",
        stream_id="lobby_stream",
    )
    hass_storage[f"{DOMAIN}.{mock_config_entry.entry_id}.tasks"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{mock_config_entry.entry_id}.tasks",
        "data": {
            "tasks": {
                MANAGED_SUBENTRY_ID: {
                    "task_id": task_id,
                    "digital_human_id": LOBBY_ANNA_ID,
                    "room_id": "lobby_room",
                    "stream_id": "lobby_stream",
                },
                "removed-avatar": {
                    "task_id": "some-old-task",
                    "digital_human_id": LOBBY_ANNA_ID,
                    "room_id": "r",
                    "stream_id": "s",
                },
                "damaged-record": {"task_id": "t"},
            }
        },
    }
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert _coordinator(mock_config_entry).task_id == task_id
    assert _state(hass, STATE) == "ready"
    # The record of an avatar that no longer exists is dropped (its task stopped if alive).
    assert set(mock_config_entry.runtime_data.store.as_dict()) == {MANAGED_SUBENTRY_ID}
    await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_restart_after_reconfigure_stops_old_task(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """A stored task created for other settings (StreamId changed) is stopped, not taken over."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    task = await _coordinator(mock_config_entry).ensure_streaming()
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)

    subentry = mock_config_entry.subentries[MANAGED_SUBENTRY_ID]
    hass.config_entries.async_update_subentry(
        mock_config_entry, subentry, data={**subentry.data, CONF_STREAM_ID: "new_stream"}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await emulator.wait_for_task(task.task_id, TaskStatus.STOPPED)
    assert emulator.tasks[task.task_id].end_reason == "stopped"
    assert _coordinator(mock_config_entry).task_id is None
    assert mock_config_entry.runtime_data.store.get(MANAGED_SUBENTRY_ID) is None

    new_task = await _coordinator(mock_config_entry).ensure_streaming()
    assert new_task.stream_id == "new_stream"
    await hass.config_entries.async_unload(mock_config_entry.entry_id)

"""What the speech path reports into the avatar, and the interrupt button that reaches it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.zego_digital_human.client import ZegoTaskNotFoundError
from custom_components.zego_digital_human.const import STATUS_POLL_INTERVAL, SpeechEvent
from zego_emulator import TaskStatus

from .conftest import MANAGED_SUBENTRY_ID

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from custom_components.zego_digital_human.coordinator import AvatarCoordinator
    from zego_emulator import ZegoEmulator


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


def _avatar(entry: MockConfigEntry) -> AvatarCoordinator:
    return entry.runtime_data.avatars[MANAGED_SUBENTRY_ID]


async def test_speaking_ttfa_and_errors(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """set_speaking, record_ttfa and record_error drive the state entities."""
    avatar = _avatar(init_integration)
    await avatar.ensure_streaming()

    avatar.set_speaking(True)
    await hass.async_block_till_done()
    assert _state(hass, "sensor.lobby_avatar_state") == "speaking"
    assert _state(hass, "binary_sensor.lobby_speaking") == "on"

    avatar.record_ttfa(0.4321)
    await hass.async_block_till_done()
    assert float(_state(hass, "sensor.lobby_time_to_first_audio")) == pytest.approx(0.4321)

    avatar.set_speaking(False)
    avatar.record_error(HomeAssistantError("TTS engine failed: " + "x" * 400))
    await hass.async_block_till_done()
    assert _state(hass, "sensor.lobby_avatar_state") == "error"
    assert _state(hass, "binary_sensor.lobby_speaking") == "off"
    # States are capped at 255 characters.
    assert len(_state(hass, "sensor.lobby_last_error")) == 255

    # The next speech that reaches the avatar clears the error state (the text stays).
    avatar.set_speaking(True)
    await hass.async_block_till_done()
    assert _state(hass, "sensor.lobby_avatar_state") == "speaking"
    assert _state(hass, "sensor.lobby_last_error").startswith("TTS engine failed")

    avatar.record_error("plain text error")
    await hass.async_block_till_done()
    assert _state(hass, "sensor.lobby_last_error") == "plain text error"


async def test_speaking_ends_with_the_stream(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """An avatar cannot be speaking on a stream that ended."""
    avatar = _avatar(init_integration)
    task = await avatar.ensure_streaming()
    avatar.set_speaking(True)
    emulator.expire_task(task.task_id)
    await emulator.wait_for_task(task.task_id, TaskStatus.STOPPED)
    async_fire_time_changed(hass, dt_util.utcnow() + STATUS_POLL_INTERVAL)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _state(hass, "binary_sensor.lobby_speaking") == "off"
    assert _state(hass, "sensor.lobby_avatar_state") == "offline"


async def test_error_from_ended_task_checks_it_at_once(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """A speech failure caused by an ended task makes the avatar notice without waiting."""
    avatar = _avatar(init_integration)
    task = await avatar.ensure_streaming()
    emulator.expire_task(task.task_id)
    await emulator.wait_for_task(task.task_id, TaskStatus.STOPPED)

    cause = ZegoTaskNotFoundError(code=400000005, action="DriveByWsStream")
    err = HomeAssistantError("drive failed")
    err.__cause__ = cause  # as `raise ... from cause` leaves it
    avatar.record_error(err)
    await hass.async_block_till_done()
    assert avatar.task_id is None
    assert _state(hass, "sensor.lobby_stream_status") == "stopped"


async def test_speech_events(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """fire_speech_event reaches the event entity with its data; only the four types exist."""
    avatar = _avatar(init_integration)
    state = hass.states.get("event.lobby_speech")
    assert state is not None
    assert state.attributes["event_types"] == [
        "speech_started",
        "speech_finished",
        "speech_interrupted",
        "speech_failed",
    ]

    for event_type in SpeechEvent:
        avatar.fire_speech_event(event_type, {"message": "hello", "drive_id": "d1"})
        await hass.async_block_till_done()
        state = hass.states.get("event.lobby_speech")
        assert state is not None
        assert state.attributes["event_type"] == event_type.value
        assert state.attributes["message"] == "hello"

    avatar.fire_speech_event("speech_started")
    await hass.async_block_till_done()
    assert hass.states.get("event.lobby_speech").attributes["event_type"] == "speech_started"  # type: ignore[union-attr]

    with pytest.raises(ValueError, match="speech_exploded"):
        avatar.fire_speech_event("speech_exploded", {})


async def test_interrupt_button(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Interrupt cancels the speech queue (handlers) and ZEGO's current drive."""
    avatar = _avatar(init_integration)
    calls: list[str] = []

    def sync_handler() -> None:
        calls.append("sync")

    async def async_handler() -> None:
        await asyncio.sleep(0)
        calls.append("async")

    def broken_handler() -> None:
        raise RuntimeError("handler bug")

    unsub_sync = avatar.register_interrupt_handler(sync_handler)
    avatar.register_interrupt_handler(broken_handler)
    avatar.register_interrupt_handler(async_handler)

    # Without a stream, only the local queue is cancelled: nothing to tell ZEGO.
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.lobby_interrupt"}, blocking=True
    )
    assert calls == ["sync", "async"]
    assert "Interrupt handler of Lobby failed" in caplog.text
    assert not [r for r in emulator.requests if r.action == "InterruptDriveTask"]

    await avatar.ensure_streaming()
    unsub_sync()
    unsub_sync()  # unsubscribing twice is harmless
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.lobby_interrupt"}, blocking=True
    )
    assert calls == ["sync", "async", "async"]
    assert [r.code for r in emulator.requests if r.action == "InterruptDriveTask"] == [0]


async def test_interrupt_of_task_that_ended(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """Interrupting a task ZEGO already ended makes the avatar notice that it ended."""
    avatar = _avatar(init_integration)
    task = await avatar.ensure_streaming()
    emulator.expire_task(task.task_id)
    await emulator.wait_for_task(task.task_id, TaskStatus.STOPPED)
    await avatar.async_interrupt()
    await hass.async_block_till_done()
    assert avatar.task_id is None
    assert _state(hass, "sensor.lobby_avatar_state") == "offline"

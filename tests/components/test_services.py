"""The start_stream, stop_stream and interrupt actions, aimed at avatars by target."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.setup import async_setup_component
import pytest
import voluptuous as vol

from custom_components.zego_digital_human.const import CONF_STREAM_ID, DOMAIN
from zego_emulator import TaskStatus

from .conftest import (
    ATTACHED_SUBENTRY_ID,
    MANAGED_SUBENTRY_ID,
    attached_avatar_data,
    avatar_subentry,
    managed_avatar_data,
)

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from zego_emulator import ZegoEmulator

HALL_SUBENTRY_ID = "01JAVATARMANAGED000000000C"
TWO_AVATARS = [
    avatar_subentry(managed_avatar_data()),
    avatar_subentry(
        managed_avatar_data(name="Hall", **{CONF_STREAM_ID: "hall_stream"}), HALL_SUBENTRY_ID
    ),
]


def _device_id(hass: HomeAssistant, subentry_id: str) -> str:
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, subentry_id)})
    assert device is not None
    return device.id


def _live(emulator: ZegoEmulator) -> set[str]:
    return {
        task.stream_id for task in emulator.tasks.values() if task.status is TaskStatus.STREAMING
    }


async def test_services_registered_without_entries(hass: HomeAssistant) -> None:
    """The actions exist as soon as the integration is set up, with or without entries."""
    assert await async_setup_component(hass, DOMAIN, {})
    for service in ("start_stream", "stop_stream", "interrupt"):
        assert hass.services.has_service(DOMAIN, service)


@pytest.mark.parametrize("subentries_data", [TWO_AVATARS])
async def test_start_and_stop_by_device(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """Targeting devices starts (and stops) each targeted avatar, and only those."""
    await hass.services.async_call(
        DOMAIN,
        "start_stream",
        {"device_id": [_device_id(hass, MANAGED_SUBENTRY_ID), _device_id(hass, HALL_SUBENTRY_ID)]},
        blocking=True,
    )
    assert _live(emulator) == {"lobby_stream", "hall_stream"}

    await hass.services.async_call(
        DOMAIN,
        "stop_stream",
        {"device_id": _device_id(hass, HALL_SUBENTRY_ID)},
        blocking=True,
    )
    assert _live(emulator) == {"lobby_stream"}
    state = hass.states.get("sensor.hall_avatar_state")
    assert state is not None
    assert state.state == "offline"


@pytest.mark.parametrize("subentries_data", [TWO_AVATARS])
async def test_target_by_entity_and_area(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """Any entity of an avatar targets it; an area targets the avatars in it."""
    await hass.services.async_call(
        DOMAIN, "start_stream", {"entity_id": "sensor.hall_avatar_state"}, blocking=True
    )
    assert _live(emulator) == {"hall_stream"}

    area = ar.async_get(hass).async_get_or_create("Lobby")
    dr.async_get(hass).async_update_device(_device_id(hass, MANAGED_SUBENTRY_ID), area_id=area.id)
    await hass.services.async_call(DOMAIN, "start_stream", {"area_id": area.id}, blocking=True)
    assert _live(emulator) == {"hall_stream", "lobby_stream"}

    # An entity placed in an area on its own also brings its avatar along.
    kitchen = ar.async_get(hass).async_get_or_create("Kitchen")
    er.async_get(hass).async_update_entity("button.hall_interrupt", area_id=kitchen.id)
    await hass.services.async_call(DOMAIN, "stop_stream", {"area_id": kitchen.id}, blocking=True)
    assert _live(emulator) == {"lobby_stream"}


async def test_interrupt_action(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """Interrupt reaches the avatar's handlers and ZEGO."""
    avatar = init_integration.runtime_data.avatars[MANAGED_SUBENTRY_ID]
    await avatar.ensure_streaming()
    called: list[bool] = []
    avatar.register_interrupt_handler(lambda: called.append(True))
    await hass.services.async_call(
        DOMAIN, "interrupt", {"device_id": _device_id(hass, MANAGED_SUBENTRY_ID)}, blocking=True
    )
    assert called == [True]
    assert [r.action for r in emulator.requests].count("InterruptDriveTask") == 1


@pytest.mark.parametrize(
    "subentries_data",
    [
        [
            avatar_subentry(managed_avatar_data()),
            avatar_subentry(attached_avatar_data("gone-task"), ATTACHED_SUBENTRY_ID),
        ]
    ],
)
async def test_bad_targets(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
) -> None:
    """Targets that are not loaded avatars are refused with a translated validation error."""
    other = er.async_get(hass).async_get_or_create("sensor", "other", "x1")
    other_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=init_integration.entry_id, identifiers={("other", "x")}
    )
    cases: list[tuple[dict[str, object], str]] = [
        ({"entity_id": "sensor.does_not_exist"}, "not_an_avatar"),
        ({"entity_id": other.entity_id}, "not_an_avatar"),
        ({"device_id": "no-such-device"}, "not_an_avatar"),
        ({"device_id": other_device.id}, "not_an_avatar"),
        ({"area_id": "empty_area"}, "no_avatar_in_target"),
    ]
    for data, key in cases:
        with pytest.raises(ServiceValidationError) as excinfo:
            await hass.services.async_call(DOMAIN, "start_stream", data, blocking=True)
        assert excinfo.value.translation_domain == DOMAIN
        assert excinfo.value.translation_key == key, data

    # An attached avatar's task belongs to someone else: HA checks it but never stops it.
    attached = {"device_id": _device_id(hass, ATTACHED_SUBENTRY_ID)}
    with pytest.raises(ServiceValidationError) as excinfo:
        await hass.services.async_call(DOMAIN, "stop_stream", attached, blocking=True)
    assert excinfo.value.translation_key == "not_managed"
    with pytest.raises(HomeAssistantError) as excinfo:
        await hass.services.async_call(DOMAIN, "start_stream", attached, blocking=True)
    assert excinfo.value.translation_key == "attached_task_ended"

    with pytest.raises(vol.Invalid):
        await hass.services.async_call(DOMAIN, "start_stream", {}, blocking=True)

    device_id = _device_id(hass, MANAGED_SUBENTRY_ID)
    await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as excinfo:
        await hass.services.async_call(
            DOMAIN, "start_stream", {"device_id": device_id}, blocking=True
        )
    assert excinfo.value.translation_key == "avatar_not_loaded"
    assert excinfo.value.translation_placeholders == {"avatar": "Lobby"}

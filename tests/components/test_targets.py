"""Every target HA's target selector produces reaches the avatars: floors, labels, `all`.

Before: floors and labels were refused with voluptuous' untranslated "extra keys not allowed".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
    floor_registry as fr,
    label_registry as lr,
)
import pytest

from custom_components.zego_digital_human.const import CONF_STREAM_ID, DOMAIN
from zego_emulator import TaskStatus

from .conftest import MANAGED_SUBENTRY_ID, avatar_subentry, managed_avatar_data
from .devices import avatar_device

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from zego_emulator import ZegoEmulator

HALL_SUBENTRY_ID = "01JAVATARMANAGED000000000C"
TWO_AVATARS = [
    avatar_subentry(managed_avatar_data()),
    avatar_subentry(
        managed_avatar_data(name="Hall", **{CONF_STREAM_ID: "hall_stream"}), HALL_SUBENTRY_ID
    ),
]
pytestmark = pytest.mark.parametrize("subentries_data", [TWO_AVATARS])


def _device_id(hass: HomeAssistant, subentry_id: str) -> str:
    device = avatar_device(hass, subentry_id)
    assert device is not None
    return device.id


def _live(emulator: ZegoEmulator) -> set[str]:
    return {
        task.stream_id for task in emulator.tasks.values() if task.status is TaskStatus.STREAMING
    }


async def _call(hass: HomeAssistant, service: str, data: dict[str, object]) -> None:
    await hass.services.async_call(DOMAIN, service, data, blocking=True)


@pytest.mark.usefixtures("init_integration")
async def test_floor_targets_the_avatars_on_it(hass: HomeAssistant, emulator: ZegoEmulator) -> None:
    """A floor reaches the avatars whose device is in one of its areas, and only those."""
    ground = fr.async_get(hass).async_create("Ground floor")
    upstairs = fr.async_get(hass).async_create("Upstairs")
    lobby = ar.async_get(hass).async_create("Lobby", floor_id=ground.floor_id)
    ar.async_get(hass).async_create("Bedroom", floor_id=upstairs.floor_id)
    dr.async_get(hass).async_update_device(_device_id(hass, MANAGED_SUBENTRY_ID), area_id=lobby.id)

    await _call(hass, "start_stream", {"floor_id": ground.floor_id})
    assert _live(emulator) == {"lobby_stream"}

    # A floor without an avatar is the caller's mistake, said in their language.
    with pytest.raises(ServiceValidationError) as excinfo:
        await _call(hass, "stop_stream", {"floor_id": upstairs.floor_id})
    assert excinfo.value.translation_domain == DOMAIN
    assert excinfo.value.translation_key == "no_avatar_in_target"
    assert _live(emulator) == {"lobby_stream"}


@pytest.mark.usefixtures("init_integration")
async def test_label_on_a_device_or_an_entity(hass: HomeAssistant, emulator: ZegoEmulator) -> None:
    """A label reaches an avatar through its device's labels or one of its entities' labels."""
    labels = lr.async_get(hass)
    greeters = labels.async_create("Greeters")
    kiosk = labels.async_create("Kiosk")
    dr.async_get(hass).async_update_device(
        _device_id(hass, HALL_SUBENTRY_ID), labels={greeters.label_id}
    )
    er.async_get(hass).async_update_entity("sensor.lobby_avatar_state", labels={kiosk.label_id})

    await _call(hass, "start_stream", {"label_id": greeters.label_id})
    assert _live(emulator) == {"hall_stream"}
    await _call(hass, "start_stream", {"label_id": [kiosk.label_id]})
    assert _live(emulator) == {"hall_stream", "lobby_stream"}
    await _call(hass, "stop_stream", {"label_id": [greeters.label_id, kiosk.label_id]})
    assert _live(emulator) == set()

    unused = labels.async_create("Unused")
    with pytest.raises(ServiceValidationError) as excinfo:
        await _call(hass, "start_stream", {"label_id": unused.label_id})
    assert excinfo.value.translation_key == "no_avatar_in_target"


@pytest.mark.usefixtures("init_integration")
async def test_all_and_none(hass: HomeAssistant, emulator: ZegoEmulator) -> None:
    """`entity_id: all` reaches every loaded avatar; `none` reaches none, said so."""
    await _call(hass, "start_stream", {"entity_id": "all"})
    assert _live(emulator) == {"hall_stream", "lobby_stream"}
    with pytest.raises(ServiceValidationError) as excinfo:
        await _call(hass, "stop_stream", {"entity_id": "none"})
    assert excinfo.value.translation_key == "no_avatar_targeted"
    assert _live(emulator) == {"hall_stream", "lobby_stream"}
    await _call(hass, "stop_stream", {"entity_id": "all"})
    assert _live(emulator) == set()


@pytest.mark.usefixtures("init_integration")
async def test_mixed_targets_and_speech_actions_accept_them(
    hass: HomeAssistant, emulator: ZegoEmulator
) -> None:
    """Target kinds combine; speak and play_audio take the same targets."""
    ground = fr.async_get(hass).async_create("Ground floor")
    lobby = ar.async_get(hass).async_create("Lobby", floor_id=ground.floor_id)
    dr.async_get(hass).async_update_device(_device_id(hass, MANAGED_SUBENTRY_ID), area_id=lobby.id)
    greeters = lr.async_get(hass).async_create("Greeters")
    dr.async_get(hass).async_update_device(
        _device_id(hass, HALL_SUBENTRY_ID), labels={greeters.label_id}
    )
    await _call(hass, "start_stream", {"floor_id": ground.floor_id, "label_id": greeters.label_id})
    assert _live(emulator) == {"hall_stream", "lobby_stream"}

    empty = fr.async_get(hass).async_create("Cellar")
    for service, fields in (("speak", {"message": "Hello"}), ("play_audio", {"media_id": "x"})):
        with pytest.raises(ServiceValidationError) as excinfo:
            await hass.services.async_call(
                DOMAIN,
                service,
                {"floor_id": empty.floor_id, **fields},
                blocking=True,
                return_response=True,
            )
        assert excinfo.value.translation_key == "no_avatar_in_target"

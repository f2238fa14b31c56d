"""Entities per platform, as snapshots: a managed avatar (no task yet) and an attached one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from unittest.mock import patch

import attr
from homeassistant.const import Platform
from homeassistant.core import State
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from syrupy.filters import props

from custom_components.zego_digital_human.const import DOMAIN

from .conftest import (
    ATTACHED_SUBENTRY_ID,
    MANAGED_SUBENTRY_ID,
    attached_avatar_data,
    avatar_subentry,
    external_task,
    managed_avatar_data,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from syrupy.assertion import SnapshotAssertion

    from zego_emulator import ZegoEmulator

# One snapshot file serves every HA version (2025.4 to 2026.11): registry fields that only
# newer HA has, or whose default changed (2026.11: `aliases` [None], was an empty set), are
# left out; the integration sets none of them.
VERSION_SPECIFIC_FIELDS = ("object_id_base", "suggested_object_id", "compat_name", "aliases")
SEPARATELY_CHECKED_ATTRIBUTES = ("entity_picture",)


@pytest.fixture(autouse=True)
def still_usage_clock() -> Iterator[None]:
    """The attached avatar streams: its stream time must not move between snapshots."""
    with patch("custom_components.zego_digital_human.usage.monotonic", return_value=1000.0):
        yield


@pytest.fixture
async def subentries_data(hass: HomeAssistant, emulator: ZegoEmulator) -> list[dict[str, Any]]:
    """A managed avatar without a task and an avatar attached to a streaming task."""
    task_id = await external_task(hass, emulator)
    return [
        avatar_subentry(managed_avatar_data()),
        avatar_subentry(attached_avatar_data(task_id), ATTACHED_SUBENTRY_ID),
    ]


def _plain_keys(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """HA 2026.11 keys attributes and capabilities by StrEnum members: equal to, but shown
    unlike, the plain strings of older HA."""
    return {str(key): value for key, value in mapping.items()}


async def snapshot_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    entry_id: str,
    volatile: dict[str, str],
) -> None:
    """Like phcc's snapshot_platform, but stable across HA versions and random TaskIds."""
    entries = er.async_entries_for_config_entry(entity_registry, entry_id)
    assert entries
    assert len({entry.domain for entry in entries}) == 1, "limit the test to one platform"
    for entry in sorted(entries, key=lambda item: item.entity_id):
        capabilities = _plain_keys(entry.capabilities) if entry.capabilities else None
        assert attr.evolve(entry, capabilities=capabilities) == snapshot(
            name=f"{entry.entity_id}-entry", exclude=props(*VERSION_SPECIFIC_FIELDS)
        )
        assert entry.disabled_by is None, "enable all entities"
        state = hass.states.get(entry.entity_id)
        assert state is not None, entry.entity_id
        attributes = {
            key: value
            for key, value in _plain_keys(state.attributes).items()
            # The picture is the avatar's look, not the entity's shape: checked apart.
            if key not in SEPARATELY_CHECKED_ATTRIBUTES
        }
        state = State(state.entity_id, volatile.get(state.state, state.state), attributes)
        assert state == snapshot(name=f"{entry.entity_id}-state")


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize(
    "platforms",
    [
        [Platform.SENSOR],
        [Platform.BINARY_SENSOR],
        [Platform.BUTTON],
        [Platform.EVENT],
        [Platform.MEDIA_PLAYER],
        [Platform.NOTIFY],
        [Platform.SELECT],
        [Platform.ASSIST_SATELLITE],
        [Platform.CONVERSATION],
    ],
    ids=[
        "sensor",
        "binary_sensor",
        "button",
        "event",
        "media_player",
        "notify",
        "select",
        "assist_satellite",
        "conversation",
    ],
)
async def test_platform_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Names, translation keys, device classes, states and attributes of each platform."""
    attached = init_integration.runtime_data.avatars[ATTACHED_SUBENTRY_ID]
    assert attached.task_id is not None
    await snapshot_entities(
        hass,
        entity_registry,
        snapshot,
        init_integration.entry_id,
        {attached.task_id: "<attached task id>"},
    )
    # Every entity sits on its avatar's device, in its avatar's subentry.
    for entry in er.async_entries_for_config_entry(entity_registry, init_integration.entry_id):
        assert entry.device_id is not None
        device = device_registry.async_get(entry.device_id)
        assert device is not None
        ((domain, subentry_id),) = device.identifiers
        assert domain == DOMAIN
        assert entry.config_subentry_id == subentry_id
        assert subentry_id in (MANAGED_SUBENTRY_ID, ATTACHED_SUBENTRY_ID)


@pytest.mark.parametrize("platforms", [[Platform.SENSOR]])
async def test_devices(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """One service device per avatar, named after it, with the digital human as model id."""
    devices = {
        next(iter(device.identifiers))[1]: device
        for device in dr.async_entries_for_config_entry(device_registry, init_integration.entry_id)
    }
    assert set(devices) == {MANAGED_SUBENTRY_ID, ATTACHED_SUBENTRY_ID}
    lobby = devices[MANAGED_SUBENTRY_ID]
    assert (lobby.name, lobby.manufacturer, lobby.model) == ("Lobby", "ZEGO", "Digital Human")
    assert lobby.model_id == managed_avatar_data()["digital_human_id"]
    assert lobby.entry_type is dr.DeviceEntryType.SERVICE

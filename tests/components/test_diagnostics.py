"""Diagnostics: useful content, no secrets."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from .conftest import MANAGED_SUBENTRY_ID

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
    from syrupy.assertion import SnapshotAssertion

    from zego_emulator import ZegoEmulator


def _normalise(value: Any, volatile: dict[str, str]) -> Any:
    """Replace values that change from run to run (ports, TaskIds, times)."""
    if isinstance(value, dict):
        return {
            key: "<time>"
            if key == "created_at" and item is not None
            else _normalise(item, volatile)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_normalise(item, volatile) for item in value]
    if isinstance(value, str):
        for raw, placeholder in volatile.items():
            value = value.replace(raw, placeholder)
    return value


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """The entry, its avatars, their state and the stored TaskIds; the secret is redacted."""
    avatar = init_integration.runtime_data.avatars[MANAGED_SUBENTRY_ID]
    task = await avatar.ensure_streaming()
    avatar.record_ttfa(0.5)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    text = json.dumps(diagnostics)
    assert emulator.config.server_secret not in text
    assert "Signature" not in text
    assert "Token" not in text
    assert diagnostics["entry"]["data"]["server_secret"] == "**REDACTED**"
    assert diagnostics["stored_tasks"][MANAGED_SUBENTRY_ID]["task_id"] == task.task_id

    assert (
        _normalise(
            diagnostics,
            {emulator.endpoint: "http://127.0.0.1:<port>", task.task_id: "<task id>"},
        )
        == snapshot
    )

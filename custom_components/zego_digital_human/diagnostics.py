"""Diagnostics: the entry, its avatars and their state, with every secret redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import async_redact_data

from .const import CONF_SERVER_SECRET

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .coordinator import ZegoConfigEntry

# Anything that authenticates: the ServerSecret, request signatures, drive tokens and the
# WebSocket address that carries one.
TO_REDACT = {
    CONF_SERVER_SECRET,
    "ServerSecret",
    "signature",
    "Signature",
    "token",
    "Token",
    "wss_address",
    "WssAddress",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: ZegoConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry."""
    runtime = entry.runtime_data
    avatars: dict[str, Any] = {}
    for subentry_id, coordinator in runtime.avatars.items():
        snapshot = asdict(coordinator.data)
        avatars[subentry_id] = {
            "title": coordinator.config.name,
            "config": asdict(coordinator.config),
            "snapshot": snapshot,
            "last_update_success": coordinator.last_update_success,
        }
    return async_redact_data(
        {
            "entry": {
                "title": entry.title,
                "data": dict(entry.data),
                "options": dict(entry.options),
                "subentries": {
                    subentry_id: {
                        "type": subentry.subentry_type,
                        "title": subentry.title,
                        "data": dict(subentry.data),
                    }
                    for subentry_id, subentry in entry.subentries.items()
                },
            },
            "avatars": avatars,
            "stored_tasks": runtime.store.as_dict(),
        },
        TO_REDACT,
    )

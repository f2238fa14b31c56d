"""Device-registry look-ups that read the same on HA 2025.4 through 2026.11.

HA 2026.8 made identifiers unique per config entry only and gave each device exactly one
config entry and subentry; `async_get_device(identifiers=...)` and
`DeviceEntry.config_entries_subentries` are deprecated there (removed in 2027.8 and 2027.10).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.helpers import device_registry as dr

from custom_components.zego_digital_human.const import DOMAIN

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant


def avatar_device(hass: HomeAssistant, subentry_id: str) -> dr.DeviceEntry | None:
    """The device of the avatar `subentry_id` (whichever of our entries holds it), or None."""
    registry = dr.async_get(hass)
    identifier = (DOMAIN, subentry_id)
    by_identifier = getattr(registry, "async_get_device_by_identifier", None)
    if by_identifier is None:  # HA before 2026.8: identifiers were unique registry-wide
        return registry.async_get_device(identifiers={identifier})
    for entry in hass.config_entries.async_entries(DOMAIN):
        device: dr.DeviceEntry | None = by_identifier(identifier, entry.entry_id)
        if device is not None:
            return device
    return None


def device_owners(device: dr.DeviceEntry) -> dict[str, set[str | None]]:
    """The config entries of a device, each with the subentries it belongs to."""
    if hasattr(device, "config_subentry_id"):  # HA 2026.8+: one entry, at most one subentry
        return {device.config_entry_id: {device.config_subentry_id}}
    return dict(device.config_entries_subentries)

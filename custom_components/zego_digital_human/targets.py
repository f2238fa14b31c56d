"""Which avatars an action targets: everything HA's target selector can produce.

entity_id (a list, or `all`), device_id, area_id, floor_id and label_id are resolved by HA's
own helper, which moved from helpers.service (2025.4) to helpers.target (2025.x onwards) and
renamed its input class in 2026.2: the newest one present is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, NamedTuple

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_AREA_ID,
    ATTR_DEVICE_ID,
    ATTR_ENTITY_ID,
    ATTR_FLOOR_ID,
    ATTR_LABEL_ID,
    ENTITY_MATCH_ALL,
    ENTITY_MATCH_NONE,
)
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
    service as service_helper,
)
import voluptuous as vol

from .const import DOMAIN

if TYPE_CHECKING:
    from .coordinator import AvatarCoordinator, ZegoConfigEntry

_IDS = vol.Any(ENTITY_MATCH_NONE, vol.All(cv.ensure_list, [cv.string]))

TARGET_FIELDS: dict[vol.Marker, object] = {
    vol.Optional(ATTR_ENTITY_ID): cv.comp_entity_ids,
    vol.Optional(ATTR_DEVICE_ID): _IDS,
    vol.Optional(ATTR_AREA_ID): _IDS,
    vol.Optional(ATTR_FLOOR_ID): _IDS,
    vol.Optional(ATTR_LABEL_ID): _IDS,
}
_KEYS = (ATTR_ENTITY_ID, ATTR_DEVICE_ID, ATTR_AREA_ID, ATTR_FLOOR_ID, ATTR_LABEL_ID)
HAS_TARGET = cv.has_at_least_one_key(*_KEYS)


class _Referenced(NamedTuple):
    explicit_entities: set[str]
    indirect_entities: set[str]
    devices: set[str]


def _extract(hass: HomeAssistant, call: ServiceCall) -> _Referenced:
    """Run HA's target helper, wherever this HA version keeps it."""
    selected: Any
    try:
        target_helpers: Any = importlib.import_module("homeassistant.helpers.target")
    except ImportError:
        target_helpers = None
    selection_class = (
        getattr(target_helpers, "TargetSelection", None)
        or getattr(target_helpers, "TargetSelectorData", None)
        if target_helpers is not None
        else None
    )
    if selection_class is not None:
        selected = target_helpers.async_extract_referenced_entity_ids(
            hass, selection_class(call.data)
        )
    else:  # HA before helpers.target (2025.4); newer HA no longer has it here
        legacy: Any = service_helper
        selected = legacy.async_extract_referenced_entity_ids(hass, call)
    return _Referenced(
        set(selected.referenced),
        set(selected.indirectly_referenced),
        set(selected.referenced_devices),
    )


def _avatar_subentry_id(identifiers: set[tuple[str, str]]) -> str | None:
    # Identifiers, not the entry type: HA 2026.11's registry also returns child devices.
    return next((ident for domain, ident in identifiers if domain == DOMAIN), None)


def _not_an_avatar(target: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="not_an_avatar",
        translation_placeholders={"target": target},
    )


def _targeted_devices(hass: HomeAssistant, call: ServiceCall, loaded_avatars: set[str]) -> set[str]:
    """The avatar device ids a call names or covers."""
    dev_reg = dr.async_get(hass)
    ent_reg = er.async_get(hass)
    device_ids: set[str] = set()
    if call.data.get(ATTR_ENTITY_ID) == ENTITY_MATCH_ALL:
        # Only our entries' devices can be avatars (the registry's container type differs
        # between HA versions, a per-entry look-up does not).
        device_ids.update(
            device.id
            for entry in hass.config_entries.async_entries(DOMAIN)
            for device in dr.async_entries_for_config_entry(dev_reg, entry.entry_id)
            if _avatar_subentry_id(device.identifiers) in loaded_avatars
        )
    referenced = _extract(hass, call)
    for entity_id in referenced.explicit_entities - {ENTITY_MATCH_ALL}:
        entity = ent_reg.async_get(entity_id)
        if entity is None or entity.platform != DOMAIN or entity.device_id is None:
            raise _not_an_avatar(entity_id)
        device_ids.add(entity.device_id)
    explicit_devices = call.data.get(ATTR_DEVICE_ID, ENTITY_MATCH_NONE)
    for device_id in explicit_devices if explicit_devices != ENTITY_MATCH_NONE else []:
        device = dev_reg.async_get(device_id)
        if device is None or _avatar_subentry_id(device.identifiers) is None:
            raise _not_an_avatar(device_id)
        device_ids.add(device_id)
    for entity_id in referenced.indirect_entities:
        entity = ent_reg.async_get(entity_id)
        if entity is not None and entity.platform == DOMAIN and entity.device_id is not None:
            device_ids.add(entity.device_id)
    for device_id in referenced.devices:
        device = dev_reg.async_get(device_id)
        if device is not None and _avatar_subentry_id(device.identifiers) is not None:
            device_ids.add(device_id)
    return device_ids


@callback
def async_resolve_avatars(hass: HomeAssistant, call: ServiceCall) -> list[AvatarCoordinator]:
    """Return the loaded avatars a call targets; raise ServiceValidationError otherwise.

    An entity or device named explicitly must be an avatar's; areas, floors, labels and
    `all` are broad targets: the avatars among them count, everything else there is ignored.
    """
    owners: dict[str, ZegoConfigEntry] = {
        avatar_id: entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
        for avatar_id in entry.runtime_data.avatars
    }
    dev_reg = dr.async_get(hass)
    avatars: list[AvatarCoordinator] = []
    for device_id in sorted(_targeted_devices(hass, call, set(owners))):
        device = dev_reg.async_get(device_id)
        subentry_id = _avatar_subentry_id(device.identifiers) if device is not None else None
        if device is None or subentry_id is None:
            raise _not_an_avatar(device_id)
        owner = owners.get(subentry_id)
        if owner is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="avatar_not_loaded",
                translation_placeholders={"avatar": device.name or device_id},
            )
        avatars.append(owner.runtime_data.avatars[subentry_id])
    if not avatars:
        # `none` everywhere selects nothing at all; anything else was a place without avatars.
        if any(call.data.get(key) not in (None, ENTITY_MATCH_NONE, []) for key in _KEYS):
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="no_avatar_in_target"
            )
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_avatar_targeted"
        )
    return avatars

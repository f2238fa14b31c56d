"""Actions of the integration: start_stream, stop_stream, interrupt, speak, play_audio.

Registered once in async_setup (not per entry) and aimed at avatars by target: their
devices, any of their entities, or an area holding them. The target is resolved through
the registries here, because HA's own target helper moved between 2025.4 and 2026.x.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_AREA_ID, ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)

if TYPE_CHECKING and sys.version_info >= (3, 14):
    # HA 2026.11 (Python 3.14) validates with probatio and types its APIs for it; at run time
    # `voluptuous` is an alias of probatio there. Older HA, checked as 3.13, has voluptuous.
    import probatio as vol
else:
    import voluptuous as vol

from .const import (
    ATTR_LANGUAGE,
    ATTR_MEDIA_ID,
    ATTR_MESSAGE,
    ATTR_OPTIONS,
    ATTR_POLICY,
    ATTR_TTS_ENGINE,
    ATTR_WAIT,
    DOMAIN,
    SERVICE_INTERRUPT,
    SERVICE_PLAY_AUDIO,
    SERVICE_SPEAK,
    SERVICE_START_STREAM,
    SERVICE_STOP_STREAM,
    OverlapPolicy,
)
from .speech import SpeechResult, WaitFor

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from homeassistant.util.json import JsonValueType

    from .avatar import AvatarCoordinator
    from .data import ZegoConfigEntry
    from .speech import SpeechManager

_TARGET_FIELDS: dict[vol.Marker, object] = {
    vol.Optional(ATTR_ENTITY_ID): cv.entity_ids,
    vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_AREA_ID): vol.All(cv.ensure_list, [cv.string]),
}
_HAS_TARGET = cv.has_at_least_one_key(ATTR_ENTITY_ID, ATTR_DEVICE_ID, ATTR_AREA_ID)

SERVICE_SCHEMA = vol.All(vol.Schema(_TARGET_FIELDS), _HAS_TARGET)

# Speech fields: the message's emptiness is checked by the speech path, which raises a
# translated error instead of voluptuous' generic one.
_SPEECH_FIELDS: dict[vol.Marker, object] = {
    vol.Optional(ATTR_POLICY): vol.In([policy.value for policy in OverlapPolicy]),
    vol.Optional(ATTR_WAIT, default=False): cv.boolean,
}
SPEAK_SCHEMA = vol.All(
    vol.Schema(
        {
            **_TARGET_FIELDS,
            **_SPEECH_FIELDS,
            vol.Required(ATTR_MESSAGE): cv.string,
            vol.Optional(ATTR_TTS_ENGINE): cv.string,
            vol.Optional(ATTR_LANGUAGE): cv.string,
            vol.Optional(ATTR_OPTIONS): dict,
        }
    ),
    _HAS_TARGET,
)
PLAY_AUDIO_SCHEMA = vol.All(
    vol.Schema({**_TARGET_FIELDS, **_SPEECH_FIELDS, vol.Required(ATTR_MEDIA_ID): cv.string}),
    _HAS_TARGET,
)

_ACTIONS: dict[str, Callable[[AvatarCoordinator], Awaitable[object]]] = {
    SERVICE_START_STREAM: lambda coordinator: coordinator.async_start_stream(),
    SERVICE_STOP_STREAM: lambda coordinator: coordinator.async_stop_stream(),
    SERVICE_INTERRUPT: lambda coordinator: coordinator.async_interrupt(),
}


def _not_an_avatar(target: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="not_an_avatar",
        translation_placeholders={"target": target},
    )


def _avatar_subentry_id(identifiers: set[tuple[str, str]]) -> str | None:
    # Identifiers, not the entry: HA 2026.11's registry also returns child devices.
    return next((ident for domain, ident in identifiers if domain == DOMAIN), None)


def _avatar_devices_in_area(
    dev_reg: dr.DeviceRegistry, ent_reg: er.EntityRegistry, area_id: str
) -> set[str]:
    # An area is a broad target: take the avatars in it, ignore everything else there.
    found = {
        device.id
        for device in dr.async_entries_for_area(dev_reg, area_id)
        if _avatar_subentry_id(device.identifiers) is not None
    }
    found.update(
        entity.device_id
        for entity in er.async_entries_for_area(ent_reg, area_id)
        if entity.platform == DOMAIN and entity.device_id is not None
    )
    return found


@callback
def async_resolve_avatars(hass: HomeAssistant, call: ServiceCall) -> list[AvatarCoordinator]:
    """Return the loaded avatars a call targets; raise ServiceValidationError otherwise."""
    dev_reg = dr.async_get(hass)
    ent_reg = er.async_get(hass)
    device_ids: set[str] = set(call.data.get(ATTR_DEVICE_ID, []))
    for entity_id in call.data.get(ATTR_ENTITY_ID, []):
        entity = ent_reg.async_get(entity_id)
        if entity is None or entity.platform != DOMAIN or entity.device_id is None:
            raise _not_an_avatar(entity_id)
        device_ids.add(entity.device_id)
    for area_id in call.data.get(ATTR_AREA_ID, []):
        device_ids |= _avatar_devices_in_area(dev_reg, ent_reg, area_id)

    owners: dict[str, ZegoConfigEntry] = {}
    loaded: list[ZegoConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    for loaded_entry in loaded:
        for avatar_id in loaded_entry.runtime_data.avatars:
            owners[avatar_id] = loaded_entry

    avatars: list[AvatarCoordinator] = []
    for device_id in sorted(device_ids):
        target = dev_reg.async_get(device_id)
        subentry_id = _avatar_subentry_id(target.identifiers) if target is not None else None
        if target is None or subentry_id is None:
            raise _not_an_avatar(device_id)
        owner = owners.get(subentry_id)
        if owner is None or owner.state is not ConfigEntryState.LOADED:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="avatar_not_loaded",
                translation_placeholders={"avatar": target.name or device_id},
            )
        avatars.append(owner.runtime_data.avatars[subentry_id])
    if not avatars:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_avatar_targeted"
        )
    return avatars


async def _async_handle(call: ServiceCall) -> None:
    action = _ACTIONS[call.service]
    avatars = async_resolve_avatars(call.hass, call)
    # Avatars are independent: one slow start must not hold up the others.
    results = await asyncio.gather(*(action(avatar) for avatar in avatars), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _speech_of(avatar: AvatarCoordinator) -> SpeechManager:
    return avatar.config_entry.runtime_data.speech[avatar.subentry_id]


async def _async_speech_call(
    call: ServiceCall,
    say: Callable[[SpeechManager, WaitFor], Awaitable[SpeechResult]],
) -> ServiceResponse:
    """Run a speech request on every targeted avatar and report each result.

    Without `wait` the call returns at the first audio frame: failures to synthesise,
    fetch or drive still reach the caller, the whole utterance does not hold it up.
    """
    avatars = async_resolve_avatars(call.hass, call)
    wait = WaitFor.FINISHED if call.data[ATTR_WAIT] else WaitFor.STARTED
    outcomes = await asyncio.gather(
        *(say(_speech_of(avatar), wait) for avatar in avatars),
        return_exceptions=True,
    )
    results: list[JsonValueType] = []
    for avatar, outcome in zip(avatars, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            raise outcome
        results.append({"avatar": avatar.config.name, **outcome.as_dict()})
    return {"results": results}


async def _async_speak(call: ServiceCall) -> ServiceResponse:
    return await _async_speech_call(
        call,
        lambda speech, wait: speech.async_say(
            call.data[ATTR_MESSAGE],
            engine=call.data.get(ATTR_TTS_ENGINE),
            language=call.data.get(ATTR_LANGUAGE),
            options=call.data.get(ATTR_OPTIONS),
            policy=call.data.get(ATTR_POLICY),
            wait=wait,
        ),
    )


async def _async_play_audio(call: ServiceCall) -> ServiceResponse:
    return await _async_speech_call(
        call,
        lambda speech, wait: speech.async_play(
            call.data[ATTR_MEDIA_ID], policy=call.data.get(ATTR_POLICY), wait=wait
        ),
    )


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    for service in _ACTIONS:
        hass.services.async_register(DOMAIN, service, _async_handle, schema=SERVICE_SCHEMA)
    hass.services.async_register(
        DOMAIN,
        SERVICE_SPEAK,
        _async_speak,
        schema=SPEAK_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_PLAY_AUDIO,
        _async_play_audio,
        schema=PLAY_AUDIO_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )

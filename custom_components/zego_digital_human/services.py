"""Actions of the integration: start_stream, stop_stream, interrupt, speak, play_audio.

Registered once in async_setup (not per entry) and aimed at avatars by any target HA's
selector produces (targets.py).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers import (
    config_validation as cv,
)
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
from .targets import HAS_TARGET, TARGET_FIELDS, async_resolve_avatars

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from homeassistant.util.json import JsonValueType

    from .coordinator import AvatarCoordinator
    from .speech import SpeechManager

SERVICE_SCHEMA = vol.All(vol.Schema(TARGET_FIELDS), HAS_TARGET)

# Speech fields: the message's emptiness is checked by the speech path, which raises a
# translated error instead of voluptuous' generic one.
_SPEECH_FIELDS: dict[vol.Marker, object] = {
    vol.Optional(ATTR_POLICY): vol.In([policy.value for policy in OverlapPolicy]),
    vol.Optional(ATTR_WAIT, default=False): cv.boolean,
}
SPEAK_SCHEMA = vol.All(
    vol.Schema(
        {
            **TARGET_FIELDS,
            **_SPEECH_FIELDS,
            vol.Required(ATTR_MESSAGE): cv.string,
            vol.Optional(ATTR_TTS_ENGINE): cv.string,
            vol.Optional(ATTR_LANGUAGE): cv.string,
            vol.Optional(ATTR_OPTIONS): dict,
        }
    ),
    HAS_TARGET,
)
PLAY_AUDIO_SCHEMA = vol.All(
    vol.Schema({**TARGET_FIELDS, **_SPEECH_FIELDS, vol.Required(ATTR_MEDIA_ID): cv.string}),
    HAS_TARGET,
)

_ACTIONS: dict[str, Callable[[AvatarCoordinator], Awaitable[object]]] = {
    SERVICE_START_STREAM: lambda coordinator: coordinator.async_start_stream(),
    SERVICE_STOP_STREAM: lambda coordinator: coordinator.async_stop_stream(),
    SERVICE_INTERRUPT: lambda coordinator: coordinator.async_interrupt(),
}


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

"""Turn ZEGO client errors into translated Home Assistant errors."""

from __future__ import annotations

from functools import wraps
from typing import TYPE_CHECKING, Any, Concatenate, Protocol

from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .client import (
    RetryPolicy,
    ZegoAuthenticationError,
    ZegoClient,
    ZegoClockSkewError,
    ZegoDigitalHumanNotFoundError,
    ZegoError,
    ZegoInvalidParameterError,
    ZegoPermissionError,
    ZegoQuotaError,
    ZegoRateLimitedError,
    ZegoStreamIdConflictError,
    ZegoTaskEndedError,
    ZegoTaskNotFoundError,
)
from .const import DOMAIN, MAX_STATE_LENGTH

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant


# Module-level so that tests can shorten the waits; production uses the client's defaults.
CLIENT_RETRY = RetryPolicy()
CLIENT_REQUEST_TIMEOUT = 10.0


def create_client(
    hass: HomeAssistant, *, app_id: int | str, server_secret: str, endpoint: str
) -> ZegoClient:
    """Return a ZEGO client on HA's shared aiohttp session (REST verifies TLS).

    The client shares the process-wide rate limiter of its AppId, so the config flow, the
    status polls and the speech path together stay within ZEGO's 10 requests per second.
    """
    return ZegoClient(
        app_id=app_id,
        server_secret=server_secret,
        session=async_get_clientsession(hass),
        endpoint=endpoint,
        request_timeout=CLIENT_REQUEST_TIMEOUT,
        retry=CLIENT_RETRY,
    )


def ha_error(key: str, **placeholders: str) -> HomeAssistantError:
    """Return a HomeAssistantError with this integration's translation key."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    )


def describe(err: BaseException) -> str:
    """Return a readable one-line description of an error, short enough for a state.

    ZegoError texts never hold the ServerSecret, a signature or a drive token (the client
    guarantees it), so they are safe to show.
    """
    text = str(err) or type(err).__name__
    return text[:MAX_STATE_LENGTH]


# Errors that need no detail beyond their translation; checked in order (subclasses first).
_PLAIN_KEYS: tuple[tuple[type[ZegoError], str], ...] = (
    (ZegoAuthenticationError, "authentication_error"),
    (ZegoPermissionError, "service_not_enabled"),
    (ZegoRateLimitedError, "rate_limited"),
    (ZegoStreamIdConflictError, "stream_id_in_use"),
    (ZegoTaskNotFoundError, "task_not_found"),
    (ZegoTaskEndedError, "task_not_found"),
    (ZegoDigitalHumanNotFoundError, "digital_human_not_found"),
)
# Errors whose readable text is worth showing.
_DETAILED_KEYS: tuple[tuple[type[ZegoError], str], ...] = (
    (ZegoQuotaError, "quota_exceeded"),
    (ZegoInvalidParameterError, "invalid_parameter"),
)


def zego_error_to_ha(err: ZegoError) -> HomeAssistantError:
    """Map a client error to a translated HomeAssistantError."""
    if isinstance(err, ZegoClockSkewError):
        if err.skew_seconds is None:
            return ha_error("clock_skew_unknown")
        return ha_error("clock_skew", skew=str(round(abs(err.skew_seconds))))
    for error_type, key in _PLAIN_KEYS:
        if isinstance(err, error_type):
            return ha_error(key)
    for error_type, key in _DETAILED_KEYS:
        if isinstance(err, error_type):
            return ha_error(key, error=describe(err))
    return ha_error("communication_error", error=describe(err))


class _EntryOwner(Protocol):
    """Anything that knows its hass and its config entry (coordinators, entities)."""

    @property
    def hass(self) -> HomeAssistant:
        """Return Home Assistant."""

    @property
    def config_entry(self) -> ConfigEntry[Any] | None:
        """Return the config entry."""


def to_ha_error(owner: _EntryOwner, err: ZegoError) -> HomeAssistantError:
    """Return the HA error for err; a credentials rejection also starts reauthentication."""
    if isinstance(err, ZegoAuthenticationError) and owner.config_entry is not None:
        owner.config_entry.async_start_reauth(owner.hass)
    return zego_error_to_ha(err)


def zego_exception_handler[_OwnerT: _EntryOwner, **_P, _R](
    func: Callable[Concatenate[_OwnerT, _P], Coroutine[Any, Any, _R]],
) -> Callable[Concatenate[_OwnerT, _P], Coroutine[Any, Any, _R]]:
    """Decorate an action so that ZEGO errors surface as translated HA errors."""

    async def handler(owner: _OwnerT, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return await func(owner, *args, **kwargs)
        except ZegoError as err:
            raise to_ha_error(owner, err) from err

    return wraps(func)(handler)

"""Credentials for a player of the avatar's video: the dashboard card's backend.

The WebSocket command `zego_digital_human/player_credentials` mints a Token04 for one
viewer (the ServerSecret never leaves Home Assistant): bound to the avatar's room, allowed
to log in, denied publishing, valid one hour. Any user who may read the entity gets one:
kiosk users are rarely admins. An account whose endpoint says it is the local emulator
also gets the emulator's preview feed instead of an RTC stream.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import sys
import time
from typing import TYPE_CHECKING, Any

from homeassistant.auth.permissions.const import POLICY_READ
from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.const import (
    ERR_HOME_ASSISTANT_ERROR,
    ERR_NOT_FOUND,
    ERR_UNAUTHORIZED,
)
from homeassistant.components.websocket_api.decorators import (
    async_response,
    websocket_command,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er

if TYPE_CHECKING and sys.version_info >= (3, 14):
    # HA 2026.11 (Python 3.14) types its APIs for probatio, which `voluptuous` aliases there.
    import probatio as vol
else:
    import voluptuous as vol

from .client import (
    DEFAULT_TOKEN_TTL,
    EmulatorPreview,
    TokenVariant,
    generate_token04,
    view_only_payload,
)
from .const import (
    CONF_APP_ID,
    CONF_RTC_SERVER,
    CONF_SERVER_SECRET,
    CONF_TOKEN_VARIANT,
    DOMAIN,
    LOGGER,
    SUBENTRY_TYPE_AVATAR,
)
from .portrait import Portrait

if TYPE_CHECKING:
    from homeassistant.components.websocket_api.connection import ActiveConnection
    from homeassistant.config_entries import ConfigEntry

    from .coordinator import AvatarCoordinator, ZegoConfigEntry

COMMAND = f"{DOMAIN}/player_credentials"
# How long a card's first request waits for the emulator probe of a just-loaded entry.
PROBE_WAIT = 5.0
# ZEGO user ids are at most 64 bytes; ours are 28: "ha_" + 16 of the HA user id + "_" + 8 hex.
_USER_PREFIX_CHARS = 16
_USER_SUFFIX = re.compile(r"[0-9a-f]{8}")

ERR_NOT_READY = "not_ready"


def default_rtc_server(app_id: int) -> str:
    """Return ZEGO's per-AppId Express server (SDK 3.6+ ignores it but wants one)."""
    return f"wss://webliveroom{app_id}-api.zegocloud.com/ws"


def user_id_prefix(ha_user_id: str) -> str:
    """Return the start every player identity of this HA user has."""
    return f"ha_{ha_user_id[:_USER_PREFIX_CHARS]}_"


@callback
def async_register_player_command(hass: HomeAssistant) -> None:
    """Register the command; called once from async_setup."""
    async_register_command(hass, ws_player_credentials)


@callback
def async_setup_player(hass: HomeAssistant, entry: ZegoConfigEntry) -> None:
    """Start the emulator probe of a loading entry (the portraits start with the players).

    It neither blocks nor fails the setup: it runs as a task of the entry.
    """
    runtime = entry.runtime_data
    runtime.preview = entry.async_create_task(
        hass, runtime.client.probe_emulator(), f"{DOMAIN} emulator probe"
    )


class _PlayerError(Exception):
    """A refusal: the WebSocket error code, a translation key and its placeholders."""

    def __init__(self, code: str, *, translation_key: str, **placeholders: str) -> None:
        super().__init__(translation_key)
        self.code = code
        self.key = translation_key
        self.placeholders = placeholders


@websocket_command(
    {
        vol.Required("type"): COMMAND,
        vol.Required("entity_id"): str,
        vol.Optional("user_id"): str,
    }
)
@async_response
async def ws_player_credentials(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Answer a player's request for credentials (first login, or renewal with user_id)."""
    try:
        result = await _async_credentials(hass, connection, msg["entity_id"], msg.get("user_id"))
    except _PlayerError as err:
        placeholders = err.placeholders or None
        message = str(
            HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key=err.key,
                translation_placeholders=placeholders,
            )
        )
        connection.send_error(
            msg["id"],
            err.code,
            message,
            translation_key=err.key,
            translation_domain=DOMAIN,
            translation_placeholders=placeholders,
        )
        return
    connection.send_result(msg["id"], result)


async def _async_credentials(
    hass: HomeAssistant,
    connection: ActiveConnection,
    entity_id: str,
    user_id: str | None,
) -> dict[str, Any]:
    user = connection.user
    # Checked first, so that a user without access learns nothing about the entity.
    if user is None or not user.permissions.check_entity(entity_id, POLICY_READ):
        raise _PlayerError(
            ERR_UNAUTHORIZED,
            translation_key="player_unauthorized",
            entity_id=entity_id,
        )
    entry, subentry_id = _resolve(hass, entity_id)
    if entry.state is not ConfigEntryState.LOADED:
        raise _PlayerError(ERR_NOT_READY, translation_key="player_not_ready", entity_id=entity_id)
    runtime = entry.runtime_data
    coordinator = runtime.avatars.get(subentry_id)
    if coordinator is None:
        raise _PlayerError(ERR_NOT_READY, translation_key="player_not_ready", entity_id=entity_id)

    prefix = user_id_prefix(user.id)
    if user_id is None:
        user_id = prefix + secrets.token_hex(4)
    elif not (user_id.startswith(prefix) and _USER_SUFFIX.fullmatch(user_id[len(prefix) :])):
        raise _PlayerError(ERR_UNAUTHORIZED, translation_key="player_foreign_user_id")

    snapshot = coordinator.data
    room_id, stream_id = snapshot.room_id, snapshot.stream_id
    if room_id is None or stream_id is None:
        # An attached avatar whose task HA has not seen yet: nothing to bind the token to.
        raise _PlayerError(
            ERR_NOT_READY, translation_key="player_room_unknown", avatar=coordinator.config.name
        )

    app_id = int(entry.data[CONF_APP_ID])
    variant = TokenVariant(entry.options.get(CONF_TOKEN_VARIANT, TokenVariant.GCM))
    now = int(time.time())
    try:
        token = generate_token04(
            app_id=app_id,
            user_id=user_id,
            secret=str(entry.data[CONF_SERVER_SECRET]),
            ttl=DEFAULT_TOKEN_TTL,
            payload=view_only_payload(room_id),
            variant=variant,
            now=now,
        )
    except ValueError as err:
        # generate_token04's texts never hold the secret.
        raise _PlayerError(
            ERR_HOME_ASSISTANT_ERROR,
            translation_key="player_token_failed",
            error=str(err),
        ) from err

    # Normally started by the media player; started here if that platform is not loaded.
    portrait = async_ensure_portrait(hass, coordinator)
    preview = await _async_preview(entry)
    LOGGER.debug(
        "Player credentials for %s: user %s, %s token, %s",
        entity_id,
        user_id,
        variant.value,
        "preview" if preview else "rtc",
    )
    return {
        "kind": "preview" if preview else "rtc",
        "app_id": app_id,
        "server": entry.options.get(CONF_RTC_SERVER) or default_rtc_server(app_id),
        "room_id": room_id,
        "stream_id": stream_id,
        "user_id": user_id,
        "token": token,
        "expires_at": now + DEFAULT_TOKEN_TTL,
        "streaming": snapshot.stream_online,
        "poster": portrait.url,
        "entities": {
            "media_player": _entity_id(hass, "media_player", subentry_id, "media_player"),
            "state": _entity_id(hass, "sensor", subentry_id, "avatar_state"),
        },
        "preview": (
            {"feed_url": preview.feed_url, "face_url": preview.face_url} if preview else None
        ),
    }


def _resolve(hass: HomeAssistant, entity_id: str) -> tuple[ZegoConfigEntry, str]:
    """Return the config entry and avatar subentry id of one of our entities."""
    registry_entry = er.async_get(hass).async_get(entity_id)
    not_found = _PlayerError(ERR_NOT_FOUND, translation_key="player_not_found", entity_id=entity_id)
    if (
        registry_entry is None
        or registry_entry.platform != DOMAIN
        or registry_entry.config_entry_id is None
    ):
        raise not_found
    entry: ConfigEntry | None = hass.config_entries.async_get_entry(registry_entry.config_entry_id)
    subentry_id = (
        getattr(registry_entry, "config_subentry_id", None)
        or (registry_entry.unique_id.partition("_")[0])
    )
    if entry is None or entry.domain != DOMAIN:
        raise not_found
    subentry = entry.subentries.get(subentry_id)
    if subentry is None or subentry.subentry_type != SUBENTRY_TYPE_AVATAR:
        raise not_found
    return entry, subentry_id


def _entity_id(hass: HomeAssistant, platform: str, subentry_id: str, key: str) -> str | None:
    return er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{subentry_id}_{key}")


async def _async_preview(entry: ZegoConfigEntry) -> EmulatorPreview | None:
    """Return the emulator's preview endpoints, or None for ZEGO (or an unfinished probe)."""
    probe = entry.runtime_data.preview
    if probe is None:
        return None
    if not probe.done():
        await asyncio.wait({probe}, timeout=PROBE_WAIT)
        if not probe.done():
            return None
    if probe.cancelled() or probe.exception() is not None:
        return None
    return probe.result()


@callback
def async_ensure_portrait(hass: HomeAssistant, coordinator: AvatarCoordinator) -> Portrait:
    """Return the avatar's portrait, starting it (first fetch as an entry task) if needed.

    One per avatar in the entry's runtime data; an avatar whose digital human changed gets
    a new one.
    """
    entry = coordinator.config_entry
    runtime = entry.runtime_data
    digital_human_id = coordinator.config.digital_human_id
    portrait = runtime.portraits.get(coordinator.subentry_id)
    if portrait is not None and not portrait.closed:
        if portrait.digital_human_id == digital_human_id:
            return portrait
        portrait.async_shutdown()
    portrait = Portrait(hass, entry, runtime.client, digital_human_id)
    runtime.portraits[coordinator.subentry_id] = portrait
    entry.async_on_unload(portrait.async_shutdown)
    entry.async_create_task(hass, portrait.async_refresh(), f"{DOMAIN} portrait {digital_human_id}")
    return portrait


@callback
def async_release_portrait(coordinator: AvatarCoordinator) -> None:
    """Stop the portrait of an avatar that is gone (removed, or replaced by a changed one)."""
    runtime = coordinator.config_entry.runtime_data
    if runtime.avatars.get(coordinator.subentry_id) is coordinator:
        return
    portrait = runtime.portraits.pop(coordinator.subentry_id, None)
    if portrait is not None:
        portrait.async_shutdown()

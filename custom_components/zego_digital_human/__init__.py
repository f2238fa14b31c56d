"""The ZEGO Digital Human integration: make a ZEGO cloud avatar speak for Home Assistant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.const import Platform
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    issue_registry as ir,
)

from .client import (
    ZegoAuthenticationError,
    ZegoClient,
    ZegoClockSkewError,
    ZegoError,
)
from .const import (
    CONF_APP_ID,
    CONF_ENDPOINT,
    CONF_SERVER_SECRET,
    DOMAIN,
    LOGGER,
)
from .coordinator import (
    ZegoConfigEntry,
    ZegoRuntimeData,
    async_stop_task_quietly,
    attached_issue_id,
)
from .frontend import async_setup_frontend
from .helpers import create_client, describe
from .player import async_register_player_command, async_setup_player
from .services import async_setup_services
from .speech import SpeechManager
from .store import TaskStore
from .subentries import async_first_refresh_all, async_subentries_changed, create_avatars

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.typing import ConfigType

PLATFORMS: list[Platform] = [
    Platform.ASSIST_SATELLITE,
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CONVERSATION,
    Platform.EVENT,
    Platform.MEDIA_PLAYER,
    Platform.NOTIFY,
    Platform.SELECT,
    Platform.SENSOR,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions once, whatever entries exist."""
    async_setup_services(hass)
    async_register_player_command(hass)
    await async_setup_frontend(hass)
    return True


def _entry_client(hass: HomeAssistant, data: Mapping[str, Any]) -> ZegoClient:
    return create_client(
        hass,
        app_id=str(data[CONF_APP_ID]),
        server_secret=str(data[CONF_SERVER_SECRET]),
        endpoint=str(data[CONF_ENDPOINT]),
    )


async def async_setup_entry(hass: HomeAssistant, entry: ZegoConfigEntry) -> bool:
    """Set up one ZEGO project: check the credentials, then one coordinator per avatar."""
    client = _entry_client(hass, entry.data)
    try:
        await client.verify_credentials()
    except ZegoAuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="authentication_error"
        ) from err
    except ZegoClockSkewError as err:
        # Usually fixed by NTP in a while: retry rather than fail for good.
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="clock_skew_unknown",
        ) from err
    except ZegoError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="communication_error",
            translation_placeholders={"error": describe(err)},
        ) from err

    store = TaskStore(hass, entry.entry_id)
    await store.async_load()
    runtime = ZegoRuntimeData(client=client, store=store, account=dict(entry.data))
    create_avatars(hass, entry, runtime)
    entry.runtime_data = runtime

    await _async_forget_removed_avatars(hass, entry, runtime)
    await async_first_refresh_all(runtime)
    for subentry_id, coordinator in runtime.avatars.items():
        runtime.speech[subentry_id] = SpeechManager(hass, coordinator)
    async_setup_player(hass, entry)

    try:
        await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    except BaseException:
        # The managers hold an HA-stop listener and interrupt registrations: release them.
        for speech in runtime.speech.values():
            await speech.async_shutdown()
        raise
    # An avatar (a subentry) added, changed or removed is set up or torn down alone; a change
    # of the account's own data reloads the entry.
    entry.async_on_unload(entry.add_update_listener(async_subentries_changed))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ZegoConfigEntry) -> bool:
    """Unload the platforms; managed tasks keep running and are taken over on return.

    Speech in progress is cut cleanly first (Stop sent, socket closed), so no drive
    outlives the entry.
    """
    for speech in entry.runtime_data.speech.values():
        await speech.async_shutdown()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: ZegoConfigEntry) -> None:
    """Stop the managed tasks of a removed entry and delete what it stored."""
    store = TaskStore(hass, entry.entry_id)
    await store.async_load()
    if store.subentry_ids:
        try:
            client = _entry_client(hass, entry.data)
        except ValueError:
            client = None
        for subentry_id in store.subentry_ids:
            stored = store.get(subentry_id)
            if client is not None and stored is not None:
                await async_stop_task_quietly(client, stored.task_id)
    await store.async_remove()
    for subentry_id in entry.subentries:
        ir.async_delete_issue(hass, DOMAIN, attached_issue_id(subentry_id))


async def _async_forget_removed_avatars(
    hass: HomeAssistant, entry: ZegoConfigEntry, runtime: ZegoRuntimeData
) -> None:
    """Clean up after avatars removed since the last setup: tasks, devices, issues."""
    for subentry_id in runtime.store.subentry_ids - set(runtime.avatars):
        stored = runtime.store.get(subentry_id)
        if stored is not None:
            LOGGER.info("Stopping stream task %s of a removed avatar", stored.task_id)
            await async_stop_task_quietly(runtime.client, stored.task_id)
        await runtime.store.async_forget(subentry_id)

    dev_reg = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(dev_reg, entry.entry_id):
        if not any(
            domain == DOMAIN and ident in runtime.avatars for domain, ident in device.identifiers
        ):
            # Our avatar devices belong to this entry alone (one subentry each), so removing
            # the device is what detaching it from the entry would do, on every HA version.
            dev_reg.async_remove_device(device.id)

    known = {
        subentry_id
        for loaded in hass.config_entries.async_entries(DOMAIN)
        for subentry_id in loaded.subentries
    }
    issue_reg = ir.async_get(hass)
    prefix = attached_issue_id("")
    for domain, issue_id in list(issue_reg.issues):
        if (
            domain == DOMAIN
            and issue_id.startswith(prefix)
            and issue_id[len(prefix) :] not in known
        ):
            ir.async_delete_issue(hass, DOMAIN, issue_id)

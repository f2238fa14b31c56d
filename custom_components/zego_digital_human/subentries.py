"""Avatars come and go with their config subentries while the entry runs.

Adding, changing or removing one avatar sets up or tears down that avatar alone (coordinator,
speech manager, entities, device, stored task), so the other avatars keep speaking. A change
to the account itself (reauth, reconfigure) still reloads the whole entry.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from homeassistant.helpers import entity_platform, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .const import DOMAIN, LOGGER, SUBENTRY_TYPE_AVATAR
from .coordinator import AvatarCoordinator, async_stop_task_quietly, attached_issue_id
from .data import AvatarConfig
from .entity import avatar_added_signal
from .speech import SpeechManager

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigSubentry
    from homeassistant.core import HomeAssistant

    from .coordinator import ZegoConfigEntry, ZegoRuntimeData


def create_avatars(hass: HomeAssistant, entry: ZegoConfigEntry, runtime: ZegoRuntimeData) -> None:
    """Create a coordinator for every avatar subentry (no request yet)."""
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_TYPE_AVATAR:
            runtime.avatars[subentry.subentry_id] = AvatarCoordinator(
                hass, entry, subentry, runtime.client, runtime.store
            )


async def async_first_refresh_all(runtime: ZegoRuntimeData) -> None:
    """First refresh of every avatar at set-up, all at once; the first failure fails set-up.

    Every refresh is awaited before failing, so that none is left running behind a retry.
    """
    results = await asyncio.gather(
        *(
            coordinator.async_config_entry_first_refresh()
            for coordinator in runtime.avatars.values()
        ),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def async_subentries_changed(hass: HomeAssistant, entry: ZegoConfigEntry) -> None:
    """The entry's update listener: follow added, changed and removed avatars one by one."""
    runtime = entry.runtime_data
    if entry.data != runtime.account:
        await hass.config_entries.async_reload(entry.entry_id)
        return
    # Listeners run as separate tasks: one diff at a time, each against the latest subentries.
    async with runtime.avatars_lock:
        wanted = {
            subentry_id: subentry
            for subentry_id, subentry in entry.subentries.items()
            if subentry.subentry_type == SUBENTRY_TYPE_AVATAR
        }
        for subentry_id in [known for known in runtime.avatars if known not in wanted]:
            await _async_remove_avatar(hass, entry, subentry_id, removed=True)
        for subentry_id, subentry in wanted.items():
            coordinator = runtime.avatars.get(subentry_id)
            if coordinator is not None:
                if coordinator.config == AvatarConfig.from_subentry_data(subentry.data):
                    continue
                await _async_remove_avatar(hass, entry, subentry_id, removed=False)
            await _async_add_avatar(hass, entry, subentry)


async def _async_add_avatar(
    hass: HomeAssistant, entry: ZegoConfigEntry, subentry: ConfigSubentry
) -> None:
    runtime = entry.runtime_data
    coordinator = AvatarCoordinator(hass, entry, subentry, runtime.client, runtime.store)
    LOGGER.debug("Adding avatar %s", coordinator.config.name)
    # A failing first look does not refuse the avatar: it shows unavailable until a poll works.
    await coordinator.async_first_refresh_while_running()
    runtime.avatars[subentry.subentry_id] = coordinator
    runtime.speech[subentry.subentry_id] = SpeechManager(hass, coordinator)
    async_dispatcher_send(hass, avatar_added_signal(entry.entry_id), subentry.subentry_id)


async def _async_remove_avatar(
    hass: HomeAssistant, entry: ZegoConfigEntry, subentry_id: str, *, removed: bool
) -> None:
    """Tear one avatar down; `removed` (not just changed) also ends its task and issue."""
    runtime = entry.runtime_data
    coordinator = runtime.avatars.pop(subentry_id)
    LOGGER.debug("Removing avatar %s", coordinator.config.name)
    speech = runtime.speech.pop(subentry_id, None)
    if speech is not None:
        await speech.async_shutdown()
    await coordinator.async_shutdown()
    # Here, not only when its media player goes: HA 2026.11 may remove a deleted subentry's
    # entities before this listener runs, while the avatar still looked present.
    portrait = runtime.portraits.pop(subentry_id, None)
    if portrait is not None:
        portrait.async_shutdown()
    # HA removes a deleted subentry's entities and device from the registries itself; a
    # changed avatar keeps its registry entries and gets new entity objects.
    for platform in entity_platform.async_get_platforms(hass, DOMAIN):
        if platform.config_entry is not entry:
            continue
        for entity_id, entity in list(platform.entities.items()):
            # The registry's own removal (a deleted subentry) may have got there first. Not only
            # ZegoAvatarEntity: HA's pipeline select is the avatar's too.
            if (
                getattr(entity, "coordinator", None) is coordinator
                and entity_id in platform.entities
            ):
                await platform.async_remove_entity(entity_id)
    if not removed:
        return
    stored = runtime.store.get(subentry_id)
    if stored is not None:
        LOGGER.info("Stopping stream task %s of a removed avatar", stored.task_id)
        await async_stop_task_quietly(runtime.client, stored.task_id)
        await runtime.store.async_forget(subentry_id)
    ir.async_delete_issue(hass, DOMAIN, attached_issue_id(subentry_id))

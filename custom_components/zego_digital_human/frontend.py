"""Serve the dashboard card and load it on every dashboard, with no manual "add resource" step.

The files in ``frontend/`` are served once per HA process at ``/zego_digital_human_static``
(a second registration of the same route raises, so entry reloads must not repeat it). Only the
tiny ``zego-avatar-card.js`` is loaded on every page; it imports the card's body and the 2 MB ZEGO
SDK itself, the latter only when a card actually plays. aiohttp serves the committed ``.gz``
siblings to browsers that accept gzip.

The card's module is announced twice, deliberately, with one and the same URL (a browser evaluates
a module URL once, so the card is never defined twice):

- ``add_extra_js_url``: works with every dashboard, YAML mode included (the demo's), on every page;
- a Lovelace resource when resources are kept in storage: Cast receivers load only resources, and
  Settings > Dashboards > Resources then shows where the card comes from. It is updated in place
  when the version changes, and removed with the last config entry.

The ``?v=`` is a hash of the served files, so a new release is never answered from the 31-day
browser cache that HA's static files carry.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import SIGNAL_CONFIG_ENTRY_CHANGED, ConfigEntryChange
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, LOGGER

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

URL_BASE = f"/{DOMAIN}_static"
CARD_MODULE = "zego-avatar-card.js"
FRONTEND_DIR = Path(__file__).parent / "frontend"

DATA_FRONTEND: HassKey[str] = HassKey(f"{DOMAIN}_frontend")
"""The card's versioned URL, once the static path is registered (the once-per-process flag)."""


def _files_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(FRONTEND_DIR.glob("*.js")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


async def async_setup_frontend(hass: HomeAssistant) -> None:
    """Serve the card and announce it to the frontend; safe to call again (does nothing)."""
    if DATA_FRONTEND in hass.data:
        return
    if getattr(hass, "http", None) is None:
        # No web server (some test set-ups): there is no page to show a card on.
        LOGGER.debug("HTTP is not set up; the dashboard card is not served")
        return
    from homeassistant.components.http import StaticPathConfig

    version = await hass.async_add_executor_job(_files_version)
    url = f"{URL_BASE}/{CARD_MODULE}?v={version}"
    await hass.http.async_register_static_paths(
        [StaticPathConfig(URL_BASE, str(FRONTEND_DIR), cache_headers=True)]
    )
    hass.data[DATA_FRONTEND] = url
    _add_extra_module(hass, url)
    await _async_upsert_resource(hass, url)

    @callback
    def _entry_changed(change: ConfigEntryChange, entry: ConfigEntry) -> None:
        if (
            change is ConfigEntryChange.REMOVED
            and entry.domain == DOMAIN
            and not hass.config_entries.async_entries(DOMAIN)
        ):
            hass.async_create_task(_async_remove_resource(hass), eager_start=True)

    # Lives as long as the process, like the route itself.
    async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, _entry_changed)


def _add_extra_module(hass: HomeAssistant, url: str) -> None:
    from homeassistant.components.frontend import (
        DATA_EXTRA_MODULE_URL,
        add_extra_js_url,
    )

    if DATA_EXTRA_MODULE_URL not in hass.data:
        # The frontend is not loaded (safe mode, or a test without it).
        LOGGER.debug("The frontend is not loaded; the card is not added to its pages")
        return
    add_extra_js_url(hass, url)


def _storage_resources(hass: HomeAssistant) -> Any | None:
    """The Lovelace resource collection, when resources are kept in storage (else None)."""
    from homeassistant.components.lovelace.const import LOVELACE_DATA

    lovelace = hass.data.get(LOVELACE_DATA)
    if lovelace is None:
        return None
    # 2026.2 renamed `mode` to `resource_mode` (`mode` then warns, and goes in 2026.8).
    mode: str | None
    if hasattr(lovelace, "resource_mode"):
        mode = lovelace.resource_mode
    else:
        mode = getattr(lovelace, "mode", None)
    if mode != "storage":
        return None
    resources = lovelace.resources
    if not hasattr(resources, "async_create_item"):
        return None
    return resources


async def _async_loaded_items(resources: Any) -> list[dict[str, Any]]:
    # 2025.4 needs the store loaded by hand before it lists or creates anything.
    if not getattr(resources, "loaded", True):
        await resources.async_get_info()
    return list(resources.async_items() or [])


async def _async_upsert_resource(hass: HomeAssistant, url: str) -> None:
    if (resources := _storage_resources(hass)) is None:
        return
    path = url.split("?", 1)[0]
    for item in await _async_loaded_items(resources):
        if str(item.get("url", "")).split("?", 1)[0] == path:
            if item["url"] != url:
                await resources.async_update_item(item["id"], {"res_type": "module", "url": url})
            return
    await resources.async_create_item({"res_type": "module", "url": url})


async def _async_remove_resource(hass: HomeAssistant) -> None:
    if (resources := _storage_resources(hass)) is None:
        return
    path = f"{URL_BASE}/{CARD_MODULE}"
    for item in await _async_loaded_items(resources):
        if str(item.get("url", "")).split("?", 1)[0] == path:
            await resources.async_delete_item(item["id"])

"""The dashboard card is served by HA and loaded without a manual "add resource" step."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TYPE_CHECKING

from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL
from homeassistant.components.lovelace.const import LOVELACE_DATA
from homeassistant.config_entries import ConfigEntryState
from homeassistant.setup import async_setup_component
import pytest

from custom_components.zego_digital_human.frontend import (
    CARD_MODULE,
    DATA_FRONTEND,
    URL_BASE,
)

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

    from zego_emulator import ZegoEmulator

FRONTEND = Path(__file__).parents[2] / "custom_components" / "zego_digital_human" / "frontend"


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


def _our_routes(hass: HomeAssistant) -> list[str]:
    return [
        resource.canonical
        for resource in hass.http.app.router.resources()
        if resource.canonical.startswith(URL_BASE)
    ]


def test_committed_gzip_files_match_their_sources() -> None:
    """aiohttp serves foo.js.gz for foo.js: a stale .gz would serve old code to most browsers."""
    sources = sorted(FRONTEND.glob("*.js"))
    assert {p.name for p in sources} >= {CARD_MODULE, "zego-sdk.js"}
    for source in sources:
        packed = source.with_name(source.name + ".gz")
        assert packed.exists(), f"{packed.name} is missing: run scripts/build_card --gzip"
        assert gzip.decompress(packed.read_bytes()) == source.read_bytes(), (
            f"{packed.name} is stale: run scripts/build_card --gzip"
        )
    notices = (FRONTEND / "zego-sdk.LICENSES.txt").read_text()
    # The SDK ships no licence file: its declared licence and author are recorded instead.
    sdk_notice = "zego-express-engine-webrtc 3.12.0\nlicence (package.json): ISC\nauthor: zegodev"
    assert sdk_notice in notices


async def test_card_served_compressed(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    mock_config_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Anyone's browser gets the card module, and the SDK gzipped when it accepts gzip."""
    await _setup(hass, mock_config_entry)
    client = await hass_client_no_auth()

    card_url = hass.data[DATA_FRONTEND]
    response = await client.get(card_url)
    assert response.status == 200
    assert response.content_type == "text/javascript"
    assert "max-age" in response.headers["Cache-Control"]  # hence the ?v= in the URL
    assert await response.read() == (FRONTEND / CARD_MODULE).read_bytes()

    sdk = (FRONTEND / "zego-sdk.js").read_bytes()
    response = await client.get(
        f"{URL_BASE}/zego-sdk.js", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    )
    assert response.status == 200
    assert response.headers["Content-Encoding"] == "gzip"
    body = await response.read()
    assert len(body) < len(sdk) // 3
    assert gzip.decompress(body) == sdk

    # Outside the folder: nothing else of the integration is reachable.
    response = await client.get(f"{URL_BASE}/../manifest.json")
    assert response.status in (403, 404)


async def test_static_path_registered_once_across_reloads(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """Reloading the entry (adding an avatar does that) must not register the route again."""
    await _setup(hass, mock_config_entry)
    routes = _our_routes(hass)
    assert routes
    for _ in range(2):
        assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        assert mock_config_entry.state is ConfigEntryState.LOADED
    assert _our_routes(hass) == routes


async def test_without_frontend_the_integration_still_loads(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """Safe mode or a headless set-up has no frontend: the card is served, nothing else fails."""
    await _setup(hass, mock_config_entry)
    assert DATA_EXTRA_MODULE_URL not in hass.data
    assert _our_routes(hass)


@pytest.mark.parametrize("lovelace_mode", ["storage", "yaml"])
async def test_card_loaded_on_every_dashboard(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    mock_config_entry: MockConfigEntry,
    lovelace_mode: str,
) -> None:
    """The card's module is on every page; in storage mode also a resource, kept up to date."""
    # Lovelace first: the frontend depends on it and would set it up in storage mode.
    assert await async_setup_component(hass, "lovelace", {"lovelace": {"mode": lovelace_mode}})
    assert await async_setup_component(hass, "frontend", {})
    resources = hass.data[LOVELACE_DATA].resources
    path = f"{URL_BASE}/{CARD_MODULE}"
    if lovelace_mode == "storage":
        # An older version of the card, added by an earlier release: updated in place, not doubled.
        await resources.async_get_info()
        await resources.async_create_item({"res_type": "module", "url": f"{path}?v=old"})

    await _setup(hass, mock_config_entry)

    url = hass.data[DATA_FRONTEND]
    assert url.startswith(f"{path}?v=")
    assert url != f"{path}?v=old"
    assert url in hass.data[DATA_EXTRA_MODULE_URL].urls
    ours = [item for item in resources.async_items() if item["url"].startswith(path)]
    if lovelace_mode == "storage":
        assert [(item["type"], item["url"]) for item in ours] == [("module", url)]
        # Removing the last entry removes the resource it added.
        assert await hass.config_entries.async_remove(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        assert not [i for i in resources.async_items() if i["url"].startswith(path)]
    else:
        assert ours == []

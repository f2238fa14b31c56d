"""Home Assistant runs with its own frontend: the build its manifest pins, served by hass."""

from __future__ import annotations

from importlib.metadata import version
import importlib.util
import json
from pathlib import Path
import re
from typing import TYPE_CHECKING
import urllib.request

from .process import run_hass

if TYPE_CHECKING:
    import pytest

FRONTEND = "home-assistant-frontend"


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
        return response.status, response.read()


def test_installed_frontend_is_the_one_home_assistant_pins() -> None:
    """scripts/setup installs exactly the frontend build this HA version asks for."""
    spec = importlib.util.find_spec("homeassistant.components.frontend")
    assert spec is not None
    assert spec.origin is not None
    manifest = json.loads((Path(spec.origin).parent / "manifest.json").read_text())
    [pinned] = [req for req in manifest["requirements"] if req.startswith(f"{FRONTEND}==")]
    assert version(FRONTEND) == pinned.removeprefix(f"{FRONTEND}==")


def test_hass_serves_the_frontend(tmp_path: Path, socket_enabled: pytest.FixtureRequest) -> None:
    """A fresh hass process answers with the frontend's page, whose scripts it serves too."""
    with run_hass(tmp_path / "config", configuration="frontend:\n") as hass:
        status, page = _get(hass.url + "/")
        assert status == 200
        html = page.decode()
        assert "<title>Home Assistant</title>" in html
        scripts = re.findall(r'(?:src|href)="(/frontend_latest/[^"]+\.js)"', html)
        assert scripts, html[:500]
        status, script = _get(hass.url + scripts[0])
        assert status == 200
        assert len(script) > 1000

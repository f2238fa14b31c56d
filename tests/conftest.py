"""Fixtures shared by every test package.

HA's test harness puts its own ``testing_config`` first on ``sys.path``; importing
our integration here, at module level, makes Python resolve ``custom_components``
to this repository before the ``hass`` fixture runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.setup import async_setup_component
import pytest

import custom_components.zego_digital_human  # noqa: F401  (see module docstring)

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

# HA's deprecation reports about our code fail the test (tests/ha_deprecations.py).
pytest_plugins = ["tests.ha_deprecations"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Let HA load integrations from custom_components in every test that runs HA.

    Client and emulator tests need no Home Assistant instance, so none is built for them.
    """
    if "hass" in request.fixturenames:
        request.getfixturevalue("enable_custom_integrations")


@pytest.fixture
async def hass(hass: HomeAssistant) -> HomeAssistant:
    """HA with its core integration loaded, as a real instance always has it.

    The integration depends on conversation (its Assist agent), which needs it.
    """
    assert await async_setup_component(hass, "homeassistant", {})
    return hass

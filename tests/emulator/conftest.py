"""Fixtures for the emulator's tests: a started emulator, a client session, a signed caller."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from zego_emulator import EmulatorConfig, ZegoEmulator

from .signing import Api

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest.fixture(autouse=True)
def _allow_loopback_sockets(request: pytest.FixtureRequest) -> None:
    """Under pytest-homeassistant-custom-component sockets are blocked unless enabled."""
    with contextlib.suppress(pytest.FixtureLookupError):
        request.getfixturevalue("socket_enabled")


def fast_config(**overrides: Any) -> EmulatorConfig:
    """A config for tests: durations scaled by 0.01, QPS off unless a test turns it on."""
    values: dict[str, Any] = {"time_scale": 0.01, "qps_scope": "off"}
    values.update(overrides)
    return EmulatorConfig(**values)


@pytest.fixture
def emu_config() -> EmulatorConfig:
    """Override in a module (or parametrize) to change the emulator's settings."""
    return fast_config()


@pytest.fixture
async def emu(emu_config: EmulatorConfig) -> AsyncIterator[ZegoEmulator]:
    """A started emulator, closed after the test."""
    async with ZegoEmulator(emu_config) as emulator:
        yield emulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session, closed after the test."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def api(session: aiohttp.ClientSession, emu: ZegoEmulator) -> Api:
    """Signed raw calls to the emulator."""
    return Api(session, emu)

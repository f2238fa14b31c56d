"""Fixtures of the end-to-end tests: the integration's fixtures and a headless Chromium.

The browser is Debian's chromium driven by Debian's chromedriver through Selenium, with both
paths given explicitly so that Selenium Manager never runs (nothing is downloaded at run time).
Selenium blocks, so every browser call runs in HA's executor while the loop keeps serving the
emulator and HA.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.wait import WebDriverWait

# The integration's fixtures (a real emulator on loopback, entries pointed at it).
from tests.components.conftest import (  # noqa: F401
    avatar,
    emulator,
    emulator_config,
    fast_waits,
    mock_config_entry,
    subentries_data,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from homeassistant.core import HomeAssistant

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("E2E_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).parent / "artifacts"
"""Screenshots land here (git-ignored by the folder's own .gitignore)."""

# Root on CI needs --no-sandbox; the rest keeps Chromium off the network and quiet.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1280,900",
)


@dataclass
class Browser:
    """A Chromium session whose blocking calls run in HA's executor."""

    hass: HomeAssistant
    driver: webdriver.Chrome

    async def run[T](self, func: Callable[..., T], *args: Any) -> T:
        """Run one blocking Selenium call off the loop."""
        return await self.hass.async_add_executor_job(func, *args)

    async def open(self, url: str) -> None:
        """Navigate and wait for the page's first successful poll."""
        await self.run(self.driver.get, url)
        await self.wait_for(
            "feed polled", "return document.querySelector('#feed-status').dataset.ok === 'true'"
        )

    async def js(self, script: str, *args: Any) -> Any:
        """Evaluate `script` (a function body) in the page."""
        return await self.run(self.driver.execute_script, script, *args)

    async def wait_for(self, what: str, script: str, *args: Any, limit: float = 15.0) -> Any:
        """Poll `script` in the page until it returns something truthy; fail clearly if not."""

        def until() -> Any:
            waiter = WebDriverWait(self.driver, limit, poll_frequency=0.05)
            try:
                return waiter.until(lambda d: d.execute_script(script, *args))
            except TimeoutException:
                status = d_status(self.driver)
                raise AssertionError(
                    f"the stage page never showed {what} within {limit} s; page said: {status}"
                ) from None

        return await self.run(until)

    async def screenshot(self, name: str) -> Path:
        """Save a PNG under tests/e2e/artifacts/ and print where."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        await self.run(self.driver.save_screenshot, str(path))
        print(f"stage screenshot: {path}")  # the test's deliverable, shown with -s/-rP
        return path


def d_status(driver: webdriver.Chrome) -> str:
    """A short description of what the page shows, for failure messages."""
    try:
        return str(
            driver.execute_script(
                "return JSON.stringify({status: document.querySelector('#feed-status')"
                ".textContent, tasks: [...document.querySelectorAll('.task')].map(t => "
                "[t.dataset.avatar, t.dataset.state]), drives: [...document.querySelectorAll("
                "'#drives tbody tr')].map(r => [r.dataset.driveId, r.dataset.status, "
                "r.dataset.underruns])})"
            )
        )
    except WebDriverException as err:
        return f"(page unreadable: {err.msg})"


def _start_chrome(profile: str) -> webdriver.Chrome:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.fail(
                f"{path} is missing: the browser test needs Debian's chromium and "
                "chromium-driver (scripts/setup installs them)"
            )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    # The console, for failure messages: a page that never loads says why only there.
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    # An explicit driver path: Selenium Manager (which may download drivers) is not used.
    service = Service(executable_path=CHROMEDRIVER)
    try:
        return webdriver.Chrome(service=service, options=options)
    except WebDriverException as err:
        pytest.fail(f"headless Chromium did not start ({CHROMIUM} via {CHROMEDRIVER}): {err.msg}")


@pytest.fixture
async def browser(hass: HomeAssistant, socket_enabled: None) -> AsyncIterator[Browser]:
    """Headless Chromium with a fresh, empty profile; quit (no process left) afterwards."""
    profile = tempfile.mkdtemp(prefix="stage-e2e-chromium-")
    try:
        driver = await hass.async_add_executor_job(_start_chrome, profile)
        try:
            yield Browser(hass, driver)
        finally:
            await hass.async_add_executor_job(driver.quit)
    finally:
        await hass.async_add_executor_job(shutil.rmtree, profile, True)

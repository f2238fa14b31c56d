"""The dashboard card, measured in a real browser on a real HA process.

- Bytes the integration adds to a dashboard page, as the browser received them (compressed, from
  the Resource Timing entries of our static path): a page without the card, and one with it.
- On the emulator's preview (``kind: preview``): the time from HA's first audio frame (the
  emulator's receive time) to the card showing *speaking*. Both clocks are this machine's: the
  emulator's loop clock is CLOCK_MONOTONIC, the browser's is wall time; one offset converts.

HA runs as its own process through the browser tests' harness (tests/e2e/real_ha.py), with the
real SDK bundle; Chromium resolves no host but loopback, so nothing reaches ZEGO.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from pathlib import Path
import shutil
import tempfile
import time
from typing import TYPE_CHECKING, Any

from .report import Results, Row, median

if TYPE_CHECKING:
    from .sections import Sizes

# Selenium is untyped and the harness lives with the browser tests: both are used as Any, and
# imported by name so that type-checking the benchmarks does not pull the test fixtures in.
Driver = Any
RealHA = Any

SECTION = "7 card"
STATIC = "/zego_digital_human_static/"
DASHBOARD = {
    "title": "Card bench",
    "views": [
        {"title": "Plain", "path": "plain", "cards": [{"type": "markdown", "content": "-"}]},
        {
            "title": "Avatar",
            "path": "avatar",
            "cards": [{"type": "custom:zego-avatar-card", "entity": "media_player.lobby"}],
        },
    ],
}

# Sum of what the browser fetched from our static path (bytes over the wire, headers excluded).
OUR_BYTES = f"""
return performance.getEntriesByType('resource')
  .filter(e => e.name.includes('{STATIC}'))
  .map(e => [e.name.split('{STATIC}')[1].split('?')[0], e.encodedBodySize]);
"""

FIND_VIEW = """
const deep = (root, sel) => { const hit = root.querySelector(sel); if (hit) return hit;
  for (const el of root.querySelectorAll('*')) if (el.shadowRoot) {
    const found = deep(el.shadowRoot, sel); if (found) return found; }
  return null; };
const view = deep(document, 'zego-avatar-card-view');
"""

# Records when the card's state chip first says "speaking" (wall-clock ms).
WATCH_SPEAKING = (
    FIND_VIEW
    + """
const chip = view.shadowRoot.querySelector('.chip');
window.__speakingAt = null;
new MutationObserver(() => {
  if (chip.dataset.state === 'speaking' && window.__speakingAt === null) {
    window.__speakingAt = Date.now();
  }
}).observe(chip, {attributes: true});
"""
)


def _wait(driver: Driver, script: str, limit: float = 60.0) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if value := driver.execute_script(script):
            return value
        time.sleep(0.05)
    raise TimeoutError(f"the page never satisfied: {script[-120:]}")


def _chrome(profile: str) -> Driver:
    """The browser tests' headless Chromium; it resolves no host but loopback (no ZEGO)."""
    webdriver = importlib.import_module("selenium.webdriver")
    service = importlib.import_module("selenium.webdriver.chrome.service")
    e2e = importlib.import_module("tests.e2e.conftest")
    options = webdriver.ChromeOptions()
    options.binary_location = e2e.CHROMIUM
    for flag in e2e.CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    return webdriver.Chrome(
        service=service.Service(executable_path=e2e.CHROMEDRIVER), options=options
    )


def _page_bytes(ha: RealHA, path: str, settle: str) -> dict[str, int]:
    profile = tempfile.mkdtemp(prefix="card-bench-chromium-")
    driver = _chrome(profile)
    try:
        driver.get(f"{ha.url}/auth/authorize")
        driver.execute_script(
            "localStorage.setItem('hassTokens', arguments[0])", _json(ha.browser_tokens())
        )
        driver.get(f"{ha.url}{path}")
        _wait(driver, settle)
        time.sleep(2)  # late lazy imports
        return {name: int(size) for name, size in driver.execute_script(OUR_BYTES)}
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _json(value: Any) -> str:
    return json.dumps(value)


def _names(sizes: dict[str, int]) -> str:
    return ", ".join(f"{name} {size / 1024:.1f}" for name, size in sorted(sizes.items()))


def _speaking_latency(ha: RealHA, runs: int) -> list[float]:
    profile = tempfile.mkdtemp(prefix="card-bench-chromium-")
    driver = _chrome(profile)
    offset = time.time() - time.monotonic()
    latencies: list[float] = []
    try:
        driver.get(f"{ha.url}/auth/authorize")
        driver.execute_script(
            "localStorage.setItem('hassTokens', arguments[0])", _json(ha.browser_tokens())
        )
        driver.get(f"{ha.url}/lovelace/avatar")
        ha.call("zego_digital_human", "start_stream", entity_id="media_player.lobby")
        _wait(driver, FIND_VIEW + "return view && view.dataset.status === 'connected';")
        for run in range(runs):
            before = len(ha.emulator_get("/_emulator/drives"))
            driver.execute_script(WATCH_SPEAKING)
            ha.call(
                "zego_digital_human",
                "speak",
                entity_id="media_player.lobby",
                message=f"Card latency run {run}: hello from Home Assistant.",
            )
            speaking_ms = _wait(driver, "return window.__speakingAt;")
            drives = ha.emulator_get("/_emulator/drives")
            drive = drives[before] if len(drives) > before else drives[-1]
            first_frame_wall = drive["first_frame_at"] + offset
            latencies.append(speaking_ms / 1000 - first_frame_wall)
            _wait(driver, FIND_VIEW + "return view.getAttribute('state') !== 'speaking';", 120)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return latencies


def _measure(results: Results, runs: int) -> None:
    harness = importlib.import_module("tests.e2e.real_ha")
    base = Path(tempfile.mkdtemp(prefix="card-bench-"))
    ha = harness.RealHA(base)
    try:
        ha.prepare(DASHBOARD)
        ha.start_emulator()
        ha.start_ha()
        kind = ha.ws(
            {"type": "zego_digital_human/player_credentials", "entity_id": "media_player.lobby"}
        )
        kind_name = kind.get("result", {}).get("kind", "?")
        plain = _page_bytes(ha, "/lovelace/plain", "return document.readyState === 'complete';")
        card = _page_bytes(
            ha,
            "/lovelace/avatar",
            # Preview: connected. A real account: the SDK arrived (it cannot log in from here).
            FIND_VIEW
            + "return view && (view.dataset.status === 'connected' || performance"
            + ".getEntriesByType('resource').some(e => e.name.includes('zego-sdk.js')));",
        )
        results.add(
            Row(
                SECTION,
                "page without the card",
                sum(plain.values()) / 1024,
                "KiB",
                note=_names(plain),
            )
        )
        results.add(
            Row(
                SECTION,
                f"page with the card ({kind_name})",
                sum(card.values()) / 1024,
                "KiB",
                note=_names(card),
            )
        )
        if kind_name == "preview":
            sdk = Path(ha.config) / "custom_components/zego_digital_human/frontend/zego-sdk.js.gz"
            results.add(
                Row(
                    SECTION,
                    "+ ZEGO SDK for a real account (gzip)",
                    sdk.stat().st_size / 1024,
                    "KiB",
                )
            )
            latencies = _speaking_latency(ha, runs)
            results.add(
                Row(
                    SECTION,
                    "HA first audio frame -> card speaking p50",
                    median(latencies) * 1000,
                    "ms",
                    target="<= 200 ms",
                    passed=median(latencies) <= 0.2,
                    note=f"{len(latencies)} runs, max {max(latencies) * 1000:.0f} ms",
                )
            )
        else:
            results.notes.append(
                "card: the emulator offered no preview, so no speaking latency was measured"
            )
    finally:
        ha.stop()
        shutil.rmtree(base, ignore_errors=True)


async def section_card(results: Results, sizes: Sizes) -> None:
    """Bytes on a dashboard page with and without the card; preview speaking latency."""
    runs = 1 if sizes.mode == "quick" else 5
    await asyncio.to_thread(_measure, results, runs)

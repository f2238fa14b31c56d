"""The dashboard card in a real browser, on a real HA process with its real frontend.

HA runs as its own process (``hass -c <tmp config>``) with the integration copied into the config,
the emulator beside it, and a storage dashboard holding the card. The ZEGO SDK file in that copy is
replaced by a stand-in module (tests/e2e/card/zego-sdk-standin.js) that records the card's calls
and lets the test fire the SDK's events; the product code is untouched. What the card logs in with
is checked against the ServerSecret: only HA can have minted it, for exactly that user id.
"""

from __future__ import annotations

from contextlib import contextmanager
import json
from pathlib import Path
import shutil
import tempfile
import time
from typing import TYPE_CHECKING, Any

import pytest
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.support.wait import WebDriverWait

from tests.token04_reference import decode_token04
from zego_emulator.config import DEMO_APP_ID, DEMO_SERVER_SECRET

from .conftest import ARTIFACTS, _start_chrome
from .real_ha import RealHA, running_ha

if TYPE_CHECKING:
    from collections.abc import Iterator

    from selenium import webdriver

STAND_IN = Path(__file__).parent / "card" / "zego-sdk-standin.js"
PLAYER = "media_player.lobby"
ROOM = "demo_room"
STREAM = "demo_stream"

DASHBOARD = {
    "title": "Card test",
    "views": [
        {
            "title": "Avatar",
            "path": "avatar",
            "cards": [{"type": "custom:zego-avatar-card", "entity": PLAYER}],
        },
        {
            "title": "Elsewhere",
            "path": "elsewhere",
            "cards": [{"type": "markdown", "content": "-"}],
        },
    ],
}

# The page is many shadow roots deep: find an element anywhere below document.
DEEP = """
const deep = (root, selector) => {
  const hit = root.querySelector(selector);
  if (hit) return hit;
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) { const found = deep(el.shadowRoot, selector); if (found) return found; }
  }
  return null;
};
const view = deep(document, 'zego-avatar-card-view');
const part = (sel) => view && view.shadowRoot.querySelector(sel);
"""


class Page:
    """The dashboard in headless Chromium, logged in as the demo user."""

    def __init__(self, driver: webdriver.Chrome, ha: RealHA) -> None:
        self.driver = driver
        self.ha = ha

    def login(self, path: str) -> None:
        # Any page of HA's origin, to reach its localStorage; then the tokens HA's login flow gave.
        self.driver.get(f"{self.ha.url}/auth/authorize")
        tokens = json.dumps(self.ha.browser_tokens())
        self.driver.execute_script("localStorage.setItem('hassTokens', arguments[0])", tokens)
        self.driver.get(f"{self.ha.url}{path}")

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait(self, what: str, script: str, limit: float = 30.0) -> Any:
        try:
            return WebDriverWait(self.driver, limit, poll_frequency=0.05).until(
                lambda d: d.execute_script(script)
            )
        except TimeoutException:
            self.screenshot("card_failure.png")
            raise AssertionError(
                f"the card never showed {what} within {limit} s; card: {self.card()}; "
                f"calls: {self.names()}; browser errors: {self.console_errors()}; "
                f"HA errors: {self.ha.errors()}"
            ) from None

    def console_errors(self) -> list[str]:
        """What the page logged as errors (the frontend never loading shows only there)."""
        try:
            return [str(entry["message"]) for entry in self.driver.get_log("browser")]
        except WebDriverException as err:
            return [f"(console unreadable: {err.msg})"]

    def calls(self) -> list[dict[str, Any]]:
        return list(self.js("return (window.__zegoStandIn || {calls: []}).calls") or [])

    def names(self) -> list[str]:
        return [call["name"] for call in self.calls()]

    def wait_call(self, name: str, after: int = 0, limit: float = 30.0) -> dict[str, Any]:
        """The first call named `name` at index >= after (waiting for it)."""
        script = (
            "const c = (window.__zegoStandIn || {calls: []}).calls;"
            f"return c.findIndex((x, i) => i >= {after} && x.name === {json.dumps(name)}) + 1;"
        )
        index = int(self.wait(f"the SDK call {name}", script, limit)) - 1
        return {**self.calls()[index], "index": index}

    def fire(self, event: str, *args: Any) -> None:
        self.js("window.__zegoStandIn.fire(...arguments)", event, *args)

    def card(self) -> dict[str, Any]:
        return dict(
            self.js(
                DEEP
                + """
                if (!view) return {};
                const visible = (sel) => { const el = part(sel); return !!el && !el.hidden; };
                return {
                  status: view.dataset.status, state: part('.chip').dataset.state,
                  label: part('.state').textContent,
                  note: visible('.note') ? part('.note').textContent : null,
                  overlay: visible('.overlay') ? part('.overlay span').textContent : null,
                  video: visible('.video'), name: part('.name').textContent,
                };"""
            )
            or {}
        )

    def wait_card(self, what: str, condition: str, limit: float = 30.0) -> dict[str, Any]:
        guard = "if (!view) return false; const s = view.dataset.status;"
        script = f"{DEEP}{guard} return {condition};"
        self.wait(what, script, limit)
        return self.card()

    def click_overlay(self) -> None:
        self.js(DEEP + "part('.overlay').click();")

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.driver.save_screenshot(str(ARTIFACTS / name))
        print(f"card screenshot: {ARTIFACTS / name}")  # the test's deliverable


@contextmanager
def chromium_page(ha: RealHA) -> Iterator[Page]:
    """A fresh headless Chromium on `ha`; quit afterwards."""
    profile = tempfile.mkdtemp(prefix="card-e2e-chromium-")
    driver = _start_chrome(profile)
    try:
        yield Page(driver, ha)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def real_ha(socket_enabled: None) -> Iterator[RealHA]:
    # The emulator answers like ZEGO (no preview offered): the card takes its RTC path.
    args = ("--set", "describe_emulator=false")
    with running_ha(DASHBOARD, sdk_module=STAND_IN, emulator_args=args) as ha:
        yield ha


@pytest.fixture
def page(real_ha: RealHA) -> Iterator[Page]:
    with chromium_page(real_ha) as page:
        yield page


def _minted(token: str, user_id: str) -> dict[str, Any]:
    """The token's clear content; it decrypts with the ServerSecret only if HA minted it."""
    _, _, info = decode_token04(token, DEMO_SERVER_SECRET)
    assert info["app_id"] == DEMO_APP_ID
    assert info["user_id"] == user_id
    payload = json.loads(info["payload"])
    assert payload["room_id"] == ROOM
    assert payload["privilege"] == {"1": 1, "2": 0}
    assert info["expire"] > time.time() + 3000
    return dict(info)


def _in_order(names: list[str], expected: list[str]) -> bool:
    position = 0
    for name in names:
        if position < len(expected) and name == expected[position]:
            position += 1
    return position == len(expected)


def test_card_logs_in_plays_renews_and_logs_out(real_ha: RealHA, page: Page) -> None:
    """Login with HA's token, play on ADD, renew, recover, log out when hidden and when removed."""
    page.login("/lovelace/avatar")

    # Logged in with a token HA minted for exactly the user id it logs in as; nothing plays yet.
    login = page.wait_call("loginRoom")
    room, token, user = login["args"]
    assert room == ROOM
    first = _minted(token, user["userID"])
    assert page.calls()[0]["args"] == [DEMO_APP_ID, page.calls()[0]["args"][1]]
    setup = [c for c in page.calls()[: login["index"]] if c["name"] != "new"]
    assert {"name": "setDebugVerbose", "args": [False]} in [
        {"name": c["name"], "args": c["args"]} for c in setup
    ]
    log_config = next(c for c in setup if c["name"] == "setLogConfig")
    assert log_config["args"][0]["remoteLogLevel"] == "disable"  # no log upload to ZEGO
    card = page.wait_card("not streaming", "s === 'connected'")
    assert card["state"] == "offline"
    assert card["video"] is False
    assert "startPlayingStream" not in page.names()
    page.screenshot("card_offline.png")

    # The avatar's stream starts later (through HA): the SDK announces it and the card plays it.
    real_ha.call("zego_digital_human", "start_stream", entity_id=PLAYER)
    page.wait_card("the avatar ready", "part('.chip').dataset.state === 'ready'", limit=60)
    page.fire("roomStreamUpdate", ROOM, "ADD", [{"streamID": STREAM}], "")
    play = page.wait_call("view.play")
    assert play["args"][0]["enableAutoplayDialog"] is False
    assert play["args"][0]["muted"] is False  # sound: auto, and this browser allows sound
    card = page.wait_card("the video", "part('.video') && !part('.video').hidden")
    assert card["overlay"] is None
    page.screenshot("card_live.png")

    # Where the browser blocks sound, the card plays muted and asks for a tap.
    page.fire("roomStreamUpdate", ROOM, "DELETE", [{"streamID": STREAM}], "")
    page.wait_call("stopPlayingStream", after=play["index"])
    page.js("window.__zegoStandIn.blockUnmuted = true")
    mark = len(page.calls())
    page.fire("roomStreamUpdate", ROOM, "ADD", [{"streamID": STREAM}], "")
    muted = page.wait_call("view.setAudioMuted", after=mark)
    assert muted["args"] == [True]
    card = page.wait_card("tap for sound", "!part('.overlay').hidden")
    assert card["overlay"] == "Tap for sound"
    page.screenshot("card_tap_for_sound.png")
    mark = len(page.calls())
    page.click_overlay()
    assert page.wait_call("view.setAudioMuted", after=mark)["args"] == [False]
    page.wait_card("sound on", "part('.overlay').hidden")

    # Token renewal: same ZEGO user, a new token from HA, passed to the SDK for the room.
    mark = len(page.calls())
    page.fire("tokenWillExpire", ROOM)
    renew = page.wait_call("renewToken", after=mark)
    new_token, renew_room = renew["args"]
    assert renew_room == ROOM
    assert new_token != token
    renewed = _minted(new_token, user["userID"])
    assert renewed["ctime"] >= first["ctime"]

    # The network drops for good (the SDK gives up reconnecting): out, then in again with backoff.
    mark = len(page.calls())
    page.fire("roomStateChanged", ROOM, "RECONNECT_FAILED", 1002053, "")
    relogin = page.wait_call("loginRoom", after=mark)
    assert _in_order(page.names()[mark:], ["logoutRoom", "destroyEngine", "new", "loginRoom"])
    _minted(relogin["args"][1], relogin["args"][2]["userID"])
    page.wait_card("playing after the network came back", "s === 'connected'")

    # Hidden (another tab in front): logged out after the short grace; back: logged in again.
    mark = len(page.calls())
    other = page.driver.execute_cdp_cmd("Target.createTarget", {"url": "about:blank"})
    assert page.wait("the page hidden", "return document.visibilityState === 'hidden'", 10)
    page.wait_call("logoutRoom", after=mark)
    page.wait_call("destroyEngine", after=mark)
    page.driver.execute_cdp_cmd("Target.closeTarget", {"targetId": other["targetId"]})
    again = page.wait_call("loginRoom", after=mark)
    _minted(again["args"][1], again["args"][2]["userID"])
    page.wait_card("playing again", "s === 'connected'")

    # HA restarts while the card plays. Either the session renews once HA answers again, or the
    # frontend rebuilds the dashboard on reconnecting and the new card logs in afresh while the old
    # one logs out after its grace. Either way: a token HA minted after the restart, one viewer.
    real_ha.stop_ha()
    mark = len(page.calls())
    page.fire("tokenWillExpire", ROOM)
    restarted = time.time()
    real_ha.start_ha()
    page.wait(
        "a renewal or a new login after the restart",
        f"return window.__zegoStandIn.calls.slice({mark}).some(c =>"
        " c.name === 'renewToken' || c.name === 'loginRoom')",
        limit=90,
    )
    resumed = next(c for c in page.calls()[mark:] if c["name"] in ("renewToken", "loginRoom"))
    if resumed["name"] == "renewToken":
        _minted(resumed["args"][0], again["args"][2]["userID"])
    else:
        after = _minted(resumed["args"][1], resumed["args"][2]["userID"])
        assert after["ctime"] >= int(restarted) - 1
    page.wait(
        "one viewer after the restart",
        "return window.__zegoStandIn.engines.filter(e => !e.destroyed).length === 1",
    )
    page.wait_card("the state again", "part('.chip').dataset.state === 'ready'", limit=60)
    page.screenshot("card_after_restart.png")

    # Removed from the page (another view): logged out after the grace.
    mark = len(page.calls())
    page.js(
        "history.pushState(null, '', '/lovelace/elsewhere');"
        "dispatchEvent(new Event('location-changed'));"
    )
    page.wait_call("logoutRoom", after=mark)
    page.wait_call("destroyEngine", after=mark)

    assert _in_order(
        page.names(),
        [
            *("new", "loginRoom", "startPlayingStream", "view.play", "renewToken"),
            *("logoutRoom", "destroyEngine", "new", "loginRoom"),  # network loss
            *("logoutRoom", "destroyEngine", "new", "loginRoom"),  # hidden, shown
            *("logoutRoom", "destroyEngine"),  # removal
        ],
    ), page.names()

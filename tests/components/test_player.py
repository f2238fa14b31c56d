"""The card's backend: `zego_digital_human/player_credentials` through HA's WebSocket API."""

from __future__ import annotations

from datetime import timedelta
import json
import logging
import re
import time
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import aiohttp
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.zego_digital_human.const import (
    CONF_RTC_SERVER,
    CONF_TOKEN_VARIANT,
    DOMAIN,
    SUBENTRY_TYPE_AVATAR,
)
from tests.speech.tts_engine import ENGINE
from tests.token04_reference import decode_token04
from zego_emulator import Fault
from zego_emulator.config import KIOSK_BEN_ID, LOBBY_ANNA_ID

from .conftest import MANAGED_SUBENTRY_ID, managed_avatar_data

if TYPE_CHECKING:
    from freezegun.api import FrozenDateTimeFactory
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
    from pytest_homeassistant_custom_component.typing import (
        ClientSessionGenerator,
        WebSocketGenerator,
    )

    from zego_emulator import ZegoEmulator

COMMAND = "zego_digital_human/player_credentials"
PLAYER = "media_player.lobby"
STATE = "sensor.lobby_avatar_state"
# ZEGO's answer to an action it does not know (zego-api.md §4.1).
UNKNOWN_ACTION = 100000007


@pytest.fixture
def like_zego(emulator: ZegoEmulator) -> None:
    """The endpoint answers everything as the emulator does, except the emulator probe,
    which it refuses exactly as ZEGO refuses an unknown action."""
    emulator.faults.add(
        Fault.zego(UNKNOWN_ACTION, "Action not found", action="DescribeEmulator", count=None)
    )


class Caller:
    """One HA user's WebSocket connection."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def ask(self, entity_id: str, user_id: str | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"type": COMMAND, "entity_id": entity_id}
        if user_id is not None:
            message["user_id"] = user_id
        await self._client.send_json_auto_id(message)
        response: dict[str, Any] = await self._client.receive_json()
        return response


@pytest.fixture
async def admin(hass: HomeAssistant, hass_ws_client: WebSocketGenerator) -> Caller:
    return Caller(await hass_ws_client(hass))


@pytest.fixture
async def reader(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, hass_read_only_access_token: str
) -> Caller:
    """A non-admin user (read-only group), as on a kiosk."""
    return Caller(await hass_ws_client(hass, hass_read_only_access_token))


def _ok(response: dict[str, Any]) -> dict[str, Any]:
    assert response["success"], response
    result: dict[str, Any] = response["result"]
    return result


def _error(response: dict[str, Any]) -> dict[str, Any]:
    assert not response["success"], response
    error: dict[str, Any] = response["error"]
    return error


@pytest.mark.usefixtures("like_zego")
async def test_admin_gets_a_view_only_token_for_the_avatars_room(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
    admin: Caller,
    hass_admin_user: MockUser,
) -> None:
    before = int(time.time())
    result = _ok(await admin.ask(PLAYER))
    after = int(time.time())

    assert result["kind"] == "rtc"
    assert result["preview"] is None
    app_id = emulator.config.app_id
    assert result["app_id"] == app_id
    assert result["server"] == f"wss://webliveroom{app_id}-api.zegocloud.com/ws"
    assert (result["room_id"], result["stream_id"]) == ("lobby_room", "lobby_stream")
    assert result["streaming"] is False
    assert result["entities"] == {"media_player": PLAYER, "state": STATE}
    user_id = result["user_id"]
    assert re.fullmatch(rf"ha_{hass_admin_user.id[:16]}_[0-9a-f]{{8}}", user_id)
    assert len(user_id.encode()) <= 64

    variant, clear_expire, info = decode_token04(result["token"], emulator.config.server_secret)
    assert variant == "gcm"
    assert info["app_id"] == app_id
    assert info["user_id"] == user_id
    assert before <= info["ctime"] <= after
    assert info["expire"] - info["ctime"] == 3600
    assert result["expires_at"] == info["expire"] == clear_expire
    payload = json.loads(info["payload"])
    assert payload["room_id"] == "lobby_room"
    assert payload["privilege"] == {"1": 1, "2": 0}  # login allowed, publish denied


@pytest.mark.usefixtures("like_zego", "init_integration")
async def test_any_entity_of_the_avatar_names_it(admin: Caller) -> None:
    for entity_id in ("sensor.lobby_stream_status", "button.lobby_start_stream", STATE):
        result = _ok(await admin.ask(entity_id))
        assert result["room_id"] == "lobby_room"
        assert result["entities"] == {"media_player": PLAYER, "state": STATE}


@pytest.mark.usefixtures("like_zego")
async def test_streaming_follows_the_stream_task(
    hass: HomeAssistant, init_integration: MockConfigEntry, admin: Caller
) -> None:
    await init_integration.runtime_data.avatars[MANAGED_SUBENTRY_ID].ensure_streaming()
    assert _ok(await admin.ask(PLAYER))["streaming"] is True


@pytest.mark.usefixtures("like_zego", "init_integration")
async def test_a_non_admin_reader_gets_credentials(
    emulator: ZegoEmulator, reader: Caller, hass_read_only_user: MockUser
) -> None:
    """Kiosk users are not admins: reading the entity is enough."""
    result = _ok(await reader.ask(PLAYER))
    assert result["user_id"].startswith(f"ha_{hass_read_only_user.id[:16]}_")
    _, _, info = decode_token04(result["token"], emulator.config.server_secret)
    assert info["user_id"] == result["user_id"]


@pytest.mark.usefixtures("like_zego", "init_integration")
async def test_a_user_who_may_not_read_the_entity_is_refused(
    reader: Caller, hass_read_only_user: MockUser
) -> None:
    hass_read_only_user.mock_policy({"entities": {"entity_ids": {STATE: True}}})
    error = _error(await reader.ask(PLAYER))
    assert error["code"] == "unauthorized"
    assert PLAYER in error["message"]
    assert "token" not in error["message"].lower()
    # The same user may play through the entity they can read.
    assert _ok(await reader.ask(STATE))["room_id"] == "lobby_room"


@pytest.mark.usefixtures("like_zego", "init_integration")
async def test_unknown_and_foreign_entities_are_not_found(
    hass: HomeAssistant, admin: Caller
) -> None:
    er.async_get(hass).async_get_or_create("sensor", "other_integration", "x1")
    foreign = er.async_get(hass).async_get_entity_id("sensor", "other_integration", "x1")
    hass.states.async_set("light.kitchen", "on")
    for entity_id in ("media_player.nobody", foreign, "light.kitchen"):
        error = _error(await admin.ask(str(entity_id)))
        assert error["code"] == "not_found", entity_id
        assert str(entity_id) in error["message"]


@pytest.mark.usefixtures("like_zego")
async def test_an_unloaded_account_is_not_ready(
    hass: HomeAssistant, init_integration: MockConfigEntry, admin: Caller
) -> None:
    await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.NOT_LOADED
    error = _error(await admin.ask(PLAYER))
    assert error["code"] == "not_ready"
    # The English text of the translated message (HA drops the final period).
    assert error["message"] == (
        f"The ZEGO account of {PLAYER} is not loaded yet. Try again in a moment"
    )
    assert error["translation_key"] == "player_not_ready"


@pytest.mark.usefixtures("like_zego", "init_integration")
async def test_renewal_keeps_the_identity_of_its_own_user_only(
    emulator: ZegoEmulator, admin: Caller, reader: Caller
) -> None:
    first = _ok(await admin.ask(PLAYER))
    renewed = _ok(await admin.ask(PLAYER, first["user_id"]))
    assert renewed["user_id"] == first["user_id"]
    assert renewed["token"] != first["token"]
    _, _, info = decode_token04(renewed["token"], emulator.config.server_secret)
    assert info["user_id"] == first["user_id"]

    # Another user cannot mint a token for the admin's player identity...
    error = _error(await reader.ask(PLAYER, first["user_id"]))
    assert error["code"] == "unauthorized"
    assert "token" not in json.dumps(error).lower().replace("translation", "")
    # ...nor for a made-up one, even under their own prefix.
    own = _ok(await reader.ask(PLAYER))["user_id"]
    for forged in (own + "0", own[:-8] + "ZZZZZZZZ", own[:-9], "ha_x"):
        assert _error(await reader.ask(PLAYER, forged))["code"] == "unauthorized", forged


@pytest.mark.usefixtures("like_zego")
async def test_options_choose_cbc_and_a_server(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry, admin: Caller
) -> None:
    flow = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert flow["type"] is FlowResultType.FORM
    bad = await hass.config_entries.options.async_configure(
        flow["flow_id"], {CONF_TOKEN_VARIANT: "cbc", CONF_RTC_SERVER: "https://not-a-ws"}
    )
    assert bad["errors"] == {CONF_RTC_SERVER: "invalid_rtc_server"}
    done = await hass.config_entries.options.async_configure(
        flow["flow_id"],
        {CONF_TOKEN_VARIANT: "cbc", CONF_RTC_SERVER: "wss://accesshub-wss.zego.im/accesshub"},
    )
    assert done["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED

    result = _ok(await admin.ask(PLAYER))
    assert result["server"] == "wss://accesshub-wss.zego.im/accesshub"
    variant, _, info = decode_token04(result["token"], emulator.config.server_secret)
    assert variant == "cbc"
    assert info["user_id"] == result["user_id"]

    # Back to the defaults: GCM, ZEGO's server for the AppId.
    flow = await hass.config_entries.options.async_init(init_integration.entry_id)
    await hass.config_entries.options.async_configure(
        flow["flow_id"], {CONF_TOKEN_VARIANT: "gcm", CONF_RTC_SERVER: ""}
    )
    await hass.async_block_till_done()
    assert init_integration.options == {CONF_TOKEN_VARIANT: "gcm"}
    result = _ok(await admin.ask(PLAYER))
    assert decode_token04(result["token"], emulator.config.server_secret)[0] == "gcm"
    assert result["server"].startswith("wss://webliveroom")


@pytest.mark.usefixtures("like_zego")
async def test_tokens_reach_no_log_and_no_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_ws_client: WebSocketGenerator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Diagnostics registers an HTTP view: before the WebSocket client freezes the router.
    assert await async_setup_component(hass, "diagnostics", {})
    admin = Caller(await hass_ws_client(hass))
    caplog.set_level(logging.DEBUG)
    tokens = [_ok(await admin.ask(PLAYER))["token"] for _ in range(2)]
    user_id = _ok(await admin.ask(PLAYER))["user_id"]
    tokens.append(_ok(await admin.ask(PLAYER, user_id))["token"])
    diagnostics = json.dumps(
        await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    )
    # HA's own WebSocket layer logs every message it sends at DEBUG: that is the user's
    # choice of logger, not ours. Everything else must be free of the token.
    ours = [
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith("homeassistant.components.websocket_api")
    ]
    assert any("Player credentials" in line for line in ours)
    for token in tokens:
        body = token[2:]
        assert all(body not in line for line in ours)
        assert body not in diagnostics


# --- the emulator's preview -----------------------------------------------------------------


async def _feed_login(
    session: aiohttp.ClientSession, credentials: dict[str, Any]
) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(
        credentials["preview"]["feed_url"], headers={"Origin": "http://homeassistant.local:8123"}
    )
    await ws.send_json(
        {
            "type": "login",
            "token": credentials["token"],
            "user_id": credentials["user_id"],
            "room_id": credentials["room_id"],
            "stream_id": credentials["stream_id"],
        }
    )
    answer = await ws.receive_json(timeout=5)
    assert answer == {"type": "login", "ok": True, "expires_at": credentials["expires_at"]}
    return ws


async def test_an_emulator_account_gets_a_working_preview_feed(
    hass: HomeAssistant, emulator: ZegoEmulator, avatar: MockConfigEntry, admin: Caller
) -> None:
    """The emulator said so itself: the card gets its feed, and the feed carries what HA says."""
    credentials = _ok(await admin.ask(PLAYER))
    assert credentials["kind"] == "preview"
    described = {
        "feed_url": "ws" + emulator.endpoint.removeprefix("http") + "/preview/feed",
        "face_url": emulator.endpoint + "/preview/face.svg",
    }
    assert credentials["preview"] == described
    # Asked once per entry setup, not per request.
    assert _ok(await admin.ask(PLAYER))["kind"] == "preview"
    assert sum(1 for r in emulator.requests if r.action == "DescribeEmulator") == 1

    async with aiohttp.ClientSession() as session:
        # The integration's token opens the emulator's feed (its own, separate Token04 reader).
        ws = await _feed_login(session, credentials)
        assert await ws.receive_json(timeout=5) == {"type": "stream", "live": False}

        response = await hass.services.async_call(
            DOMAIN,
            "speak",
            {
                "entity_id": PLAYER,
                "message": "Welcome to the lobby",
                "tts_engine": ENGINE,
                "wait": True,
            },  # fmt: skip
            blocking=True,
            return_response=True,
        )
        assert response is not None
        drive_id = response["results"][0]["drive_id"]

        assert await ws.receive_json(timeout=5) == {"type": "stream", "live": True}
        start = await ws.receive_json(timeout=5)
        assert start == {"type": "audio_start", "drive_id": drive_id, "sample_rate": 16000}
        relayed = b""
        while True:
            msg = await ws.receive(timeout=5)
            if msg.type is not aiohttp.WSMsgType.BINARY:
                break
            relayed += msg.data
        end = json.loads(msg.data)
        assert end["type"] == "audio_end"
        assert end["drive_id"] == drive_id
        assert end["playback_end_in"] >= 0
        drive = emulator.drive(drive_id)
        assert relayed == drive.audio
        assert len(relayed) > 0
        await ws.close()


@pytest.mark.usefixtures("init_integration")
async def test_cbc_tokens_open_the_feed_too(
    hass: HomeAssistant, emulator: ZegoEmulator, admin: Caller
) -> None:
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    hass.config_entries.async_update_entry(entry, options={CONF_TOKEN_VARIANT: "cbc"})
    await hass.async_block_till_done()
    credentials = _ok(await admin.ask(PLAYER))
    assert decode_token04(credentials["token"], emulator.config.server_secret)[0] == "cbc"
    async with aiohttp.ClientSession() as session:
        ws = await _feed_login(session, credentials)
        await ws.close()


# --- the portrait ---------------------------------------------------------------------------


def _picture(hass: HomeAssistant) -> str | None:
    state = hass.states.get(PLAYER)
    assert state is not None
    picture: str | None = state.attributes.get("entity_picture")
    return picture


async def _advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def _info_requests(emulator: ZegoEmulator) -> int:
    return sum(1 for r in emulator.requests if r.action == "GetDigitalHumanInfo")


@pytest.mark.usefixtures("like_zego")
async def test_the_portrait_is_the_poster_and_the_players_picture(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry, admin: Caller
) -> None:
    poster = _ok(await admin.ask(PLAYER))["poster"]
    assert poster.startswith(f"{emulator.endpoint}/portraits/{LOBBY_ANNA_ID}.svg?")
    assert _picture(hass) == poster
    async with aiohttp.ClientSession() as session, session.get(poster) as response:
        assert response.status == 200
        assert "Lobby Anna" in await response.text()
    # Whatever the player's state: off (no stream) here, idle once it streams.
    assert hass.states.get(PLAYER).state == "off"  # type: ignore[union-attr]
    await init_integration.runtime_data.avatars[MANAGED_SUBENTRY_ID].ensure_streaming()
    await hass.async_block_till_done()
    assert _picture(hass) == poster


# Time is frozen before the entry loads, so that HA's clock and the loop's move together.
@pytest.mark.usefixtures("like_zego")
async def test_the_portrait_is_refreshed_before_it_expires(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
) -> None:
    first = _picture(hass)
    assert first is not None
    assert _info_requests(emulator) == 1
    portrait = init_integration.runtime_data.portraits[MANAGED_SUBENTRY_ID]
    first_expiry = portrait.expires_at
    assert first_expiry is not None

    # Still valid after 17 h: nothing asked.
    await _advance(hass, freezer, timedelta(hours=17))
    assert _info_requests(emulator) == 1

    # At 18 h, hours before ZEGO's 24 h run out, the URL is fetched again: valid 24 h more.
    # The client signs with the real clock (bound when it is built); freezegun moved the
    # emulator's: set it back so the request is not refused for clock skew.
    emulator.config.clock_offset = -timedelta(hours=18, seconds=1).total_seconds()
    await _advance(hass, freezer, timedelta(hours=1, seconds=1))
    assert _info_requests(emulator) == 2
    assert _picture(hass) is not None
    assert portrait.expires_at == first_expiry + timedelta(hours=18, seconds=1)


@pytest.mark.usefixtures("like_zego")
async def test_a_failed_refresh_keeps_the_portrait_until_it_expires(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    init_integration: MockConfigEntry,
) -> None:
    first = _picture(hass)
    assert first is not None
    # A refusal the client does not retry: frozen time would stall a retry's backoff sleep.
    emulator.faults.add(Fault.zego(400000001, "Invalid parameter", action="GetDigitalHumanInfo",
                                   count=None))  # fmt: skip

    await _advance(hass, freezer, timedelta(hours=18, seconds=1))
    tried = _info_requests(emulator)
    assert tried > 1
    assert _picture(hass) == first  # kept: still valid

    # Retried every 10 minutes meanwhile.
    await _advance(hass, freezer, timedelta(minutes=10, seconds=1))
    assert _info_requests(emulator) > tried
    assert _picture(hass) == first

    # Once the held URL has expired it is dropped, from the picture and the poster.
    # (Few steps: the AppId's rate limiter runs on the real clock, and its wait would
    # sleep on the frozen one.)
    for step in (timedelta(hours=5, minutes=40), timedelta(minutes=10)):
        await _advance(hass, freezer, step)
    assert _picture(hass) is None
    # ...and the card's poster, which is the same URL (test_the_portrait_is_the_poster...).
    assert init_integration.runtime_data.portraits[MANAGED_SUBENTRY_ID].url is None


async def test_a_slow_probe_holds_up_neither_the_setup_nor_fails_it(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    emulator.faults.add(Fault.slow(1.0, action="DescribeEmulator"))
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    probe = mock_config_entry.runtime_data.preview
    assert probe is not None
    assert not probe.done()
    await hass.async_block_till_done()
    assert probe.done()
    assert probe.result() is not None
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("like_zego")
async def test_avatars_added_and_removed_while_running_get_and_drop_their_portrait(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry, admin: Caller
) -> None:
    hall = "01JAVATARHALL0000000000000"
    hass.config_entries.async_add_subentry(
        init_integration,
        ConfigSubentry(
            data=MappingProxyType(
                managed_avatar_data(
                    name="Hall", digital_human_id=KIOSK_BEN_ID, room_id="hall", stream_id="hall"
                )
            ),
            subentry_id=hall,
            subentry_type=SUBENTRY_TYPE_AVATAR,
            title="Hall",
            unique_id=None,
        ),
    )
    await hass.async_block_till_done()
    picture = hass.states.get("media_player.hall").attributes["entity_picture"]  # type: ignore[union-attr]
    assert picture.startswith(f"{emulator.endpoint}/portraits/{KIOSK_BEN_ID}.svg?")
    credentials = _ok(await admin.ask("media_player.hall"))
    assert (credentials["room_id"], credentials["poster"]) == ("hall", picture)
    portrait = init_integration.runtime_data.portraits[hall]

    hass.config_entries.async_remove_subentry(init_integration, hall)
    await hass.async_block_till_done()
    assert hall not in init_integration.runtime_data.portraits
    assert portrait.closed
    assert _error(await admin.ask("media_player.hall"))["code"] == "not_found"

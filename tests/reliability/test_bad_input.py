"""One table of bad inputs across the flows and the actions, each refused in its own words.

Every row names the error it must give (a translation key, a flow field error, or the field
the action's schema rejects) and must leave everything as it was: no task or drive at the
emulator, no state change of the avatar's entities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
import pytest
import voluptuous as vol

from custom_components.zego_digital_human.const import (
    CONF_APP_ID,
    CONF_BACKGROUND_COLOR,
    CONF_DIGITAL_HUMAN_ID,
    CONF_ENDPOINT,
    CONF_KEEP_ALIVE,
    CONF_MAX_IDLE_TIME,
    CONF_NAME,
    CONF_ROOM_ID,
    CONF_SERVER_SECRET,
    CONF_STREAM_ID,
    CONF_STREAM_MODE,
    CONF_TASK_ID,
    CONF_TTL,
    DOMAIN,
    SUBENTRY_TYPE_AVATAR,
    SpeechEvent,
)
from tests.speech.tts_engine import ENGINE
from zego_emulator.config import LOBBY_ANNA_ID

from .conftest import TALLY

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from zego_emulator import ZegoEmulator

PLAYER = "media_player.lobby"
NOTIFIER = "notify.lobby"
SPEECH_EVENT = "event.lobby_speech"
LAST_ERROR = "sensor.lobby_last_error"
AVATAR_STATE = "sensor.lobby_avatar_state"
# Actions that would create state at ZEGO; a refused input must send none of them.
MUTATING = {
    "CreateDigitalHumanStreamTask",
    "StopDigitalHumanStreamTask",
    "DriveByWsStream",
    "DriveByText",
    "DriveByAudio",
    "InterruptDriveTask",
}


@dataclass(frozen=True)
class Row:
    """A bad input: where it goes, what it is, and the error it must give."""

    name: str
    kind: str  # service domain.service, or "flow", "identity", "managed", "attached"
    data: dict[str, Any]
    error: str  # translation key, flow field error "field:error", or schema field "schema:x"

    @property
    def fetched(self) -> bool:
        """Media that is only known to be bad once ffmpeg has fetched it."""
        return "{server}" in str(self.data)


def _svc(name: str, service: str, data: dict[str, Any], error: str) -> Row:
    return Row(name, service, data, error)


GOOD_MANAGED: dict[str, Any] = {
    CONF_ROOM_ID: "hall",
    CONF_STREAM_ID: "hall_stream",
    CONF_TTL: 3600,
    CONF_MAX_IDLE_TIME: 300,
    CONF_BACKGROUND_COLOR: "#00FF00",
    CONF_KEEP_ALIVE: False,
}
GOOD_USER: dict[str, Any] = {
    CONF_APP_ID: "1234567",
    CONF_SERVER_SECRET: "0123456789abcdef0123456789abcdef",
    CONF_ENDPOINT: "http://127.0.0.1:9",
}
LONG_TEXT = "Blah " * 20_000  # 100 kB of text

ROWS = [
    # speak: contents, engine, options, types
    _svc("speak_blank", "zego_digital_human.speak", {"message": "   "}, "empty_message"),
    _svc("speak_empty", "zego_digital_human.speak", {"message": ""}, "empty_message"),
    _svc("speak_newlines", "zego_digital_human.speak", {"message": "\n\t\r"}, "empty_message"),
    _svc(
        "speak_unknown_engine",
        "zego_digital_human.speak",
        {"message": "Hi", "tts_engine": "tts.nowhere"},
        "tts_engine_not_found",
    ),
    _svc(
        "speak_engine_not_an_entity",
        "zego_digital_human.speak",
        {"message": "Hi", "tts_engine": "Ünïcode engine ☃"},
        "tts_engine_not_found",
    ),
    _svc(
        "speak_unsupported_language",
        "zego_digital_human.speak",
        {"message": "Hi", "language": "xx-XX"},
        "tts_language_not_supported",
    ),
    _svc(
        "speak_unknown_option",
        "zego_digital_human.speak",
        {"message": "Hi", "options": {"no_such_option": 1}},
        "tts_options_not_supported",
    ),
    _svc(
        "speak_options_not_a_dict",
        "zego_digital_human.speak",
        {"message": "Hi", "options": "voice=amy"},
        "schema:options",
    ),
    _svc(
        "speak_bad_policy",
        "zego_digital_human.speak",
        {"message": "Hi", "policy": "shout"},
        "schema:policy",
    ),
    _svc(
        "speak_wait_not_boolean",
        "zego_digital_human.speak",
        {"message": "Hi", "wait": "perhaps"},
        "schema:wait",
    ),
    _svc(
        "speak_message_a_list",
        "zego_digital_human.speak",
        {"message": ["a", "b"]},
        "schema:message",
    ),
    _svc(
        "speak_unknown_entity",
        "zego_digital_human.speak",
        {ATTR_ENTITY_ID: "media_player.nowhere", "message": "Hi"},
        "not_an_avatar",
    ),
    _svc(
        "speak_foreign_entity",
        "zego_digital_human.speak",
        {ATTR_ENTITY_ID: ENGINE, "message": "Hi"},
        "not_an_avatar",
    ),
    _svc(
        "speak_malformed_entity_id",
        "zego_digital_human.speak",
        {ATTR_ENTITY_ID: "not an entity", "message": "Hi"},
        "schema:entity_id",
    ),
    _svc(
        "speak_unknown_device",
        "zego_digital_human.speak",
        {ATTR_ENTITY_ID: None, "device_id": "0123456789abcdef", "message": "Hi"},
        "not_an_avatar",
    ),
    # play_audio: malformed and non-audio media
    _svc("play_empty_id", "zego_digital_human.play_audio", {"media_id": ""}, "unsupported_media"),
    _svc(
        "play_ftp_url",
        "zego_digital_human.play_audio",
        {"media_id": "ftp://127.0.0.1/a.mp3"},
        "unsupported_media",
    ),
    _svc(
        "play_javascript",
        "zego_digital_human.play_audio",
        {"media_id": "javascript:alert(1)"},
        "unsupported_media",
    ),
    _svc(
        "play_no_host",
        "zego_digital_human.play_audio",
        {"media_id": "http:///a.wav"},
        "unsupported_media",
    ),
    _svc(
        "play_text_file",
        "zego_digital_human.play_audio",
        {"media_id": "{server}/notes.txt"},
        "media_not_audio",
    ),
    _svc(
        "play_binary_junk",
        "zego_digital_human.play_audio",
        {"media_id": "{server}/junk.bin"},
        "media_not_audio",
    ),
    _svc(
        "play_missing_file",
        "zego_digital_human.play_audio",
        {"media_id": "{server}/missing.wav"},
        "media_not_found",
    ),
    _svc(
        "play_tts_unknown_engine",
        "zego_digital_human.play_audio",
        {"media_id": "media-source://tts/tts.nowhere?message=Hi"},
        "tts_engine_not_found",
    ),
    # start / stop / interrupt
    _svc(
        "start_foreign_entity",
        "zego_digital_human.start_stream",
        {ATTR_ENTITY_ID: ENGINE},
        "not_an_avatar",
    ),
    _svc("stop_no_target", "zego_digital_human.stop_stream", {ATTR_ENTITY_ID: None}, "schema:"),
    _svc(
        "interrupt_unknown_entity",
        "zego_digital_human.interrupt",
        {ATTR_ENTITY_ID: "button.nowhere"},
        "not_an_avatar",
    ),
    # media_player and notify
    _svc(
        "play_media_javascript",
        "media_player.play_media",
        {"media_content_id": "javascript:alert(1)", "media_content_type": "music"},
        "unsupported_media",
    ),
    _svc(
        "play_media_text_file",
        "media_player.play_media",
        {"media_content_id": "{server}/notes.txt", "media_content_type": "music"},
        "media_not_audio",
    ),
    _svc(
        "notify_blank",
        "notify.send_message",
        {ATTR_ENTITY_ID: NOTIFIER, "message": "  ", "title": "  "},
        "empty_message",
    ),
    # config flow (user step)
    Row("flow_app_id_letters", "flow", {CONF_APP_ID: "abc"}, f"{CONF_APP_ID}:invalid_app_id"),
    Row("flow_app_id_negative", "flow", {CONF_APP_ID: "-5"}, f"{CONF_APP_ID}:invalid_app_id"),
    Row(
        "flow_app_id_huge",
        "flow",
        {CONF_APP_ID: "9" * 40},
        f"{CONF_APP_ID}:invalid_app_id",
    ),
    Row(
        "flow_secret_blank",
        "flow",
        {CONF_SERVER_SECRET: "   "},
        f"{CONF_SERVER_SECRET}:secret_required",
    ),
    Row(
        "flow_endpoint_not_url",
        "flow",
        {CONF_ENDPOINT: "not a url"},
        f"{CONF_ENDPOINT}:invalid_endpoint",
    ),
    Row(
        "flow_endpoint_ftp",
        "flow",
        {CONF_ENDPOINT: "ftp://127.0.0.1"},
        f"{CONF_ENDPOINT}:invalid_endpoint",
    ),
    # avatar subentry flow
    Row("avatar_name_blank", "identity", {CONF_NAME: "  "}, f"{CONF_NAME}:name_required"),
    Row(
        "avatar_unknown_human",
        "identity",
        {CONF_DIGITAL_HUMAN_ID: "no_such_human"},
        f"{CONF_DIGITAL_HUMAN_ID}:unknown_digital_human",
    ),
    Row(
        "room_id_too_long", "managed", {CONF_ROOM_ID: "r" * 200}, f"{CONF_ROOM_ID}:invalid_room_id"
    ),
    Row(
        "stream_id_charset",
        "managed",
        {CONF_STREAM_ID: "hall stream!"},
        f"{CONF_STREAM_ID}:invalid_stream_id",
    ),
    Row(
        "stream_id_emoji",
        "managed",
        {CONF_STREAM_ID: "hall_🎤"},
        f"{CONF_STREAM_ID}:invalid_stream_id",
    ),
    Row(
        "stream_id_too_long",
        "managed",
        {CONF_STREAM_ID: "s" * 300},
        f"{CONF_STREAM_ID}:stream_id_too_long",
    ),
    Row(
        "stream_id_in_use",
        "managed",
        {CONF_STREAM_ID: "lobby_stream"},
        f"{CONF_STREAM_ID}:stream_id_in_use",
    ),
    Row("ttl_zero", "managed", {CONF_TTL: 0}, f"{CONF_TTL}:invalid_ttl"),
    Row("ttl_huge", "managed", {CONF_TTL: 10**9}, f"{CONF_TTL}:invalid_ttl"),
    Row("ttl_fraction", "managed", {CONF_TTL: 3600.5}, f"{CONF_TTL}:invalid_ttl"),
    Row(
        "idle_negative",
        "managed",
        {CONF_MAX_IDLE_TIME: -1},
        f"{CONF_MAX_IDLE_TIME}:invalid_max_idle_time",
    ),
    Row(
        "color_name",
        "managed",
        {CONF_BACKGROUND_COLOR: "red"},
        f"{CONF_BACKGROUND_COLOR}:invalid_background_color",
    ),
    Row(
        "color_not_hex",
        "managed",
        {CONF_BACKGROUND_COLOR: "#GGHHII"},
        f"{CONF_BACKGROUND_COLOR}:invalid_background_color",
    ),
    Row(
        "task_id_unknown",
        "attached",
        {CONF_TASK_ID: "no-such-task"},
        f"{CONF_TASK_ID}:unknown_task",
    ),
    Row("task_id_blank", "attached", {CONF_TASK_ID: "   "}, f"{CONF_TASK_ID}:unknown_task"),
]


@pytest.fixture
async def media_server(socket_enabled: None) -> AsyncIterator[str]:
    """Serves a text file and binary junk on 127.0.0.1; 404 elsewhere."""
    files = {
        "/notes.txt": (b"not audio at all\n" * 50, "text/plain"),
        "/junk.bin": (bytes(range(256)) * 64, "application/octet-stream"),
    }

    async def handle(request: web.Request) -> web.Response:
        if request.path not in files:
            raise web.HTTPNotFound
        body, content_type = files[request.path]
        return web.Response(body=body, content_type=content_type)

    app = web.Application()
    app.router.add_get("/{name}", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


def _our_states(hass: HomeAssistant) -> dict[str, str]:
    return {
        state.entity_id: state.state
        for state in hass.states.async_all()
        if state.entity_id.split(".", 1)[1].startswith("lobby")
    }


def _mutations(emulator: ZegoEmulator) -> int:
    return sum(1 for record in emulator.requests if record.action in MUTATING)


async def _service(hass: HomeAssistant, row: Row, server: str) -> None:
    domain, service = row.kind.split(".")
    data: dict[str, Any] = {ATTR_ENTITY_ID: PLAYER}
    for key, value in row.data.items():
        data[key] = value.format(server=server) if isinstance(value, str) else value
    data = {key: value for key, value in data.items() if value is not None}
    with pytest.raises((HomeAssistantError, vol.Invalid)) as raised:
        await hass.services.async_call(domain, service, data, blocking=True)
    err = raised.value
    if row.error.startswith("schema:"):
        assert isinstance(err, vol.Invalid), repr(err)
        field = row.error.removeprefix("schema:")
        assert field in str(err.path) or field in str(err), repr(err)
    else:
        assert isinstance(err, HomeAssistantError), repr(err)
        assert err.translation_domain == DOMAIN, repr(err)
        assert err.translation_key == row.error, repr(err)


async def _flow_error(hass: HomeAssistant, row: Row, entry: MockConfigEntry) -> dict[str, str]:
    if row.kind == "flow":
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {**GOOD_USER, **row.data}
        )
        flow_id = result["flow_id"]
        assert result["type"] is FlowResultType.FORM, result
        hass.config_entries.flow.async_abort(flow_id)
        return dict(result["errors"] or {})
    subentries = hass.config_entries.subentries
    result = await subentries.async_init(
        (entry.entry_id, SUBENTRY_TYPE_AVATAR), context={"source": SOURCE_USER}
    )
    identity = {
        CONF_NAME: "Hall",
        CONF_DIGITAL_HUMAN_ID: LOBBY_ANNA_ID,
        CONF_STREAM_MODE: "attached" if row.kind == "attached" else "managed",
    }
    if row.kind == "identity":
        result = await subentries.async_configure(result["flow_id"], {**identity, **row.data})
    else:
        result = await subentries.async_configure(result["flow_id"], identity)
        assert result["step_id"] == row.kind, result
        base = GOOD_MANAGED if row.kind == "managed" else {}
        result = await subentries.async_configure(result["flow_id"], {**base, **row.data})
    assert result["type"] is FlowResultType.FORM, result
    subentries.async_abort(result["flow_id"])
    return dict(result["errors"] or {})


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
async def test_bad_input(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    loaded_entry: MockConfigEntry,
    media_server: str,
    row: Row,
) -> None:
    """The input is refused with its own error; nothing changes at ZEGO or in HA."""
    TALLY["bad_inputs"] += 1
    states = _our_states(hass)
    assert states, "the avatar's entities exist"
    tasks, drives, mutations = len(emulator.tasks), len(emulator.drives), _mutations(emulator)
    subentries = dict(loaded_entry.subentries)
    entries = len(hass.config_entries.async_entries(DOMAIN))
    if "." in row.kind:
        await _service(hass, row, media_server)
    else:
        field, error = row.error.split(":")
        assert (await _flow_error(hass, row, loaded_entry)).get(field) == error
    await hass.async_block_till_done()
    assert (len(emulator.tasks), len(emulator.drives), _mutations(emulator)) == (
        tasks,
        drives,
        mutations,
    )
    if row.fetched:
        # Bad only once fetched, so the attempt is a failed speech: it shows where a
        # failure shows (without starting the offline avatar's stream for it).
        after = _our_states(hass)
        assert after.pop(SPEECH_EVENT) != states.pop(SPEECH_EVENT)
        event = hass.states.get(SPEECH_EVENT)
        assert event is not None
        assert event.attributes["event_type"] == SpeechEvent.FAILED
        assert after.pop(LAST_ERROR) == event.attributes["error"]
        states.pop(LAST_ERROR)
        assert (states.pop(AVATAR_STATE), after.pop(AVATAR_STATE)) == ("offline", "error")
        assert after == states
        return
    if row.kind == "notify.send_message":
        # HA's notify entity stamps its state before it calls the platform: not ours.
        states.pop(NOTIFIER)
        states[NOTIFIER] = _our_states(hass)[NOTIFIER]
    assert _our_states(hass) == states
    assert dict(loaded_entry.subentries) == subentries
    assert len(hass.config_entries.async_entries(DOMAIN)) == entries


def test_table_is_large_enough() -> None:
    """The issue asks for at least 30 bad inputs."""
    assert len(ROWS) >= 30

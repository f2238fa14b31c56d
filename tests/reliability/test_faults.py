"""Every ZEGO failure class, injected at the emulator while HA makes the avatar speak.

Each case: the call fails with a translated error (asyncio.timeout guards against a hang,
it measures nothing), the avatar settles in a fitting state, speech_failed carries the
reason, credential failures start reauthentication; afterwards no socket is open at the
emulator, no task of the integration is pending, and the next speech works.
"""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.zego_digital_human.client import WsDriveSession
from custom_components.zego_digital_human.const import CONF_SERVER_SECRET, DOMAIN
from tests.speech.tts_engine import ENGINE
from zego_emulator import DriveStatus, Fault, ZegoEmulator

from .conftest import TALLY, settle, wait_state

if TYPE_CHECKING:
    from collections.abc import Iterator

    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from tests.speech.tts_engine import EngineLog

PLAYER = "media_player.lobby"
STATE = "sensor.lobby_avatar_state"
EVENTS = "event.lobby_speech"
DRIVE = "DriveByWsStream"
CREATE = "CreateDigitalHumanStreamTask"
# A hang guard only: far beyond any retry budget of the shortened test waits.
HANG_GUARD = 30
PIPELINE = "custom_components.zego_digital_human.speech.pipeline"


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    """Patches a test enters conditionally, undone at teardown."""
    with ExitStack() as exit_stack:
        yield exit_stack


@dataclass(frozen=True)
class Case:
    """One injected failure and what HA must make of it."""

    name: str
    faults: tuple[Fault, ...]
    keys: frozenset[str]
    states: frozenset[str]
    warm: bool = True
    reauth: bool = False
    entry_point: str = "speak"
    extra: dict[str, Any] = field(default_factory=dict)


def _zego(code: int, action: str = DRIVE) -> tuple[Fault, ...]:
    # count=None: the fault outlives every retry; it is cleared before the recovery check.
    return (Fault.zego(code, "injected failure", action=action, count=None),)


REJECTED = frozenset({"drive_rejected"})
AFTER_FAILURE = frozenset({"error", "ready", "offline"})

CASES = [
    Case("auth", _zego(100000005), REJECTED, AFTER_FAILURE, reauth=True),
    Case(
        "auth_on_create",
        _zego(100000005, CREATE),
        frozenset({"authentication_error"}),
        frozenset({"error"}),
        warm=False,
        reauth=True,
    ),
    # The user's fix is the host's clock: the drive says so like every other request.
    Case(
        "clock_skew",
        _zego(100000004),
        frozenset({"clock_skew", "clock_skew_unknown"}),
        AFTER_FAILURE,
    ),
    Case("rate_limited", _zego(400010009), REJECTED, AFTER_FAILURE),
    Case("task_not_found", _zego(400000005), REJECTED, AFTER_FAILURE),
    Case("task_ended", _zego(400000007), REJECTED, AFTER_FAILURE),
    Case("invalid_parameter", _zego(400000001), REJECTED, AFTER_FAILURE),
    Case(
        "quota",
        _zego(400000008, CREATE),
        frozenset({"quota_exceeded"}),
        frozenset({"error"}),
        warm=False,
        entry_point="tts",
    ),
    Case("server_error", _zego(400010000), REJECTED, AFTER_FAILURE, entry_point="tts"),
    Case(
        "http_500",
        (Fault.http(500, action=DRIVE, count=None),),
        REJECTED,
        AFTER_FAILURE,
        entry_point="play_media",
    ),
    Case(
        "rest_timeout",
        (Fault.slow(3.0, action=DRIVE, count=None),),
        frozenset({"drive_connection_failed"}),
        AFTER_FAILURE,
    ),
    Case(
        "ws_refused",
        (Fault.ws_refused(503, count=None),),
        frozenset({"drive_connection_failed"}),
        AFTER_FAILURE,
        entry_point="tts",
    ),
    Case(
        "ws_timeout",
        (Fault.ws_stalled(2.0, count=None),),
        frozenset({"drive_connection_failed"}),
        AFTER_FAILURE,
        # The stall outlasts the shortened connect timeout: the client must give up first.
        extra={"connect_timeout": 0.5, "error_says": "timed out"},
    ),
    Case(
        "ws_dropped_mid_utterance",
        (Fault.ws_drop_after(6400, count=None),),
        frozenset({"drive_connection_failed"}),
        AFTER_FAILURE,
        extra={"seconds": 1.0},
    ),
]


async def _call(hass: HomeAssistant, entry_point: str, message: str) -> None:
    """Make the avatar speak through one of its entry points; wait for its outcome."""
    if entry_point == "speak":
        await hass.services.async_call(
            DOMAIN,
            "speak",
            {ATTR_ENTITY_ID: PLAYER, "message": message, "wait": True},
            blocking=True,
        )
    elif entry_point == "tts":
        await hass.services.async_call(
            "tts",
            "speak",
            {ATTR_ENTITY_ID: ENGINE, "media_player_entity_id": PLAYER, "message": message},
            blocking=True,
        )
    else:
        await hass.services.async_call(
            "media_player",
            "play_media",
            {
                ATTR_ENTITY_ID: PLAYER,
                "media_content_id": f"media-source://tts/{ENGINE}?message={message}",
                "media_content_type": "music",
            },
            blocking=True,
        )


def _reauth_flows(hass: HomeAssistant) -> list[Any]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"].get("source") == SOURCE_REAUTH
    ]


async def _speak_ok(hass: HomeAssistant, emulator: ZegoEmulator, message: str) -> None:
    """A speech that must work: its drive ends cleanly at the emulator."""
    before = len(emulator.drives)
    async with asyncio.timeout(HANG_GUARD):
        await _call(hass, "speak", message)
        drive = emulator.drives[-1]
        assert len(emulator.drives) > before
        await emulator.wait_for_drive(drive.drive_id, status=DriveStatus.ENDED, timeout=10)
    assert drive.violations == []
    assert not drive.interrupted
    await wait_state(hass, STATE, "ready")


async def _assert_failed(
    hass: HomeAssistant, emulator: ZegoEmulator, case_keys: frozenset[str], err: BaseException
) -> None:
    assert isinstance(err, HomeAssistantError), repr(err)
    assert err.translation_domain == DOMAIN, repr(err)
    assert err.translation_key in case_keys, err.translation_key
    assert str(err), "the translated message is empty"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_fault(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    engine_log: EngineLog,
    mock_config_entry: MockConfigEntry,
    case: Case,
    stack: ExitStack,
) -> None:
    """Inject the fault, speak, check the failure and the clean-up, then speak again."""
    with patch("custom_components.zego_digital_human.helpers.CLIENT_REQUEST_TIMEOUT", 0.5):
        mock_config_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    if "connect_timeout" in case.extra:
        # The WebSocket handshake's own timeout, shortened as the REST one is above.
        session_class = partial(WsDriveSession, connect_timeout=case.extra["connect_timeout"])
        stack.enter_context(patch(f"{PIPELINE}.WsDriveSession", session_class))
    try:
        if case.warm:
            await _speak_ok(hass, emulator, "Warm up")
        engine_log.seconds = case.extra.get("seconds", engine_log.seconds)
        for fault in case.faults:
            emulator.faults.add(fault)
            TALLY["faults"] += 1
        with pytest.raises(HomeAssistantError) as raised:
            async with asyncio.timeout(HANG_GUARD):
                await _call(hass, case.entry_point, "Under fault")
        await _assert_failed(hass, emulator, case.keys, raised.value)
        if "error_says" in case.extra:
            assert case.extra["error_says"] in str(raised.value), str(raised.value)
        await settle(hass, emulator)
        # The avatar may still play out what it had buffered before it settles.
        await wait_state(hass, STATE, *case.states)
        event = hass.states.get(EVENTS)
        assert event.attributes["event_type"] == "speech_failed", event.attributes
        assert event.attributes["error"] == str(raised.value), event.attributes
        assert bool(_reauth_flows(hass)) is case.reauth
        emulator.faults.clear()
        engine_log.seconds = 0.2
        await _speak_ok(hass, emulator, "After the fault")
        await settle(hass, emulator)
    finally:
        await hass.config_entries.async_unload(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    assert emulator.open_ws_connections == 0


async def _playing_drive(emulator: ZegoEmulator, before: int) -> str:
    """The DriveId of the new drive once the avatar plays it."""
    async with asyncio.timeout(HANG_GUARD):
        for _ in range(3000):
            if len(emulator.drives) > before:
                break
            await asyncio.sleep(0.01)
        drive = emulator.drives[-1]
        await emulator.wait_for_drive(drive.drive_id, status=DriveStatus.DRIVING, timeout=10)
    return drive.drive_id


async def test_task_expired_mid_utterance(
    hass: HomeAssistant, emulator: ZegoEmulator, engine_log: EngineLog, loaded_entry: Any
) -> None:
    """ZEGO ends the task (TTL) while the avatar speaks: the call ends, a new task follows."""
    await _speak_ok(hass, emulator, "Warm up")
    (task_id,) = emulator.tasks
    engine_log.seconds = 3.0
    before = len(emulator.drives)
    call = hass.async_create_task(_call(hass, "speak", "A long story"))
    await _playing_drive(emulator, before)
    emulator.expire_task(task_id)
    TALLY["faults"] += 1
    with pytest.raises(HomeAssistantError) as raised:
        async with asyncio.timeout(HANG_GUARD):
            await call
    await _assert_failed(
        hass, emulator, frozenset({"drive_connection_failed", "drive_rejected"}), raised.value
    )
    await wait_state(hass, STATE, "offline", "error")
    await settle(hass, emulator)
    assert hass.states.get(EVENTS).attributes["event_type"] == "speech_failed"
    engine_log.seconds = 0.2
    await _speak_ok(hass, emulator, "On a new task")
    assert emulator.drives[-1].task_id != task_id
    await settle(hass, emulator)


async def test_credentials_revoked_while_running(
    hass: HomeAssistant, emulator: ZegoEmulator, engine_log: EngineLog, loaded_entry: Any
) -> None:
    """The secret is revoked mid-utterance: the next request starts reauth, then works again."""
    original = emulator.config.server_secret
    await _speak_ok(hass, emulator, "Warm up")
    engine_log.seconds = 1.0
    before = len(emulator.drives)
    call = hass.async_create_task(_call(hass, "speak", "Still talking"))
    await _playing_drive(emulator, before)
    emulator.revoke_credentials()
    TALLY["faults"] += 1
    async with asyncio.timeout(HANG_GUARD):
        # The socket was open before the revocation: this utterance may finish.
        await call
    engine_log.seconds = 0.2
    with pytest.raises(HomeAssistantError) as raised:
        async with asyncio.timeout(HANG_GUARD):
            await _call(hass, "speak", "After revocation")
    await _assert_failed(hass, emulator, REJECTED, raised.value)
    await settle(hass, emulator)
    assert _reauth_flows(hass)
    assert hass.states.get(EVENTS).attributes["event_type"] == "speech_failed"
    assert hass.states.get(STATE).state in AFTER_FAILURE
    emulator.set_server_secret(original)
    assert loaded_entry.data[CONF_SERVER_SECRET] == original
    await _speak_ok(hass, emulator, "Back again")
    await settle(hass, emulator)

"""No secret leaves the integration: a full session with failures, logged at DEBUG.

The ServerSecret (the original and the one issued after a revocation), every request
Signature the client computed and every WebSocket token the emulator issued are searched
for in every log record (message and traceback), every exception text, every event on
HA's bus, every state attribute and the diagnostics output.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

from homeassistant.const import ATTR_ENTITY_ID, EVENT_STATE_CHANGED
from homeassistant.core import Event, callback
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.zego_digital_human.client import rest
from custom_components.zego_digital_human.const import DOMAIN
from zego_emulator import DriveStatus, Fault, ZegoEmulator

from .conftest import TALLY, settle

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    import pytest
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

    from tests.speech.tts_engine import EngineLog

PLAYER = "media_player.lobby"
DRIVE = "DriveByWsStream"


async def _speak(hass: HomeAssistant, message: str, failures: list[str]) -> None:
    try:
        async with asyncio.timeout(30):
            await hass.services.async_call(
                DOMAIN,
                "speak",
                {ATTR_ENTITY_ID: PLAYER, "message": message, "wait": True},
                blocking=True,
            )
    except HomeAssistantError as err:
        failures.append(f"{err!s} {err!r} {err.translation_placeholders}")
        cause: BaseException | None = err.__cause__
        while cause is not None:
            failures.append(f"{cause!s} {cause!r}")
            cause = cause.__cause__


async def test_no_secret_anywhere(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    emulator: ZegoEmulator,
    engine_log: EngineLog,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Speak, fail in every way that carries a request or a socket, and look everywhere."""
    caplog.set_level(logging.DEBUG, logger="custom_components.zego_digital_human")
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    caplog.set_level(logging.DEBUG, logger="homeassistant")
    signatures: list[str] = []
    original = rest.signed_params

    def recording(*args: Any, **kwargs: Any) -> dict[str, str]:
        params = original(*args, **kwargs)
        signatures.append(params["Signature"])
        return params

    events: list[str] = []

    @callback
    def on_event(event: Event) -> None:
        events.append(repr(event.data))
        if event.event_type == EVENT_STATE_CHANGED and event.data.get("new_state") is not None:
            events.append(json.dumps(event.data["new_state"].as_dict(), default=str))

    unsubscribe = hass.bus.async_listen("*", on_event)
    failures: list[str] = []
    secrets = [emulator.config.server_secret]
    with patch.object(rest, "signed_params", recording):
        await _speak(hass, "A good start", failures)
        faults = [
            Fault.zego(100000005, action=DRIVE, count=None),
            Fault.http(500, action=DRIVE, count=None),
            Fault.ws_refused(503, count=None),
            Fault.ws_drop_after(3200, count=1),
            Fault.zego(400000001, "Invalid parameter: TaskId bad", action=DRIVE, count=None),
        ]
        for fault in faults:
            emulator.faults.add(fault)
            TALLY["faults"] += 1
            await _speak(hass, "Under a fault", failures)
            emulator.faults.clear()
        # A revoked secret: every request now fails authentication with the old one.
        secrets.append(emulator.revoke_credentials())
        TALLY["faults"] += 1
        await _speak(hass, "With the old secret", failures)
        emulator.set_server_secret(secrets[0])
        await _speak(hass, "Back to normal", failures)
        await emulator.wait_for_drive(emulator.drives[-1].drive_id, status=DriveStatus.ENDED)
        await settle(hass, emulator)
        diagnostics = json.dumps(
            await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
        )
    unsubscribe()
    assert len(failures) >= len(faults), failures  # every fault did fail a request

    tokens = list(emulator.state.tokens)
    assert tokens, "the session opened WebSocket drives"
    assert signatures, "the session signed requests"
    formatter = logging.Formatter("%(message)s %(exc_text)s %(stack_info)s")
    logs = [formatter.format(record) for record in caplog.records]
    states = [json.dumps(state.as_dict(), default=str) for state in hass.states.async_all()]
    haystacks = {
        "log": logs,
        "exception": failures,
        "event": events,
        "state": states,
        "diagnostics": [diagnostics],
    }
    leaks = [
        f"{kind}: {needle[:6]}… in {text[:200]!r}"
        for kind, texts in haystacks.items()
        for text in texts
        for needle in (*secrets, *set(signatures), *tokens)
        if needle in text
    ]
    TALLY["leaks"] += len(leaks)
    assert len(caplog.records) > 20, "debug logging was on"
    assert leaks == []

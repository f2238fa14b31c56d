"""Fixtures of the integration tests: a real emulator on loopback and entries pointed at it."""

from __future__ import annotations

from contextlib import nullcontext
import json
from pathlib import Path
import re
from typing import TYPE_CHECKING, Any
from unittest.mock import PropertyMock, patch

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlow,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.data_entry_flow import FlowManager, FlowResultType
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension

from custom_components import zego_digital_human as integration
from custom_components.zego_digital_human.client import (
    RateLimiter,
    RetryPolicy,
    StreamTaskSpec,
    ZegoClient,
)
from custom_components.zego_digital_human.const import (
    CONF_APP_ID,
    CONF_BACKGROUND_COLOR,
    CONF_DIGITAL_HUMAN_ID,
    CONF_ENDPOINT,
    CONF_KEEP_ALIVE,
    CONF_LANGUAGE,
    CONF_MAX_IDLE_TIME,
    CONF_NAME,
    CONF_OVERLAP_POLICY,
    CONF_ROOM_ID,
    CONF_SAMPLE_RATE,
    CONF_SERVER_SECRET,
    CONF_STREAM_ID,
    CONF_STREAM_MODE,
    CONF_TASK_ID,
    CONF_TTL,
    CONF_TTS_ENGINE,
    CONF_VOICE_OPTIONS,
    DOMAIN,
    SUBENTRY_TYPE_AVATAR,
)
from tests.speech.tts_engine import EngineLog, speech_test_engines
from zego_emulator import EmulatorConfig, TaskStatus, ZegoEmulator
from zego_emulator.config import KIOSK_BEN_ID, LOBBY_ANNA_ID

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from homeassistant.const import Platform
    from homeassistant.core import HomeAssistant
    from syrupy.assertion import SnapshotAssertion

ENTRY_ID = "01JENTRY000000000000000000"
MANAGED_SUBENTRY_ID = "01JAVATARMANAGED000000000A"
ATTACHED_SUBENTRY_ID = "01JAVATARATTACHED00000000B"


def managed_avatar_data(**overrides: Any) -> dict[str, Any]:
    """Subentry data of a managed avatar (long TTL/idle so that fired timers never end it)."""
    data: dict[str, Any] = {
        CONF_NAME: "Lobby",
        CONF_DIGITAL_HUMAN_ID: LOBBY_ANNA_ID,
        CONF_STREAM_MODE: "managed",
        CONF_ROOM_ID: "lobby_room",
        CONF_STREAM_ID: "lobby_stream",
        CONF_TTL: 86400,
        CONF_MAX_IDLE_TIME: 86400,
        CONF_BACKGROUND_COLOR: "#102030",
        CONF_KEEP_ALIVE: False,
        CONF_TTS_ENGINE: None,
        CONF_LANGUAGE: None,
        CONF_VOICE_OPTIONS: {},
        CONF_SAMPLE_RATE: 16000,
        CONF_OVERLAP_POLICY: "interrupt",
    }
    data.update(overrides)
    return data


def attached_avatar_data(task_id: str, **overrides: Any) -> dict[str, Any]:
    """Subentry data of an avatar attached to a task created elsewhere."""
    data: dict[str, Any] = {
        CONF_NAME: "Kiosk",
        CONF_DIGITAL_HUMAN_ID: KIOSK_BEN_ID,
        CONF_STREAM_MODE: "attached",
        CONF_TASK_ID: task_id,
        CONF_TTS_ENGINE: None,
        CONF_LANGUAGE: None,
        CONF_VOICE_OPTIONS: {},
        CONF_SAMPLE_RATE: 24000,
        CONF_OVERLAP_POLICY: "queue",
    }
    data.update(overrides)
    return data


def avatar_subentry(data: dict[str, Any], subentry_id: str = MANAGED_SUBENTRY_ID) -> dict[str, Any]:
    """A subentries_data item for MockConfigEntry."""
    return {
        "data": data,
        "subentry_id": subentry_id,
        "subentry_type": SUBENTRY_TYPE_AVATAR,
        "title": data[CONF_NAME],
        "unique_id": None,
    }


@pytest.fixture(autouse=True)
def fast_waits() -> Iterator[None]:
    """Same behaviour as production, shorter waits: retries and start-up polls."""
    with (
        patch(
            "custom_components.zego_digital_human.helpers.CLIENT_RETRY",
            RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02),
        ),
        patch("custom_components.zego_digital_human.helpers.CLIENT_REQUEST_TIMEOUT", 5.0),
        patch("custom_components.zego_digital_human.coordinator.STREAM_START_POLL_INITIAL", 0.02),
        patch("custom_components.zego_digital_human.coordinator.STREAM_START_POLL_MAX", 0.05),
    ):
        yield


TRANSLATIONS: dict[str, Any] = json.loads(
    (Path(integration.__file__).parent / "translations" / "en.json").read_text(encoding="utf-8")
)
_PLACEHOLDER = re.compile(r"{(\w+)}")


def _check_flow_result(flow: Any, result: Any) -> None:
    """Every step, field, error and abort reason of our flows has its English text."""
    if isinstance(flow, ConfigSubentryFlow) and flow.handler[1] == SUBENTRY_TYPE_AVATAR:
        section = TRANSLATIONS["config_subentries"][SUBENTRY_TYPE_AVATAR]
    elif isinstance(flow, ConfigFlow) and flow.handler == DOMAIN:
        section = TRANSLATIONS["config"]
    elif isinstance(flow, OptionsFlow):
        section = TRANSLATIONS["options"]
    else:
        return
    if result["type"] is FlowResultType.ABORT:
        assert result["reason"] in section["abort"], result["reason"]
        return
    if result["type"] is not FlowResultType.FORM:
        return
    step = section["step"][result["step_id"]]
    texts = [step.get("description", ""), step.get("title", "")]
    for key in result["data_schema"].schema:
        assert str(key) in step["data"], f"{result['step_id']}: no label for {key}"
        assert str(key) in step["data_description"], f"{result['step_id']}: no description of {key}"
        texts.append(step["data_description"][str(key)])
    fields = {str(key) for key in result["data_schema"].schema}
    for field, error in (result["errors"] or {}).items():
        assert field == "base" or field in fields, f"error on {field}, not on the form"
        assert error in section["error"], error
        texts.append(section["error"][error])
    placeholders = result.get("description_placeholders") or {}
    for text in texts:
        for name in _PLACEHOLDER.findall(text):
            assert name in placeholders, f"{result['step_id']}: placeholder {name} not given"


@pytest.fixture(autouse=True)
def check_flow_translations() -> Iterator[None]:
    """Check the translations of every flow step the tests go through."""
    original = FlowManager._async_handle_step

    async def _checked(self: Any, flow: Any, step_id: str, user_input: Any) -> Any:
        result = await original(self, flow, step_id, user_input)
        _check_flow_result(flow, result)
        return result

    with patch.object(FlowManager, "_async_handle_step", _checked):
        yield


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots through HA's extension (phcc's own override loses to syrupy's plugin here)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Create every entity enabled, including those disabled by default."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """Emulator settings; a test overrides this fixture to change them.

    time_scale 0.01: a 0.5 s start-up takes 5 ms. TTL/idle of the test avatars are a day,
    so time fired forward for a poll never ends their tasks by accident.
    """
    return EmulatorConfig(port=0, time_scale=0.01, ws_tls=False)


@pytest.fixture
async def emulator(
    socket_enabled: None, emulator_config: EmulatorConfig
) -> AsyncIterator[ZegoEmulator]:
    """A running emulator on loopback (pytest-socket still allows only 127.0.0.1)."""
    async with ZegoEmulator(emulator_config) as emu:
        yield emu


@pytest.fixture
def subentries_data() -> list[dict[str, Any]]:
    """The avatars of the test entry; one managed avatar unless a test overrides it."""
    return [avatar_subentry(managed_avatar_data())]


def make_config_entry(
    emulator: ZegoEmulator, subentries_data: list[dict[str, Any]]
) -> MockConfigEntry:
    """A config entry for the emulator's project with these avatars."""
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=ENTRY_ID,
        title=f"ZEGO {emulator.config.app_id}",
        unique_id=str(emulator.config.app_id),
        data={
            CONF_APP_ID: emulator.config.app_id,
            CONF_SERVER_SECRET: emulator.config.server_secret,
            CONF_ENDPOINT: emulator.endpoint,
        },
        subentries_data=subentries_data,
    )


@pytest.fixture
def mock_config_entry(
    emulator: ZegoEmulator, subentries_data: list[dict[str, Any]]
) -> MockConfigEntry:
    """A config entry for the emulator's project."""
    return make_config_entry(emulator, subentries_data)


async def external_task(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    *,
    digital_human_id: str = KIOSK_BEN_ID,
    room_id: str = "kiosk_room",
    stream_id: str = "kiosk_stream",
) -> str:
    """Create a streaming task the way a kiosk's backend would: outside HA's entry."""
    client = ZegoClient(
        app_id=emulator.config.app_id,
        server_secret=emulator.config.server_secret,
        session=async_get_clientsession(hass),
        endpoint=emulator.endpoint,
        rate_limiter=RateLimiter(),
    )
    task_id = await client.create_stream_task(
        StreamTaskSpec(digital_human_id=digital_human_id, room_id=room_id, stream_id=stream_id)
    )
    await emulator.wait_for_task(task_id, TaskStatus.STREAMING)
    return task_id


@pytest.fixture
def platforms() -> list[Platform] | None:
    """Platforms to set up; None keeps the integration's own list."""
    return None


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    platforms: list[Platform] | None,
) -> AsyncIterator[MockConfigEntry]:
    """Set the entry up (optionally with fewer platforms); unload it afterwards."""
    mock_config_entry.add_to_hass(hass)
    target = "custom_components.zego_digital_human.PLATFORMS"
    with patch(target, platforms) if platforms is not None else nullcontext():
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        yield mock_config_entry
        await _unload(hass, mock_config_entry)


async def _unload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    # Unloading before the emulator stops cancels polls and background tasks.
    if entry.state is ConfigEntryState.LOADED:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
async def engine_log(hass: HomeAssistant, tmp_path: Path) -> AsyncIterator[EngineLog]:
    """The test TTS engines, set up before the integration loads (a module may override it)."""
    async with speech_test_engines(hass, str(tmp_path)) as log:
        yield log


@pytest.fixture
async def avatar(
    hass: HomeAssistant, engine_log: EngineLog, mock_config_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """The integration loaded with its avatar, able to speak; unloaded (sockets closed) after."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    yield mock_config_entry
    if mock_config_entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
        await hass.async_block_till_done()

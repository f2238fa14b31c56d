"""The demo without a hass process: its seeded storage, its espeak-ng engine, its blueprints.

The seed data comes from scripts/demo_seed.py, the same module scripts/develop runs, so a
change of the integration's entry format that the demo misses fails here.
"""

from __future__ import annotations

import asyncio
from importlib.util import module_from_spec, spec_from_file_location
import io
import json
import os
from pathlib import Path
import shutil
import sys
from typing import TYPE_CHECKING, Any
import wave

from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import models as blueprint_models
from homeassistant.components.blueprint.schemas import BLUEPRINT_SCHEMA
from homeassistant.config_entries import ConfigEntries, ConfigEntryState
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    mock_integration,
    mock_platform,
)

from custom_components.zego_digital_human.const import DOMAIN
from zego_emulator import DriveStatus, EmulatorConfig, ZegoEmulator

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from types import ModuleType

    from homeassistant.core import HomeAssistant

ROOT = Path(__file__).resolve().parents[2]
BLUEPRINTS = ROOT / "blueprints"
ESPEAK_MISSING = shutil.which("espeak-ng") is None
# scripts/setup installs espeak-ng, so in CI a missing one is a broken set-up: fail, don't skip.
needs_espeak = pytest.mark.skipif(
    ESPEAK_MISSING and not os.environ.get("CI"),
    reason="espeak-ng is not installed (scripts/setup installs it)",
)


def _load(name: str, path: Path) -> ModuleType:
    """Import a file that is not in a package (scripts/, config/custom_components/)."""
    spec = spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


seed = _load("demo_seed", ROOT / "scripts" / "demo_seed.py")
espeak_tts = _load(
    "demo_espeak_tts", ROOT / "config" / "custom_components" / "demo_espeak" / "tts.py"
)


# --- seeded storage ---------------------------------------------------------------------------


def test_seed_is_idempotent_and_keeps_other_entries(tmp_path: Path) -> None:
    """A second start adds nothing; an entry of another integration survives."""
    storage = tmp_path / ".storage" / "core.config_entries"
    storage.parent.mkdir()
    other = {"domain": "sun", "entry_id": "sun1", "subentries": []}
    storage.write_text(
        json.dumps(
            {"version": 1, "minor_version": 5, "key": "core.config_entries"}
            | {"data": {"entries": [other]}}
        )
    )
    assert seed.seed_config_entries(tmp_path, "http://127.0.0.1:9999") is True
    first = storage.read_text()
    assert seed.seed_config_entries(tmp_path, "http://127.0.0.1:1") is False
    assert storage.read_text() == first
    entries = json.loads(first)["data"]["entries"]
    assert [entry["domain"] for entry in entries] == ["sun", DOMAIN]
    assert entries[1]["data"]["endpoint"] == "http://127.0.0.1:9999"
    assert seed.seed_onboarding(tmp_path) is True
    assert seed.seed_onboarding(tmp_path) is False


async def test_seeded_storage_loads_in_home_assistant(
    hass: HomeAssistant, hass_storage: dict[str, Any], tmp_path: Path
) -> None:
    """HA's own loader reads the seeded file: version, entry fields and the avatar subentry."""
    seed.seed_config_entries(tmp_path)
    hass_storage["core.config_entries"] = json.loads(
        (tmp_path / ".storage" / "core.config_entries").read_text()
    )
    manager = ConfigEntries(hass, {})
    await manager.async_initialize()
    [entry] = manager.async_entries(DOMAIN)
    assert entry.entry_id == seed.ENTRY_ID
    assert dict(entry.data) == seed.entry_data()
    [subentry] = entry.subentries.values()
    assert subentry.subentry_type == "avatar"
    assert dict(subentry.data) == seed.avatar_data()
    # Nothing the loader fills in differs from what the seed wrote (a format drift shows here).
    stored = json.loads((tmp_path / ".storage" / "core.config_entries").read_text())
    assert set(entry.as_dict()) == set(stored["data"]["entries"][0])
    assert (stored["version"], stored["minor_version"]) == seed.CONFIG_ENTRIES_VERSION


# --- the demo's espeak-ng engine ------------------------------------------------------------


@needs_espeak
async def test_espeak_provider_returns_a_valid_wav() -> None:
    """Real sizes in the header (espeak-ng streams placeholders), mono 16-bit speech."""
    provider = await espeak_tts.async_get_engine(None, {})
    extension, data = await provider.async_get_tts_audio("Hello there.", "en-US", {})
    assert extension == "wav"
    assert int.from_bytes(data[4:8], "little") == len(data) - 8
    with wave.open(io.BytesIO(data)) as reader:
        assert reader.getnchannels() == 1
        assert reader.getsampwidth() == 2
        frames = reader.readframes(reader.getnframes())
        seconds = reader.getnframes() / reader.getframerate()
    assert len(frames) == len(data) - 44
    assert 0.3 < seconds < 5
    assert max(frames) > 0  # not silence


def test_fix_wav_sizes_rejects_output_without_data() -> None:
    """A truncated synthesizer output is an error, not a silent empty utterance."""
    with pytest.raises(Exception, match="no data chunk"):
        espeak_tts.fix_wav_sizes(b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\x00" * 16)


# --- the demo set up against an in-process emulator ---------------------------------------


@pytest.fixture
async def emulator(socket_enabled: None) -> AsyncIterator[ZegoEmulator]:
    """The emulator with its default (demo) credentials, TLS WebSocket as in the demo."""
    async with ZegoEmulator(EmulatorConfig(port=0, time_scale=0.01)) as emu:
        yield emu


@pytest.fixture
async def demo_entry(
    hass: HomeAssistant, emulator: ZegoEmulator, tmp_path: Path
) -> AsyncIterator[MockConfigEntry]:
    """configuration.yaml's tts and the seeded entry, pointed at the in-process emulator."""
    hass.config.config_dir = str(tmp_path)  # TTS cache and blueprints live here
    mock_integration(hass, MockModule("demo_espeak"))
    mock_platform(hass, "demo_espeak.tts", espeak_tts)
    assert await async_setup_component(hass, "ffmpeg", {})
    assert await async_setup_component(hass, "tts", {"tts": [{"platform": "demo_espeak"}]})
    assert await async_setup_component(hass, "media_source", {})
    item = seed.config_entry(emulator.endpoint)
    entry = MockConfigEntry(
        domain=DOMAIN,
        entry_id=item["entry_id"],
        title=item["title"],
        unique_id=item["unique_id"],
        data=item["data"],
        subentries_data=item["subentries"],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def _one_drive_with_audio(emulator: ZegoEmulator) -> None:
    for _ in range(200):
        if emulator.drives:
            break
        await asyncio.sleep(0.05)
    [drive] = emulator.drives
    ended = await emulator.wait_for_drive(drive.drive_id, status=DriveStatus.ENDED, timeout=30)
    assert ended.bytes_received > 16000  # espeak-ng's speech, not an empty drive
    assert ended.violations == []


@needs_espeak
async def test_demo_speaks_through_espeak(
    hass: HomeAssistant, demo_entry: MockConfigEntry, emulator: ZegoEmulator
) -> None:
    """What the REST example does: speak on the demo avatar with its offline engine."""
    await hass.services.async_call(
        DOMAIN,
        "speak",
        {"entity_id": "media_player.lobby", "message": "Hello from the demo", "wait": True},
        blocking=True,
    )
    await _one_drive_with_audio(emulator)


# --- blueprints -----------------------------------------------------------------------------


BLUEPRINT_FILES = sorted(BLUEPRINTS.rglob("*.yaml"))


def test_blueprints_exist() -> None:
    """The three documented blueprints, in the folders HA imports them into."""
    assert {path.relative_to(BLUEPRINTS).as_posix() for path in BLUEPRINT_FILES} == {
        "automation/zego_digital_human/announce_on_arrival.yaml",
        "automation/zego_digital_human/kiosk_motion_greet.yaml",
        "script/zego_digital_human/read_text_helper.yaml",
    }


@pytest.mark.parametrize("path", BLUEPRINT_FILES, ids=lambda path: path.name)
def test_blueprint_schema(path: Path) -> None:
    """Each file passes HA's blueprint schema; the avatar input is our media players only."""
    domain = path.relative_to(BLUEPRINTS).parts[0]
    schema = AUTOMATION_BLUEPRINT_SCHEMA if domain == "automation" else BLUEPRINT_SCHEMA
    blueprint = blueprint_models.Blueprint(
        load_yaml_dict(path), path=path.name, expected_domain=domain, schema=schema
    )
    assert blueprint.metadata["description"]
    avatar = blueprint.inputs["avatar"]
    # The schema normalizes the selector (domain lists, multiple: False).
    assert avatar["selector"]["entity"]["filter"] == [
        {"integration": DOMAIN, "domain": ["media_player"]}
    ]
    assert avatar["selector"]["entity"]["multiple"] is False
    for name, spec in blueprint.inputs.items():
        assert spec.get("description"), f"{name} has no description"


def _install_blueprints(hass: HomeAssistant) -> None:
    """Copy blueprints/ where HA looks (as scripts/develop does for config/)."""
    shutil.copytree(BLUEPRINTS, Path(hass.config.config_dir) / "blueprints", dirs_exist_ok=True)


@needs_espeak
async def test_read_text_helper_script(
    hass: HomeAssistant, demo_entry: MockConfigEntry, emulator: ZegoEmulator
) -> None:
    """The demo's script (configuration.yaml) reads the helper aloud, then clears it."""
    _install_blueprints(hass)
    assert await async_setup_component(
        hass, "input_text", {"input_text": {"msg": {"initial": "Read me aloud please"}}}
    )
    assert await async_setup_component(
        hass,
        "script",
        {
            "script": {
                "read": {
                    "use_blueprint": {
                        "path": "zego_digital_human/read_text_helper.yaml",
                        "input": {
                            "text_helper": "input_text.msg",
                            "avatar": "media_player.lobby",
                            "clear_after": True,
                        },
                    }
                }
            }
        },
    )
    await hass.services.async_call("script", "read", blocking=True)
    await _one_drive_with_audio(emulator)
    assert hass.states.get("input_text.msg").state == ""  # type: ignore[union-attr]


@needs_espeak
async def test_kiosk_motion_blueprint_greets(
    hass: HomeAssistant, demo_entry: MockConfigEntry, emulator: ZegoEmulator
) -> None:
    """Motion starts the stream and the greeting is spoken."""
    _install_blueprints(hass)
    hass.states.async_set("binary_sensor.kiosk_motion", "off", {"device_class": "motion"})
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": "greet",
                "use_blueprint": {
                    "path": "zego_digital_human/kiosk_motion_greet.yaml",
                    "input": {
                        "motion_sensor": "binary_sensor.kiosk_motion",
                        "avatar": "media_player.lobby",
                        "quiet_period": 0,
                    },
                },
            }
        },
    )
    hass.states.async_set("binary_sensor.kiosk_motion", "on", {"device_class": "motion"})
    await _one_drive_with_audio(emulator)
    assert hass.states.get("sensor.lobby_stream_status").state == "streaming"  # type: ignore[union-attr]


@needs_espeak
async def test_announce_blueprint_renders_the_trigger(
    hass: HomeAssistant, demo_entry: MockConfigEntry, emulator: ZegoEmulator
) -> None:
    """A person coming home is announced with the default (templated) message."""
    _install_blueprints(hass)
    hass.states.async_set("person.ada", "not_home", {"friendly_name": "Ada"})
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": "announce",
                "use_blueprint": {
                    "path": "zego_digital_human/announce_on_arrival.yaml",
                    "input": {"watched": ["person.ada"], "avatar": "media_player.lobby"},
                },
            }
        },
    )
    hass.states.async_set("person.ada", "home", {"friendly_name": "Ada"})
    await _one_drive_with_audio(emulator)

"""translations/en.json, icons.json and services.yaml cover everything the code uses."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import TYPE_CHECKING, Any

from homeassistant.const import Platform
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.helpers.translation import async_get_translations, async_translate_state
from homeassistant.setup import async_setup_component
import pytest
import yaml

from custom_components import zego_digital_human as integration
from custom_components.zego_digital_human import (
    binary_sensor,
    button,
    event,
    sensor,
)
from custom_components.zego_digital_human.const import DOMAIN, OverlapPolicy, StreamMode

from .conftest import MANAGED_SUBENTRY_ID, TRANSLATIONS

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

PACKAGE = Path(integration.__file__).parent
ICONS: dict[str, Any] = json.loads((PACKAGE / "icons.json").read_text(encoding="utf-8"))
# The HA core modules must have every key they raise translated; a message counts as used
# when any module of the package (the speech path included) raises its key.
CORE_MODULES = [
    path
    for path in PACKAGE.glob("*.py")
    if path.stem not in {"sensor", "binary_sensor", "button", "event"}
]
ALL_MODULES = [path for path in PACKAGE.rglob("*.py") if "client" not in path.parts]
_KEY_IN_CALL = re.compile(
    r'(?:ha_error\(|speech_error\(|validation_error\(|translation_key=)\s*"(\w+)"'
)
_KEY_IN_TABLE = re.compile(r'\(Zego\w+Error, "(\w+)"\)')
# Every language the integration ships; a new translations/<language>.json is checked too.
LANGUAGE_FILES = sorted((PACKAGE / "translations").glob("*.json"))
LANGUAGES = [path.stem for path in LANGUAGE_FILES]
_PLACEHOLDER = re.compile(r"{(\w+)}")


def _keys(paths: list[Path]) -> set[str]:
    keys: set[str] = set()
    for path in paths:
        text = path.read_text(encoding="utf-8")
        keys.update(_KEY_IN_CALL.findall(text))
        keys.update(_KEY_IN_TABLE.findall(text))
    return keys


def test_exception_keys_translated() -> None:
    """Every translation key raised by the core modules has a message; none is left over."""
    keys = _keys(CORE_MODULES)
    issues = set(TRANSLATIONS["issues"])
    missing = {key for key in keys if key not in TRANSLATIONS["exceptions"] and key not in issues}
    assert not missing
    assert keys >= {"stream_start_timeout", "authentication_error", "not_managed"}
    unused = set(TRANSLATIONS["exceptions"]) - _keys(ALL_MODULES)
    assert not unused


def test_entities_translated_and_iconed() -> None:
    """Each entity description has a name, its enum states, and an icon where it needs one."""
    for platform, descriptions in (
        ("sensor", sensor.DESCRIPTIONS),
        ("binary_sensor", binary_sensor.DESCRIPTIONS),
        ("button", button.DESCRIPTIONS),
        ("event", (event.DESCRIPTION,)),
    ):
        for description in descriptions:
            key = description.translation_key
            assert key is not None
            strings = TRANSLATIONS["entity"][platform][key]
            assert strings["name"]
            # A device class brings its own icon (except enum, which has none).
            if getattr(description, "device_class", None) in (None, "enum"):
                assert key in ICONS["entity"][platform], key
            options = getattr(description, "options", None) or []
            for option in options:
                assert option in strings["state"], (key, option)
                assert option in ICONS["entity"][platform][key]["state"], (key, option)
            for event_type in getattr(description, "event_types", None) or []:
                assert event_type in strings["state_attributes"]["event_type"]["state"]
    for platform, entries in ICONS["entity"].items():
        assert set(entries) <= set(TRANSLATIONS["entity"][platform]), platform


def test_selectors_translated() -> None:
    """The options of translated selectors have their labels."""
    assert set(TRANSLATIONS["selector"]["stream_mode"]["options"]) == {m.value for m in StreamMode}
    assert set(TRANSLATIONS["selector"]["overlap_policy"]["options"]) == {
        p.value for p in OverlapPolicy
    }


async def test_services_described(hass: HomeAssistant) -> None:
    """services.yaml parses, and each action has a name, a description and an icon."""
    services = yaml.safe_load((PACKAGE / "services.yaml").read_text(encoding="utf-8"))
    assert set(services) == {"start_stream", "stop_stream", "interrupt", "speak", "play_audio"}
    assert set(TRANSLATIONS["services"]) == set(services)
    assert set(ICONS["services"]) == set(services)
    for service, spec in services.items():
        assert TRANSLATIONS["services"][service]["name"]
        assert TRANSLATIONS["services"][service]["description"]
        assert ICONS["services"][service]["service"].startswith("mdi:")
        fields = (spec or {}).get("fields", {})
        assert set(TRANSLATIONS["services"][service].get("fields", {})) == set(fields)
        for field, field_spec in fields.items():
            strings = TRANSLATIONS["services"][service]["fields"][field]
            assert strings["name"]
            assert strings["description"]
            selector = field_spec["selector"]
            if "select" in selector:
                # Translated options must exist for every option the selector offers.
                options = TRANSLATIONS["selector"][selector["select"]["translation_key"]]
                assert set(options["options"]) == set(selector["select"]["options"])

    assert await async_setup_component(hass, DOMAIN, {})
    descriptions = await async_get_all_descriptions(hass)
    assert set(descriptions[DOMAIN]) == set(services)
    assert descriptions[DOMAIN]["start_stream"]["target"] == {"entity": [{"integration": DOMAIN}]}


def _strings(language: str) -> dict[str, Any]:
    strings: dict[str, Any] = json.loads(
        (PACKAGE / "translations" / f"{language}.json").read_text(encoding="utf-8")
    )
    return strings


def _flatten(node: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Dotted key -> text, the way HA flattens a translations file."""
    flat: dict[str, str] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            assert isinstance(value, str), f"{prefix}{key} is not a string"
            flat[f"{prefix}{key}"] = value
    return flat


def test_languages_shipped() -> None:
    """English and Simplified Chinese (ZEGO's home market) are both shipped."""
    assert {"en", "zh-Hans"} <= set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_matches_english(language: str) -> None:
    """Each language has exactly English's keys, the same placeholders and no empty text."""
    english = _flatten(TRANSLATIONS)
    translated = _flatten(_strings(language))
    assert not sorted(set(english) - set(translated)), f"missing in {language}.json"
    assert not sorted(set(translated) - set(english)), f"not in en.json, left in {language}.json"
    for key, text in translated.items():
        assert text.strip(), f"{language}: {key} is empty"
        assert set(_PLACEHOLDER.findall(text)) == set(_PLACEHOLDER.findall(english[key])), (
            f"{language}: placeholders of {key}"
        )
        if language != "en" and text == english[key]:
            # Only identifiers users copy from ZEGO's console (AppID, TaskID...) stay English.
            assert " " not in text, f"{language}: {key} is still English"


@pytest.mark.parametrize("language", LANGUAGES)
async def test_home_assistant_loads_language(hass: HomeAssistant, language: str) -> None:
    """HA's translation loader returns every string of the file, in that language."""
    strings = _strings(language)
    for category, section in strings.items():
        loaded = await async_get_translations(hass, language, category, {DOMAIN})
        expected = {
            f"component.{DOMAIN}.{category}.{key}": text for key, text in _flatten(section).items()
        }
        assert loaded == expected, category


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("platforms", [[Platform.SENSOR]])
@pytest.mark.usefixtures("hass_language")
async def test_entities_named_in_language(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    language: str,
) -> None:
    """With HA set to a language, the avatar's entities are named and their states shown in it."""
    strings = _strings(language)["entity"]["sensor"]
    entries = er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    (entry,) = (
        entry
        for entry in entries
        if entry.translation_key == "avatar_state"
        and entry.config_subentry_id == MANAGED_SUBENTRY_ID
    )
    state = hass.states.get(entry.entity_id)
    assert state is not None
    assert state.name == f"Lobby {strings['avatar_state']['name']}"
    shown = async_translate_state(hass, state.state, "sensor", DOMAIN, "avatar_state", None)
    assert shown == strings["avatar_state"]["state"][state.state]


@pytest.fixture
def hass_language(hass: HomeAssistant, language: str) -> None:
    """HA's configured language (set before the entry is set up, as a user's would be)."""
    hass.config.language = language

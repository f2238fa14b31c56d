"""translations/en.json, icons.json and services.yaml cover everything the code uses."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import TYPE_CHECKING, Any

from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.setup import async_setup_component
import yaml

from custom_components import zego_digital_human as integration
from custom_components.zego_digital_human import (
    binary_sensor,
    button,
    event,
    select,
    sensor,
)
from custom_components.zego_digital_human.const import DOMAIN, OverlapPolicy, StreamMode

from .conftest import TRANSLATIONS

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

PACKAGE = Path(integration.__file__).parent
ICONS: dict[str, Any] = json.loads((PACKAGE / "icons.json").read_text(encoding="utf-8"))
# The HA core modules must have every key they raise translated; a message counts as used
# when any module of the package (the speech path included) raises its key.
CORE_MODULES = [
    path
    for path in PACKAGE.glob("*.py")
    if path.stem not in {"sensor", "binary_sensor", "button", "event", "select"}
]
ALL_MODULES = [path for path in PACKAGE.rglob("*.py") if "client" not in path.parts]
_KEY_IN_CALL = re.compile(
    r'(?:ha_error\(|speech_error\(|validation_error\(|translation_key=)\s*"(\w+)"'
)
_KEY_IN_TABLE = re.compile(r'\(Zego\w+Error, "(\w+)"\)')


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
        ("select", (select.AGENT_DESCRIPTION, select.MODE_DESCRIPTION)),
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

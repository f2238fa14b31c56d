"""The account flow: user, reauth, reconfigure; every error shows the form and recovers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.zego_digital_human.const import (
    CONF_APP_ID,
    CONF_ENDPOINT,
    CONF_SERVER_SECRET,
    DOMAIN,
)
from zego_emulator import EmulatorConfig, Fault, ZegoEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator
    from unittest.mock import MagicMock

    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

DEFAULT_ENDPOINT = "https://aigc-digitalhuman-api.zegotech.cn"


@pytest.fixture
def mock_setup_entry() -> Iterator[MagicMock]:
    """Keep created entries from setting up: these tests are about the flow."""
    with patch("custom_components.zego_digital_human.async_setup_entry", return_value=True) as mock:
        yield mock


def _user_input(emulator: ZegoEmulator, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        CONF_APP_ID: str(emulator.config.app_id),
        CONF_SERVER_SECRET: emulator.config.server_secret,
        CONF_ENDPOINT: emulator.endpoint,
    }
    data.update(overrides)
    return data


async def _start_user_flow(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return dict(result)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_creates_entry(hass: HomeAssistant, emulator: ZegoEmulator) -> None:
    """Valid credentials (checked with a real signed call) create the entry."""
    result = await _start_user_flow(hass)
    # The endpoint defaults to ZEGO's public host.
    schema_defaults = {
        str(key): key.default() for key in result["data_schema"].schema if callable(key.default)
    }
    assert schema_defaults[CONF_ENDPOINT] == DEFAULT_ENDPOINT

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        _user_input(emulator, **{CONF_ENDPOINT: emulator.endpoint + "/"}),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"ZEGO {emulator.config.app_id}"
    assert result["data"] == {
        CONF_APP_ID: emulator.config.app_id,
        CONF_SERVER_SECRET: emulator.config.server_secret,
        CONF_ENDPOINT: emulator.endpoint,
    }
    assert result["result"].unique_id == str(emulator.config.app_id)
    assert result["result"].options == {}
    assert [r.action for r in emulator.requests] == ["QueryDigitalHumanStreamTasks"]


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({CONF_APP_ID: "abc"}, {CONF_APP_ID: "invalid_app_id"}),
        ({CONF_APP_ID: "0"}, {CONF_APP_ID: "invalid_app_id"}),
        ({CONF_APP_ID: "-5"}, {CONF_APP_ID: "invalid_app_id"}),
        ({CONF_APP_ID: "12.5"}, {CONF_APP_ID: "invalid_app_id"}),
        ({CONF_APP_ID: "4294967296"}, {CONF_APP_ID: "invalid_app_id"}),
        ({CONF_SERVER_SECRET: ""}, {CONF_SERVER_SECRET: "secret_required"}),
        ({CONF_SERVER_SECRET: "   "}, {CONF_SERVER_SECRET: "secret_required"}),
        ({CONF_ENDPOINT: "ftp://example.com"}, {CONF_ENDPOINT: "invalid_endpoint"}),
        ({CONF_ENDPOINT: "not a url"}, {CONF_ENDPOINT: "invalid_endpoint"}),
        ({CONF_ENDPOINT: "https://"}, {CONF_ENDPOINT: "invalid_endpoint"}),
        ({CONF_ENDPOINT: "http://[::1"}, {CONF_ENDPOINT: "invalid_endpoint"}),
        ({CONF_ENDPOINT: "https://host/?Action=x"}, {CONF_ENDPOINT: "invalid_endpoint"}),
        (
            {CONF_APP_ID: "x", CONF_SERVER_SECRET: "", CONF_ENDPOINT: "mailto:a@b"},
            {
                CONF_APP_ID: "invalid_app_id",
                CONF_SERVER_SECRET: "secret_required",
                CONF_ENDPOINT: "invalid_endpoint",
            },
        ),
    ],
)
async def test_user_flow_bad_input_recovers(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    overrides: dict[str, str],
    errors: dict[str, str],
) -> None:
    """Each invalid field gets its own error (no request is made), then the flow recovers."""
    result = await _start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(emulator, **overrides)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == errors
    assert emulator.requests == []
    # The secret is never offered back to the browser.
    suggested = {
        str(key): (key.description or {}).get("suggested_value")
        for key in result["data_schema"].schema
    }
    assert suggested[CONF_SERVER_SECRET] is None

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(emulator)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_invalid_auth(hass: HomeAssistant, emulator: ZegoEmulator) -> None:
    """A ServerSecret ZEGO rejects is an error on the secret field."""
    result = await _start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(emulator, **{CONF_SERVER_SECRET: "0" * 32})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SERVER_SECRET: "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(emulator)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_unknown_app_id(hass: HomeAssistant, emulator: ZegoEmulator) -> None:
    """An AppId ZEGO does not know is an error on the AppId field."""
    result = await _start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(emulator, **{CONF_APP_ID: "42"})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_APP_ID: "unknown_app_id"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(emulator)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(port=0, time_scale=0.01, clock_offset=3600.0)]
)
async def test_user_flow_clock_skew(hass: HomeAssistant, emulator: ZegoEmulator) -> None:
    """A clock ZEGO finds too far off says so, with the measured amount."""
    result = await _start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(emulator)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "clock_skew"}
    assert abs(int(result["description_placeholders"]["skew"]) - 3600) <= 5

    emulator.config.clock_offset = 0.0
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(emulator)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_clock_skew_unknown(hass: HomeAssistant, emulator: ZegoEmulator) -> None:
    """Without a Date header to measure against, the skew error says only that it is off."""
    emulator.faults.add(Fault.zego(100000004, "signature expired"))
    result = await _start_user_flow(hass)
    with patch(
        "custom_components.zego_digital_human.client.rest.parsedate_to_datetime",
        side_effect=ValueError,
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _user_input(emulator)
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "clock_skew_unknown"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(emulator)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    ("fault", "errors"),
    [
        (Fault.http(500, count=None), {CONF_ENDPOINT: "cannot_connect"}),
        (Fault.http(404, count=None), {CONF_ENDPOINT: "cannot_connect"}),
        (Fault.zego(100000017, "service not enabled"), {"base": "service_not_enabled"}),
        (Fault.zego(400000002, "service not enabled"), {"base": "service_not_enabled"}),
        (Fault.zego(123456789, "something new"), {"base": "unknown"}),
    ],
)
async def test_user_flow_api_errors(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    fault: Fault,
    errors: dict[str, str],
) -> None:
    """What ZEGO answers maps to a form error; clearing the cause recovers."""
    emulator.faults.add(fault)
    result = await _start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(emulator)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors

    emulator.faults.clear()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(emulator)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_cannot_connect(hass: HomeAssistant, emulator: ZegoEmulator) -> None:
    """Nothing listening at the endpoint is cannot_connect on the endpoint field."""
    result = await _start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(emulator, **{CONF_ENDPOINT: "http://127.0.0.1:9"})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_ENDPOINT: "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(emulator)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_unexpected_error(
    hass: HomeAssistant, emulator: ZegoEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug-shaped failure is 'unknown' and logged with its traceback (never the secret)."""
    result = await _start_user_flow(hass)
    with patch(
        "custom_components.zego_digital_human.client.ZegoClient.verify_credentials",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _user_input(emulator)
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
    assert "Traceback" in caplog.text
    assert "boom" in caplog.text
    assert emulator.config.server_secret not in caplog.text

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(emulator)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_already_configured(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """A second entry for the same AppId aborts before any request."""
    mock_config_entry.add_to_hass(hass)
    result = await _start_user_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(emulator)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert emulator.requests == []


async def test_reauth_flow(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """A rejected secret fails setup, starts reauth; a good secret is stored and reloads."""
    new_secret = emulator.revoke_credentials()
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR

    flows = hass.config_entries.flow.async_progress()
    assert len(flows) == 1
    assert flows[0]["step_id"] == "reauth_confirm"
    flow_id = flows[0]["flow_id"]

    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_SERVER_SECRET: "   "})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SERVER_SECRET: "secret_required"}

    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_SERVER_SECRET: "f" * 32})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SERVER_SECRET: "invalid_auth"}
    assert result["description_placeholders"]["app_id"] == str(emulator.config.app_id)

    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_SERVER_SECRET: new_secret}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_SERVER_SECRET] == new_secret
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_reauth_flow_connection_error_recovers(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """Reauth shows the same per-field errors as the user step and recovers."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"

    emulator.faults.add(Fault.http(503, count=None))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERVER_SECRET: emulator.config.server_secret}
    )
    assert result["type"] is FlowResultType.FORM
    # The endpoint is not on this form: the error goes to the form as a whole.
    assert result["errors"] == {"base": "cannot_connect"}

    emulator.faults.clear()
    emulator.faults.add(Fault.zego(100000010, "AppId not found"))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERVER_SECRET: emulator.config.server_secret}
    )
    assert result["errors"] == {"base": "unknown_app_id"}

    emulator.faults.clear()
    with patch("custom_components.zego_digital_human.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_SERVER_SECRET: emulator.config.server_secret}
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"


async def test_reconfigure_flow(
    hass: HomeAssistant, emulator: ZegoEmulator, mock_config_entry: MockConfigEntry
) -> None:
    """Reconfigure changes endpoint and secret; a blank secret keeps the current one."""
    mock_config_entry.add_to_hass(hass)
    old_secret = emulator.config.server_secret
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENDPOINT: "gopher://x"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_ENDPOINT: "invalid_endpoint"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENDPOINT: "http://127.0.0.1:9"}
    )
    assert result["errors"] == {CONF_ENDPOINT: "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_ENDPOINT: emulator.endpoint, CONF_SERVER_SECRET: "e" * 32},
    )
    assert result["errors"] == {CONF_SERVER_SECRET: "invalid_auth"}

    with patch("custom_components.zego_digital_human.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_ENDPOINT: emulator.endpoint + "/", CONF_SERVER_SECRET: ""}
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_SERVER_SECRET] == old_secret
    assert mock_config_entry.data[CONF_ENDPOINT] == emulator.endpoint

    new_secret = emulator.revoke_credentials()
    result = await mock_config_entry.start_reconfigure_flow(hass)
    with patch("custom_components.zego_digital_human.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_ENDPOINT: emulator.endpoint, CONF_SERVER_SECRET: new_secret}
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_SERVER_SECRET] == new_secret


async def test_reconfigure_loaded_entry_reloads(
    hass: HomeAssistant, emulator: ZegoEmulator, init_integration: MockConfigEntry
) -> None:
    """A loaded entry picks up the new secret through a reload."""
    new_secret = emulator.revoke_credentials()
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENDPOINT: emulator.endpoint, CONF_SERVER_SECRET: new_secret}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert init_integration.state is ConfigEntryState.LOADED
    assert init_integration.runtime_data.client.app_id == emulator.config.app_id
    # The reloaded entry works with the new secret.
    await init_integration.runtime_data.client.verify_credentials()

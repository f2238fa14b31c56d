"""Config flow: the ZEGO project (user, reauth, reconfigure) and its avatars (subentries)."""

from __future__ import annotations

from collections.abc import Mapping
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    ObjectSelector,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .client import (
    DEFAULT_ENDPOINT,
    StreamTaskStatus,
    TokenVariant,
    ZegoAuthenticationError,
    ZegoClient,
    ZegoClockSkewError,
    ZegoConnectionError,
    ZegoDigitalHumanNotFoundError,
    ZegoError,
    ZegoPermissionError,
    ZegoResponseError,
    ZegoTaskEndedError,
    ZegoTaskNotFoundError,
)
from .const import (
    APP_ID_MAX,
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
    CONF_RTC_SERVER,
    CONF_SAMPLE_RATE,
    CONF_SERVER_SECRET,
    CONF_STREAM_ID,
    CONF_STREAM_MODE,
    CONF_TASK_ID,
    CONF_TOKEN_VARIANT,
    CONF_TTL,
    CONF_TTS_ENGINE,
    CONF_VOICE_OPTIONS,
    DEFAULT_BACKGROUND_COLOR,
    DEFAULT_MAX_IDLE_TIME,
    DEFAULT_SAMPLE_RATE,
    DEFAULT_TTL,
    DOMAIN,
    ID_MAX_BYTES,
    LOGGER,
    MAX_IDLE_TIME_MAX,
    MAX_IDLE_TIME_MIN,
    SAMPLE_RATES,
    SUBENTRY_TYPE_AVATAR,
    TTL_MAX,
    TTL_MIN,
    OverlapPolicy,
    StreamMode,
)
from .helpers import create_client

# ZEGO answers these codes for an AppId it does not know (zego-api.md §4.1).
_UNKNOWN_APP_ID_CODES = frozenset({100000010, 100000011})
_STREAM_ID_RE = re.compile(r"^[0-9A-Za-z_-]+$")
# ZEGO documents #RRGGBB; older docs and samples use #AARRGGBB (transparency).
_COLOR_RE = re.compile(r"^#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$")

_MANAGED_KEYS = (
    CONF_ROOM_ID,
    CONF_STREAM_ID,
    CONF_TTL,
    CONF_MAX_IDLE_TIME,
    CONF_BACKGROUND_COLOR,
    CONF_KEEP_ALIVE,
)

_SECRET_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
_URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))

USER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_APP_ID): TextSelector(),
        vol.Required(CONF_SERVER_SECRET): _SECRET_SELECTOR,
        vol.Required(CONF_ENDPOINT, default=DEFAULT_ENDPOINT): _URL_SELECTOR,
    }
)
REAUTH_SCHEMA = vol.Schema({vol.Required(CONF_SERVER_SECRET): _SECRET_SELECTOR})
RECONFIGURE_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_ENDPOINT): _URL_SELECTOR,
        # Blank keeps the current secret: it is never sent back to the browser.
        vol.Optional(CONF_SERVER_SECRET): _SECRET_SELECTOR,
    }
)


# --- field parsing ------------------------------------------------------------------------


def parse_app_id(value: Any) -> int | None:
    """Return the AppId as an int, or None when it is not a positive uint32."""
    text = str(value).strip()
    if not text.isdecimal() or not text.isascii():
        return None
    app_id = int(text)
    return app_id if 0 < app_id <= APP_ID_MAX else None


def parse_endpoint(value: Any) -> str | None:
    """Return the endpoint without a trailing slash, or None unless it is an http(s) URL."""
    text = str(value).strip().rstrip("/")
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.query or parts.fragment:
        return None
    return text


def _int_in_range(value: float, low: int, high: int) -> int | None:
    """Return value as an int when it is a whole number in [low, high].

    The number selector has already made it a float.
    """
    if not float(value).is_integer() or not low <= value <= high:
        return None
    return int(value)


def _fits_bytes(value: str) -> bool:
    return 0 < len(value.encode()) <= ID_MAX_BYTES


async def async_validate_account(
    hass: HomeAssistant, app_id: int, server_secret: str, endpoint: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Make one read-only signed call; return (errors, description placeholders)."""
    try:
        client = create_client(hass, app_id=app_id, server_secret=server_secret, endpoint=endpoint)
        await client.verify_credentials()
    except ZegoError as err:
        field, key, placeholders = _account_error(err)
        return {field: key}, placeholders
    except Exception:  # noqa: BLE001 - any failure must end in a form error, not a crash
        LOGGER.exception("Unexpected error while checking the credentials")
        return {"base": "unknown"}, {}
    return {}, {}


def _account_error(err: ZegoError) -> tuple[str, str, dict[str, str]]:
    """Return (field, error key, placeholders) for a failed credential check."""
    field, key, placeholders = "base", "unknown", {}
    if isinstance(err, ZegoAuthenticationError):
        if err.code in _UNKNOWN_APP_ID_CODES:
            field, key = CONF_APP_ID, "unknown_app_id"
        else:
            field, key = CONF_SERVER_SECRET, "invalid_auth"
    elif isinstance(err, ZegoClockSkewError):
        if err.skew_seconds is None:
            key = "clock_skew_unknown"
        else:
            key, placeholders = "clock_skew", {"skew": str(round(abs(err.skew_seconds)))}
    elif isinstance(err, ZegoPermissionError):
        key = "service_not_enabled"
    elif isinstance(err, ZegoConnectionError) or (
        # Something answered, but not ZEGO's API: most likely a wrong endpoint.
        isinstance(err, ZegoResponseError)
        and err.http_status is not None
        and not 200 <= err.http_status < 300
    ):
        field, key = CONF_ENDPOINT, "cannot_connect"
    else:
        # Called from inside the except block: the traceback goes to the log.
        LOGGER.exception("ZEGO refused the credential check unexpectedly")
    return field, key, placeholders


def _on_form(errors: dict[str, str], schema: vol.Schema) -> dict[str, str]:
    """Move errors of fields the form does not show (e.g. the fixed AppId) to base."""
    fields = {str(key) for key in schema.schema}
    return {(field if field in fields else "base"): key for field, key in errors.items()}


def _without_secret(user_input: Mapping[str, Any] | None) -> dict[str, Any]:
    # The secret is never echoed back into a form.
    return {k: v for k, v in (user_input or {}).items() if k != CONF_SERVER_SECRET}


# --- the account ---------------------------------------------------------------------------


class ZegoConfigFlow(ConfigFlow, domain=DOMAIN):
    """One config entry per ZEGO project (AppId)."""

    VERSION = 1
    MINOR_VERSION = 1

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Avatars are subentries of the project."""
        return {SUBENTRY_TYPE_AVATAR: AvatarSubentryFlow}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> PlayerOptionsFlow:
        """The account's advanced player settings."""
        return PlayerOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the AppId, ServerSecret and endpoint; check them with ZEGO."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            app_id = parse_app_id(user_input[CONF_APP_ID])
            secret = str(user_input[CONF_SERVER_SECRET]).strip()
            endpoint = parse_endpoint(user_input[CONF_ENDPOINT])
            if app_id is None:
                errors[CONF_APP_ID] = "invalid_app_id"
            if not secret:
                errors[CONF_SERVER_SECRET] = "secret_required"
            if endpoint is None:
                errors[CONF_ENDPOINT] = "invalid_endpoint"
            if app_id is not None and secret and endpoint is not None:
                await self.async_set_unique_id(str(app_id))
                self._abort_if_unique_id_configured()
                errors, placeholders = await async_validate_account(
                    self.hass, app_id, secret, endpoint
                )
                if not errors:
                    return self.async_create_entry(
                        title=f"ZEGO {app_id}",
                        data={
                            CONF_APP_ID: app_id,
                            CONF_SERVER_SECRET: secret,
                            CONF_ENDPOINT: endpoint,
                        },
                    )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                USER_SCHEMA, _without_secret(user_input)
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """ZEGO rejected the credentials: ask for the ServerSecret again."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Check the new ServerSecret and store it."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"app_id": str(entry.data[CONF_APP_ID])}
        if user_input is not None:
            secret = str(user_input[CONF_SERVER_SECRET]).strip()
            if not secret:
                errors[CONF_SERVER_SECRET] = "secret_required"
            else:
                errors, extra = await async_validate_account(
                    self.hass, int(entry.data[CONF_APP_ID]), secret, entry.data[CONF_ENDPOINT]
                )
                errors = _on_form(errors, REAUTH_SCHEMA)
                placeholders.update(extra)
                if not errors:
                    return self._async_update_and_abort(
                        entry, {CONF_SERVER_SECRET: secret}, "reauth_successful"
                    )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=REAUTH_SCHEMA,
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the endpoint and/or the ServerSecret."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"app_id": str(entry.data[CONF_APP_ID])}
        if user_input is not None:
            endpoint = parse_endpoint(user_input[CONF_ENDPOINT])
            secret = str(user_input.get(CONF_SERVER_SECRET) or "").strip() or str(
                entry.data[CONF_SERVER_SECRET]
            )
            if endpoint is None:
                errors[CONF_ENDPOINT] = "invalid_endpoint"
            else:
                errors, extra = await async_validate_account(
                    self.hass, int(entry.data[CONF_APP_ID]), secret, endpoint
                )
                errors = _on_form(errors, RECONFIGURE_SCHEMA)
                placeholders.update(extra)
                if not errors:
                    return self._async_update_and_abort(
                        entry,
                        {CONF_ENDPOINT: endpoint, CONF_SERVER_SECRET: secret},
                        "reconfigure_successful",
                    )
        suggested = _without_secret(user_input) or {CONF_ENDPOINT: entry.data[CONF_ENDPOINT]}
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(RECONFIGURE_SCHEMA, suggested),
            errors=errors,
            description_placeholders=placeholders,
        )

    @callback
    def _async_update_and_abort(
        self, entry: ConfigEntry, updates: Mapping[str, Any], reason: str
    ) -> ConfigFlowResult:
        """Store the new data and reload the entry.

        Not async_update_reload_and_abort: combined with the entry's update listener it is
        reported from HA 2026.6 on. The listener reloads a loaded entry whose data changed;
        an entry that failed to set up has no listener, so it is reloaded here.
        """
        changed = self.hass.config_entries.async_update_entry(entry, data={**entry.data, **updates})
        if not changed or entry.state is not ConfigEntryState.LOADED:
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_abort(reason=reason)


# --- player options ------------------------------------------------------------------------


def parse_rtc_server(value: Any) -> str | None:
    """Return a ws(s) URL, "" for none, or None when it is not one."""
    text = str(value or "").strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    return text if parts.scheme in ("ws", "wss") and parts.hostname else None


PLAYER_OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_TOKEN_VARIANT, default=TokenVariant.GCM.value): SelectSelector(
            SelectSelectorConfig(
                options=[variant.value for variant in TokenVariant],
                translation_key=CONF_TOKEN_VARIANT,
                mode=SelectSelectorMode.LIST,
            )
        ),
        vol.Optional(CONF_RTC_SERVER): _URL_SELECTOR,
    }
)


class PlayerOptionsFlow(OptionsFlow):
    """How player tokens are made and where players connect (the dashboard card).

    Saving reloads the entry through its update listener.
    """

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Token encryption and an optional RTC server override."""
        errors: dict[str, str] = {}
        if user_input is not None:
            server = parse_rtc_server(user_input.get(CONF_RTC_SERVER))
            if server is None:
                errors[CONF_RTC_SERVER] = "invalid_rtc_server"
            else:
                options: dict[str, Any] = {
                    CONF_TOKEN_VARIANT: TokenVariant(user_input[CONF_TOKEN_VARIANT]).value
                }
                if server:
                    options[CONF_RTC_SERVER] = server
                return self.async_create_entry(data=options)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                PLAYER_OPTIONS_SCHEMA, user_input or self.config_entry.options
            ),
            errors=errors,
            description_placeholders={"app_id": str(self.config_entry.data[CONF_APP_ID])},
        )


# --- avatars -------------------------------------------------------------------------------


class AvatarSubentryFlow(ConfigSubentryFlow):
    """Add or reconfigure an avatar: identity and stream mode, stream settings, speech."""

    def __init__(self) -> None:
        """Start with no data; the digital humans are fetched on first show."""
        self._data: dict[str, Any] = {}
        self._humans: dict[str, str] | None = None

    @property
    def _is_reconfigure(self) -> bool:
        return self.source == SOURCE_RECONFIGURE

    def _client(self) -> ZegoClient:
        entry: ConfigEntry = self._get_entry()
        client: ZegoClient = entry.runtime_data.client
        return client

    def _other_avatars(self) -> list[Mapping[str, Any]]:
        """Return the data of the entry's other avatars (for uniqueness checks)."""
        own = self._reconfigure_subentry_id if self._is_reconfigure else None
        return [
            subentry.data
            for subentry_id, subentry in self._get_entry().subentries.items()
            if subentry.subentry_type == SUBENTRY_TYPE_AVATAR and subentry_id != own
        ]

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add an avatar: name, digital human, stream mode."""
        return await self._async_step_identity("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change an avatar; every step starts from its current settings."""
        if not self._data:
            self._data = dict(self._get_reconfigure_subentry().data)
        return await self._async_step_identity("reconfigure", user_input)

    async def _async_step_identity(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        if self._get_entry().state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        client = self._client()
        if self._humans is None:
            try:
                humans = await client.get_all_digital_humans()
            except ZegoAuthenticationError:
                return self.async_abort(reason="invalid_auth")
            except ZegoError:
                return self.async_abort(reason="cannot_connect")
            self._humans = {
                human.digital_human_id: human.name or human.digital_human_id for human in humans
            }
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_check_identity(client, self._humans, user_input)
            if not errors:
                self._data.update(
                    {
                        CONF_NAME: str(user_input[CONF_NAME]).strip(),
                        CONF_DIGITAL_HUMAN_ID: str(user_input[CONF_DIGITAL_HUMAN_ID]).strip(),
                        CONF_STREAM_MODE: user_input[CONF_STREAM_MODE],
                    }
                )
                if user_input[CONF_STREAM_MODE] == StreamMode.MANAGED:
                    return await self.async_step_managed()
                return await self.async_step_attached()
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME): TextSelector(),
                vol.Required(CONF_DIGITAL_HUMAN_ID): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=human_id, label=name)
                            for human_id, name in self._humans.items()
                        ],
                        custom_value=True,
                        sort=True,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Required(CONF_STREAM_MODE, default=StreamMode.MANAGED.value): SelectSelector(
                    SelectSelectorConfig(
                        options=[mode.value for mode in StreamMode],
                        translation_key=CONF_STREAM_MODE,
                        mode=SelectSelectorMode.LIST,
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, user_input or self._data),
            errors=errors,
        )

    @staticmethod
    async def _async_check_identity(
        client: ZegoClient, humans: dict[str, str], user_input: Mapping[str, Any]
    ) -> dict[str, str]:
        """Return the field errors of the identity step (humans learns typed-in ids)."""
        errors: dict[str, str] = {}
        if not str(user_input[CONF_NAME]).strip():
            errors[CONF_NAME] = "name_required"
        human_id = str(user_input[CONF_DIGITAL_HUMAN_ID]).strip()
        if not human_id:
            errors[CONF_DIGITAL_HUMAN_ID] = "unknown_digital_human"
        elif human_id not in humans:
            # Typed in rather than picked: ask ZEGO whether it exists.
            try:
                human = await client.get_digital_human_info(human_id)
            except ZegoDigitalHumanNotFoundError:
                errors[CONF_DIGITAL_HUMAN_ID] = "unknown_digital_human"
            except ZegoError:
                errors["base"] = "cannot_connect"
            else:
                humans[human.digital_human_id] = human.name or human_id
        return errors

    async def async_step_managed(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Settings of a stream task that HA creates."""
        errors: dict[str, str] = {}
        if user_input is not None:
            values = self._parse_managed(user_input, errors)
            if not errors:
                self._data.update(values)
                self._data.pop(CONF_TASK_ID, None)
                return await self.async_step_speech()
        schema = vol.Schema(
            {
                vol.Required(CONF_ROOM_ID): TextSelector(),
                vol.Required(CONF_STREAM_ID): TextSelector(),
                vol.Required(CONF_TTL): _seconds_selector(),
                vol.Required(CONF_MAX_IDLE_TIME): _seconds_selector(),
                vol.Required(CONF_BACKGROUND_COLOR): TextSelector(),
                vol.Required(CONF_KEEP_ALIVE): BooleanSelector(),
            }
        )
        return self.async_show_form(
            step_id="managed",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or self._managed_defaults()
            ),
            errors=errors,
        )

    def _managed_defaults(self) -> dict[str, Any]:
        # Generated once per flow, so a re-shown form keeps offering the same ids.
        token = secrets.token_hex(4)
        return {
            CONF_ROOM_ID: self._data.get(CONF_ROOM_ID) or f"ha_room_{token}",
            CONF_STREAM_ID: self._data.get(CONF_STREAM_ID) or f"ha_avatar_{token}",
            CONF_TTL: self._data.get(CONF_TTL, DEFAULT_TTL),
            CONF_MAX_IDLE_TIME: self._data.get(CONF_MAX_IDLE_TIME, DEFAULT_MAX_IDLE_TIME),
            CONF_BACKGROUND_COLOR: self._data.get(CONF_BACKGROUND_COLOR, DEFAULT_BACKGROUND_COLOR),
            CONF_KEEP_ALIVE: self._data.get(CONF_KEEP_ALIVE, False),
        }

    def _parse_managed(
        self, user_input: Mapping[str, Any], errors: dict[str, str]
    ) -> dict[str, Any]:
        room_id = str(user_input[CONF_ROOM_ID]).strip()
        stream_id = str(user_input[CONF_STREAM_ID]).strip()
        ttl = _int_in_range(user_input[CONF_TTL], TTL_MIN, TTL_MAX)
        max_idle = _int_in_range(
            user_input[CONF_MAX_IDLE_TIME], MAX_IDLE_TIME_MIN, MAX_IDLE_TIME_MAX
        )
        color = str(user_input[CONF_BACKGROUND_COLOR]).strip()
        if not _fits_bytes(room_id):
            errors[CONF_ROOM_ID] = "invalid_room_id"
        if len(stream_id.encode()) > ID_MAX_BYTES:
            errors[CONF_STREAM_ID] = "stream_id_too_long"
        elif not _STREAM_ID_RE.match(stream_id):
            errors[CONF_STREAM_ID] = "invalid_stream_id"
        elif any(other.get(CONF_STREAM_ID) == stream_id for other in self._other_avatars()):
            # ZEGO refuses a second live task with the same StreamId in one AppId.
            errors[CONF_STREAM_ID] = "stream_id_in_use"
        if ttl is None:
            errors[CONF_TTL] = "invalid_ttl"
        if max_idle is None:
            errors[CONF_MAX_IDLE_TIME] = "invalid_max_idle_time"
        if not _COLOR_RE.match(color):
            errors[CONF_BACKGROUND_COLOR] = "invalid_background_color"
        return {
            CONF_ROOM_ID: room_id,
            CONF_STREAM_ID: stream_id,
            CONF_TTL: ttl,
            CONF_MAX_IDLE_TIME: max_idle,
            CONF_BACKGROUND_COLOR: color,
            CONF_KEEP_ALIVE: bool(user_input[CONF_KEEP_ALIVE]),
        }

    async def async_step_attached(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The TaskId of a stream task created elsewhere; it must exist."""
        errors: dict[str, str] = {}
        if user_input is not None:
            task_id = str(user_input[CONF_TASK_ID]).strip()
            if not task_id:
                errors[CONF_TASK_ID] = "unknown_task"
            elif any(other.get(CONF_TASK_ID) == task_id for other in self._other_avatars()):
                # One WebSocket per task: two avatars must not drive the same task.
                errors[CONF_TASK_ID] = "task_in_use"
            else:
                try:
                    task = await self._client().get_stream_task_status(task_id)
                except (ZegoTaskNotFoundError, ZegoTaskEndedError):
                    errors[CONF_TASK_ID] = "unknown_task"
                except ZegoError:
                    errors["base"] = "cannot_connect"
                else:
                    if task.status not in (
                        StreamTaskStatus.INITIALIZING,
                        StreamTaskStatus.STREAMING,
                    ):
                        errors[CONF_TASK_ID] = "task_not_running"
            if not errors:
                for key in _MANAGED_KEYS:
                    self._data.pop(key, None)
                self._data[CONF_TASK_ID] = task_id
                return await self.async_step_speech()
        schema = vol.Schema({vol.Required(CONF_TASK_ID): TextSelector()})
        return self.async_show_form(
            step_id="attached",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or self._data),
            errors=errors,
        )

    async def async_step_speech(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Speech defaults: TTS engine, language, voice options, sample rate, overlap."""
        errors: dict[str, str] = {}
        if user_input is not None:
            voice_options = user_input.get(CONF_VOICE_OPTIONS) or {}
            if not isinstance(voice_options, Mapping):
                errors[CONF_VOICE_OPTIONS] = "invalid_voice_options"
            if not errors:
                self._data.update(
                    {
                        CONF_TTS_ENGINE: user_input.get(CONF_TTS_ENGINE) or None,
                        CONF_LANGUAGE: str(user_input.get(CONF_LANGUAGE) or "").strip() or None,
                        CONF_VOICE_OPTIONS: dict(voice_options),
                        CONF_SAMPLE_RATE: int(user_input[CONF_SAMPLE_RATE]),
                        CONF_OVERLAP_POLICY: user_input[CONF_OVERLAP_POLICY],
                    }
                )
                return self._async_finish()
        schema = vol.Schema(
            {
                vol.Optional(CONF_TTS_ENGINE): EntitySelector(EntitySelectorConfig(domain="tts")),
                vol.Optional(CONF_LANGUAGE): TextSelector(),
                vol.Optional(CONF_VOICE_OPTIONS): ObjectSelector(),
                vol.Required(CONF_SAMPLE_RATE): SelectSelector(
                    SelectSelectorConfig(
                        options=[str(rate) for rate in SAMPLE_RATES],
                        mode=SelectSelectorMode.LIST,
                    )
                ),
                vol.Required(CONF_OVERLAP_POLICY): SelectSelector(
                    SelectSelectorConfig(
                        options=[policy.value for policy in OverlapPolicy],
                        translation_key=CONF_OVERLAP_POLICY,
                        mode=SelectSelectorMode.LIST,
                    )
                ),
            }
        )
        suggested: dict[str, Any] = dict(user_input or {})
        if user_input is None:
            suggested = {
                key: value
                for key, value in self._data.items()
                if key in (CONF_TTS_ENGINE, CONF_LANGUAGE, CONF_VOICE_OPTIONS) and value
            }
            suggested[CONF_SAMPLE_RATE] = str(self._data.get(CONF_SAMPLE_RATE, DEFAULT_SAMPLE_RATE))
            suggested[CONF_OVERLAP_POLICY] = self._data.get(
                CONF_OVERLAP_POLICY, OverlapPolicy.INTERRUPT.value
            )
        return self.async_show_form(
            step_id="speech",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )

    @callback
    def _async_finish(self) -> SubentryFlowResult:
        title = str(self._data[CONF_NAME])
        if self._is_reconfigure:
            # The entry's update listener rebuilds this avatar alone with the new settings.
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                title=title,
                data=self._data,
            )
        return self.async_create_entry(title=title, data=self._data)


def _seconds_selector() -> NumberSelector:
    # No min/max here: out-of-range values get a field error that names ZEGO's bounds.
    return NumberSelector(
        NumberSelectorConfig(mode=NumberSelectorMode.BOX, step=1, unit_of_measurement="s")
    )

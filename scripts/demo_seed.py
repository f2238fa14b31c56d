"""Seed the demo's Home Assistant state in config/.storage (used by scripts/develop and tests).

    python scripts/demo_seed.py --config config --endpoint http://127.0.0.1:8790

Run while Home Assistant is stopped. Idempotent: the demo user, the onboarding record and
the demo config entry are each added only when missing, so changes made in the UI later
survive the next start (scripts/develop --reset wipes everything instead). Prints the
long-lived access token for the REST example; it is kept in config/.demo_token.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
import json
import os
from pathlib import Path
import sys
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Run as a file by scripts/develop: the repository root holds zego_emulator.
    sys.path.insert(0, str(ROOT))

from zego_emulator.config import DEMO_APP_ID, DEMO_SERVER_SECRET, LOBBY_ANNA_ID  # noqa: E402

DOMAIN = "zego_digital_human"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 - the demo's published login, loopback only
DEMO_ENDPOINT = "http://127.0.0.1:8790"
ENTRY_ID = "01JDEM0ENTRY00000000000000"
SUBENTRY_ID = "01JDEM0AVATAR0000000000000"
TTS_ENGINE = "demo_espeak"
TOKEN_FILE = ".demo_token"  # noqa: S105 - a file name
CONFIG_ENTRIES_VERSION = (1, 5)  # homeassistant.config_entries STORAGE_VERSION(_MINOR)
ONBOARDING_VERSION = 4  # homeassistant.components.onboarding STORAGE_VERSION
ONBOARDING_STEPS = ["user", "core_config", "analytics", "integration"]


def entry_data(endpoint: str = DEMO_ENDPOINT) -> dict[str, Any]:
    """The demo project: the emulator's default AppId and ServerSecret."""
    return {"app_id": DEMO_APP_ID, "server_secret": DEMO_SERVER_SECRET, "endpoint": endpoint}


def avatar_data() -> dict[str, Any]:
    """The demo's managed avatar, speaking through the offline espeak-ng engine."""
    return {
        "name": "Lobby",
        "digital_human_id": LOBBY_ANNA_ID,
        "stream_mode": "managed",
        "room_id": "demo_room",
        "stream_id": "demo_stream",
        "ttl": 86400,
        "max_idle_time": 900,
        "background_color": "#000000",
        "keep_alive": False,
        "tts_engine": TTS_ENGINE,
        "language": "en-US",
        "voice_options": {},
        "sample_rate": 16000,
        "overlap_policy": "interrupt",
    }


def avatar_subentry() -> dict[str, Any]:
    """The avatar as stored in the entry's subentries list."""
    return {
        "data": avatar_data(),
        "subentry_id": SUBENTRY_ID,
        "subentry_type": "avatar",
        "title": "Lobby",
        "unique_id": None,
    }


def config_entry(endpoint: str = DEMO_ENDPOINT) -> dict[str, Any]:
    """The demo entry in the shape ConfigEntry.as_dict() stores (HA 2025.4, minor 5)."""
    now = datetime.now(UTC).isoformat()
    return {
        "created_at": now,
        "data": entry_data(endpoint),
        "discovery_keys": {},
        "disabled_by": None,
        "domain": DOMAIN,
        "entry_id": ENTRY_ID,
        "minor_version": 1,
        "modified_at": now,
        "options": {},
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "subentries": [avatar_subentry()],
        "title": f"ZEGO {DEMO_APP_ID}",
        "unique_id": str(DEMO_APP_ID),
        "version": 1,
    }


def _write_json(path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".seed-tmp")
    tmp.write_text(json.dumps(content, indent=2), encoding="utf-8")
    # Storage holds a secret and a password hash: owner-only, as HA writes it.
    tmp.chmod(0o600)
    tmp.replace(path)


def seed_config_entries(config_dir: Path, endpoint: str = DEMO_ENDPOINT) -> bool:
    """Add the demo entry unless an entry of the integration exists; True when added."""
    path = config_dir / ".storage" / "core.config_entries"
    major, minor = CONFIG_ENTRIES_VERSION
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
    else:
        stored = {"version": major, "minor_version": minor, "key": "core.config_entries"}
        stored["data"] = {"entries": []}
    entries: list[dict[str, Any]] = stored["data"]["entries"]
    if any(entry["domain"] == DOMAIN for entry in entries):
        return False
    entries.append(config_entry(endpoint))
    _write_json(path, stored)
    return True


def seed_onboarding(config_dir: Path) -> bool:
    """Mark onboarding done, unless HA already keeps an onboarding record."""
    path = config_dir / ".storage" / "onboarding"
    if path.exists():
        return False
    _write_json(
        path,
        {
            "version": ONBOARDING_VERSION,
            "minor_version": 1,
            "key": "onboarding",
            "data": {"done": ONBOARDING_STEPS},
        },
    )
    return True


async def seed_auth(config_dir: Path) -> str:
    """Create the demo user (owner on a fresh config) and return a valid long-lived token.

    Uses HA's own auth manager, as `hass --script auth` does, so the password hash and
    token are exactly what HA checks.
    """
    # Imported here: the config-entry helpers above must stay usable without HA's startup.
    from homeassistant.auth import auth_manager_from_config
    from homeassistant.auth.const import GROUP_ID_ADMIN
    from homeassistant.auth.models import TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN
    from homeassistant.auth.providers.homeassistant import HassAuthProvider
    from homeassistant.config_entries import ConfigEntries
    from homeassistant.core import CoreState, HomeAssistant
    from homeassistant.helpers import device_registry as dr, entity_registry as er

    hass = HomeAssistant(str(config_dir))
    try:
        # The auth store reads both registries (as in HA's own `hass --script auth`); on
        # HA 2026.11 the device registry also needs the config entries and its setup.
        hass.config_entries = ConfigEntries(hass, {})
        await hass.config_entries.async_initialize()
        if hasattr(dr, "async_setup"):
            dr.async_setup(hass)
        await asyncio.gather(dr.async_load(hass), er.async_load(hass))
        hass.auth = await auth_manager_from_config(hass, [{"type": "homeassistant"}], [])
        provider = hass.auth.auth_providers[0]
        if not isinstance(provider, HassAuthProvider):
            raise TypeError(f"unexpected auth provider {provider!r}")
        await provider.async_initialize()
        if provider.data is None:
            raise RuntimeError("the homeassistant auth provider did not load its data")
        if not any(user["username"] == DEMO_USERNAME for user in provider.data.users):
            new_user = await hass.auth.async_create_user("Demo", group_ids=[GROUP_ID_ADMIN])
            await provider.async_add_auth(DEMO_USERNAME, DEMO_PASSWORD)
            credentials = await provider.async_get_or_create_credentials(
                {"username": DEMO_USERNAME}
            )
            await hass.auth.async_link_user(new_user, credentials)
        token_path = config_dir / TOKEN_FILE
        if token_path.exists():
            token = token_path.read_text(encoding="utf-8").strip()
            if hass.auth.async_validate_access_token(token) is not None:
                return token
        credentials = await provider.async_get_or_create_credentials({"username": DEMO_USERNAME})
        user = await hass.auth.async_get_user_by_credentials(credentials)
        if user is None:
            raise RuntimeError(f"the '{DEMO_USERNAME}' login has no user; try --reset")
        refresh = await hass.auth.async_create_refresh_token(
            user,
            client_name=f"scripts/develop {datetime.now(UTC):%Y-%m-%d %H:%M}",
            token_type=TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN,
            access_token_expiration=timedelta(days=3650),
        )
        token = hass.auth.async_create_access_token(refresh)
        token_path.write_text(token + "\n", encoding="utf-8")
        token_path.chmod(0o600)
        return token
    finally:
        # Stopping a "running" instance runs the final write that flushes the auth
        # stores' delayed saves; a never-started instance would skip it.
        hass.set_state(CoreState.running)
        await hass.async_stop()


async def seed(config_dir: Path, endpoint: str = DEMO_ENDPOINT) -> str:
    """Seed everything; return the long-lived access token."""
    seed_onboarding(config_dir)
    seed_config_entries(config_dir, endpoint)
    return await seed_auth(config_dir)


def main() -> None:
    """Seed config_dir and print the token (only the token: scripts/develop captures it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config", type=Path, default=ROOT / "config")
    parser.add_argument("--endpoint", default=DEMO_ENDPOINT)
    args = parser.parse_args()
    config_dir: Path = args.config.resolve()
    config_dir.mkdir(parents=True, exist_ok=True)
    os.umask(0o077)
    sys.stdout.write(asyncio.run(seed(config_dir, args.endpoint)) + "\n")


if __name__ == "__main__":
    main()

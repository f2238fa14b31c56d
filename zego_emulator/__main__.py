"""`python -m zego_emulator`: serve the emulator on loopback until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import MISSING, fields
import signal
import sys
from typing import TYPE_CHECKING, Any

from .config import EmulatorConfig, config_summary, is_loopback_host, mask_secret
from .records import DriveStatus
from .server import ZegoEmulator

if TYPE_CHECKING:
    from collections.abc import Sequence

# Settings that take structured values are configured in Python only.
_NOT_SETTABLE = frozenset({"digital_humans", "timbres", "unsupported_timbres", "extra_apps"})


def _defaults() -> dict[str, Any]:
    return {
        f.name: f.default if f.default is not MISSING else None
        for f in fields(EmulatorConfig)
        if f.name not in _NOT_SETTABLE
    }


def _parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def _convert(name: str, raw: str) -> Any:
    """A `--set NAME=VALUE` value typed like the setting's default."""
    defaults = _defaults()
    if name not in defaults:
        raise ValueError(f"unknown or structured setting {name!r}")
    default = defaults[name]
    if raw.lower() == "none" and name == "ws_token_ttl":
        return None
    if isinstance(default, bool):
        return _parse_bool(raw)
    if isinstance(default, DriveStatus):
        return DriveStatus(int(raw))
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def build_parser() -> argparse.ArgumentParser:
    """The command line; every flag has a working default."""
    parser = argparse.ArgumentParser(
        prog="python -m zego_emulator",
        description="Strict local emulator of ZEGO's AIGC Digital Human API (REST + WebSocket).",
    )
    defaults = EmulatorConfig()
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address (default %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8790, help="REST + admin port (%(default)s)")
    parser.add_argument("--ws-port", type=int, default=0, help="TLS WebSocket port (0: any free)")
    parser.add_argument(
        "--no-ws-tls", action="store_true", help="serve plain ws:// on the REST port instead"
    )
    parser.add_argument("--app-id", type=int, default=defaults.app_id, help="AppId (%(default)s)")
    parser.add_argument(
        "--server-secret", default=defaults.server_secret, help="ServerSecret (a demo value)"
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiplies start-up, stopping, TTL, MaxIdleTime and text/audio drive lengths",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other scalar setting, e.g. --set second_ws_connection=close_old "
        "(see zego_emulator/README.md)",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The EmulatorConfig a command line asks for (ValueError if it is not acceptable)."""
    if not is_loopback_host(args.host):
        raise ValueError(
            f"--host {args.host} is not a loopback address; the emulator is local only"
        )
    values: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "ws_port": args.ws_port,
        "ws_tls": not args.no_ws_tls,
        "app_id": args.app_id,
        "server_secret": args.server_secret,
        "time_scale": args.time_scale,
    }
    for item in args.overrides:
        name, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects NAME=VALUE, got {item!r}")
        values[name.strip()] = _convert(name.strip(), raw.strip())
    return EmulatorConfig(**values)


def banner(emu: ZegoEmulator) -> str:
    """What the CLI prints once listening: settings (secrets masked) and what to put into HA."""
    lines = ["ZEGO Digital Human emulator", "settings:"]
    lines += [f"  {name} = {value}" for name, value in config_summary(emu.config).items()]
    lines += [
        f"REST + admin API: {emu.endpoint}  (admin: {emu.endpoint}/_emulator/state)",
        f"WebSocket: {emu.ws_endpoint}",
        "Home Assistant: add 'ZEGO Digital Human' with",
        f"  API endpoint:  {emu.endpoint}",
        f"  AppId:         {emu.config.app_id}",
        f"  ServerSecret:  {mask_secret(emu.config.server_secret)} (the --server-secret value)",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


async def serve(config: EmulatorConfig) -> None:
    """Run until SIGINT/SIGTERM, then close cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C raises instead
            loop.add_signal_handler(signum, stop.set)
    async with ZegoEmulator(config) as emu:
        print(banner(emu), flush=True)
        await stop.wait()
        print("stopping...", flush=True)
    print("stopped", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())

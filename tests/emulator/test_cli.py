"""`python -m zego_emulator`: flags, refusals, and a real run as a subprocess."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import signal
import socket
import sys
from typing import TYPE_CHECKING

import pytest

from zego_emulator import DEMO_APP_ID, DEMO_SERVER_SECRET, DriveStatus
from zego_emulator.__main__ import build_parser, config_from_args, main

from .signing import signed_params

if TYPE_CHECKING:
    import aiohttp

REPO = Path(__file__).resolve().parents[2]


def test_defaults() -> None:
    config = config_from_args(build_parser().parse_args([]))
    assert (config.host, config.port, config.ws_tls) == ("127.0.0.1", 8790, True)
    assert (config.app_id, config.server_secret) == (DEMO_APP_ID, DEMO_SERVER_SECRET)
    assert len(DEMO_SERVER_SECRET) == 32
    int(DEMO_SERVER_SECRET, 16)
    assert config.time_scale == 1.0


def test_flags_and_set_overrides() -> None:
    args = build_parser().parse_args(
        [
            "--port", "9999", "--no-ws-tls", "--app-id", "42", "--server-secret", "s" * 32,
            "--time-scale", "0.5",
            "--set", "second_ws_connection=close_old",
            "--set", "reject_nonce_replay=false",
            "--set", "max_concurrent_tasks=3",
            "--set", "ws_start_timeout=1.5",
            "--set", "ws_token_ttl=none",
            "--set", "interrupted_drive_status=3",
        ]
    )  # fmt: skip
    config = config_from_args(args)
    assert (config.port, config.ws_tls, config.app_id, config.time_scale) == (9999, False, 42, 0.5)
    assert config.second_ws_connection == "close_old"
    assert config.reject_nonce_replay is False
    assert config.max_concurrent_tasks == 3
    assert config.ws_start_timeout == 1.5
    assert config.ws_token_ttl is None
    assert config.interrupted_drive_status is DriveStatus.FAILED


@pytest.mark.parametrize(
    "argv",
    [
        ["--host", "0.0.0.0"],  # noqa: S104 - must be refused
        ["--host", "192.168.1.2"],
        ["--set", "digital_humans=x"],
        ["--set", "no_such_setting=1"],
        ["--set", "missing-equals"],
        ["--set", "strict_frames=maybe"],
    ],
)
def test_refusals_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_cli_serves_until_sigterm(session: aiohttp.ClientSession) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "zego_emulator", "--port", str(port), "--time-scale", "0.01",
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    output: list[str] = []
    try:
        async with asyncio.timeout(30):
            while not output or "Press Ctrl-C" not in output[-1]:
                line = await proc.stdout.readline()
                assert line, f"emulator exited early: {''.join(output)}"
                output.append(line.decode())
        banner = "".join(output)
        assert f"http://127.0.0.1:{port}" in banner
        assert "wss://127.0.0.1:" in banner
        assert f"AppId:         {DEMO_APP_ID}" in banner
        assert DEMO_SERVER_SECRET not in banner
        assert DEMO_SERVER_SECRET[:4] + "***" in banner

        params = signed_params("GetDigitalHumanList", DEMO_APP_ID, DEMO_SERVER_SECRET)
        async with session.post(f"http://127.0.0.1:{port}/", params=params, json={}) as resp:
            body = await resp.json()
        assert body["Code"] == 0
        assert body["Data"]["Total"] == 3
        async with session.get(f"http://127.0.0.1:{port}/_emulator/state") as resp:
            assert (await resp.json())["settings"]["time_scale"] == 0.01
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            rest = await proc.stdout.read()
            code = await proc.wait()
    assert code == 0
    assert "stopped" in rest.decode()

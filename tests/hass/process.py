"""Start a real Home Assistant (`hass`) from the running environment, for tests.

The HA and frontend are the ones installed next to the interpreter running the tests
(scripts/setup pins each HA version's own `home-assistant-frontend`), so a test sees the UI a
user of that HA version gets. Reusable by browser tests:

    with run_hass(tmp_path / "config", configuration="frontend:\\n") as ha:
        urllib.request.urlopen(ha.url)

The port is a free one the OS picked. HA before 2026.11 takes it from an `http:` section of
configuration.yaml; 2026.11 deprecates HTTP settings in YAML and takes it from its SETUP_PORT
environment variable instead. hass runs in its own session (and the config directory as its
working directory, so this repository's `custom_components` package cannot shadow the
config's); leaving the block stops it and everything it started.
"""

from __future__ import annotations

from contextlib import contextmanager, suppress
from dataclasses import dataclass
import importlib.util
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING
import urllib.error
import urllib.request

if TYPE_CHECKING:
    from collections.abc import Iterator

RUN_HASS = Path(__file__).resolve().parents[2] / "scripts" / "run_hass.py"
"""hass's entry point, also on the Python 3.13.0 that runs HA 2026.2.3 here (see there)."""
START_TIMEOUT = 90.0
"""Seconds hass may take to serve HTTP (a loaded CI machine, first start of a config)."""


@dataclass(frozen=True)
class HassProcess:
    """A running hass: where it serves and where it logs."""

    url: str
    config_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 30) -> str:
        """The end of hass's output, for failure messages."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_from_environment() -> bool:
    """Whether this HA reads its port from SETUP_PORT (2026.11+) rather than YAML."""
    spec = importlib.util.find_spec("homeassistant.components.http.const")
    if spec is None or spec.origin is None:
        return False
    return "ENV_SETUP_PORT" in Path(spec.origin).read_text()


@contextmanager
def run_hass(
    config_dir: Path, *, configuration: str = "", timeout: float = START_TIMEOUT
) -> Iterator[HassProcess]:
    """Run hass on config_dir with `configuration` as configuration.yaml until the block ends."""
    config_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # Nothing of this repository on hass's path: only the config's custom_components count.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if port_from_environment():
        env["SETUP_PORT"] = str(port)
    else:
        configuration += f"\nhttp:\n  server_host: 127.0.0.1\n  server_port: {port}\n"
    (config_dir / "configuration.yaml").write_text(configuration)
    log = config_dir / "hass-output.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, str(RUN_HASS), "--config", str(config_dir), "--skip-pip"],
            cwd=config_dir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    hass = HassProcess(f"http://127.0.0.1:{port}", config_dir, log, process)
    try:
        _wait_until_serving(hass, timeout)
        yield hass
    finally:
        _stop(process)


def _wait_until_serving(hass: HassProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hass.process.poll() is not None:
            raise AssertionError(
                f"hass exited with {hass.process.returncode} before serving:\n{hass.log_tail()}"
            )
        try:
            with urllib.request.urlopen(hass.url + "/manifest.json", timeout=5):  # noqa: S310
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer: the server is up
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"hass did not serve {hass.url} within {timeout} s:\n{hass.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    # Whatever hass started in its session (and hass itself, if it ignored SIGTERM).
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()

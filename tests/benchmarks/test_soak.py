"""A short soak (two simulated days) holds the goals that do not depend on the wall clock.

It runs `python -m benchmarks.soak` as a subprocess: HA and the emulator are processes of
their own there, as in the full month (`scripts/soak --month`). Recovery times and gaps
are figures to read (the machine is shared and noisy); what is asserted here are counts:
every failed speech falls into a disturbance window, no state stays stuck, every
disturbance recovered, and HA's tasks and sockets do not grow from day to day.
"""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

import pytest

ROOT = Path(__file__).resolve().parents[2]
DISTURBANCES = (
    "console_stop",
    "http_5xx",
    "ws_silent",
    "rate_limit",
    "emulator_restart",
    "ha_restart",
)


# Two simulated minutes-long days plus HA's start and restart: a few minutes on a busy machine.
@pytest.mark.timeout(900)
@pytest.mark.usefixtures("socket_enabled")
def test_two_day_soak_meets_its_goals(tmp_path: Path) -> None:
    """0 unexplained failures, 0 stuck states, every disturbance recovered, flat resources."""
    out = tmp_path / "soak.json"
    result = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [
            sys.executable,
            "-m",
            "benchmarks.soak",
            "--days",
            "2",
            "--per-day",
            "3",
            "--only",
            *DISTURBANCES,
            "--venv",
            str(Path(sys.executable).parent.parent),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:] + result.stdout[-2000:]
    figures = json.loads(out.read_text(encoding="utf-8"))
    speeches = figures["speeches"]
    assert speeches["asked"] > 20
    assert speeches["said"] > speeches["failed"]
    assert speeches["unexplained"] == [], speeches["unexplained"]
    assert figures["stuck"] == []
    ran = [item["kind"] for item in figures["disturbances"] if "attached_renew" not in item["kind"]]
    assert ran == list(DISTURBANCES)
    for item in figures["disturbances"]:
        assert "harness_error" not in item["notes"], item
        if item["recovery_seconds"] is not None:
            # Every avatar spoke again after the disturbance (how fast is a figure to read).
            assert None not in item["recovery_seconds"].values(), item
    restart = next(item for item in figures["disturbances"] if item["kind"] == "ha_restart")
    assert restart["notes"]["stream_time_survived"] is True
    # Keep-alive off: the desk's task ended when silent, and the stream time stood still.
    assert figures["cost"]["desk_idle_stops"] > 0
    assert figures["cost"]["idle_violations"] == []
    drift = figures["goals"]["resource_drift"]["value"]
    assert drift["flat"], drift
    assert figures["goals"]["peak_qps_per_action"]["met"]

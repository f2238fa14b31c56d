"""The harness still runs end to end on tiny inputs and reports every section with numbers.

It runs as a subprocess (python -m benchmarks --quick): the harness builds its own
HomeAssistant instances, which must not share a process with the test harness's own hass.
No figure is compared with its target here: benchmarks are read, not asserted.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
import subprocess
import sys

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("1 TTFA", "2 pacing", "3 concurrency", "4 memory", "5 cold start", "6 assist", "7 card")


# Seven sections, two of them with a real browser or Assist pipeline: longer than the suite's
# 120 s per-test default on a loaded machine, still bounded.
@pytest.mark.timeout(600)
@pytest.mark.usefixtures("socket_enabled")
def test_quick_run_reports_every_section(tmp_path: Path) -> None:
    """--quick exits 0, prints the table and writes JSON with finite figures per section."""
    out = tmp_path / "bench.json"
    result = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=570,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:] + result.stdout[-2000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["mode"] == "quick"
    assert data["errors"] == []
    rows = data["rows"]
    for section in SECTIONS:
        values = [row["value"] for row in rows if row["section"] == section]
        assert values, f"no figures for {section}"
        assert all(isinstance(v, int | float) and math.isfinite(v) for v in values), section
        assert section in result.stdout
    names = {row["name"] for row in rows}
    for expected in (
        "protocol floor p50",
        "speak 0ms engine p50",
        "speak 300ms engine p50",
        "naive sequential 0ms p50",
        "underruns (all)",
        "last frame to Stop max",
        "2 avatars: loop lag p99",
        "2 avatars: CPU per audio s per stream",
        "speak: peak RSS growth 3 s",
        "speak: growth beyond HA's cache 3 s",
        "play_audio file: peak RSS growth 3 s",
        "polling overhead (delay 0.3 s)",
    ):
        assert expected in names, expected
    # Every figure that has a reference got its reference measured in the same run.
    ttfa = {row["name"]: row for row in rows if row["section"] == "1 TTFA"}
    assert ttfa["speak 0ms engine p50"]["reference"] > 0
    assert ttfa["protocol floor p50"]["value"] > 0
    # Some timing was genuinely measured: 300 ms of engine latency shows in the TTFA.
    assert ttfa["speak 300ms engine p50"]["value"] >= 300

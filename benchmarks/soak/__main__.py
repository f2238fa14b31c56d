"""`python -m benchmarks.soak`: run the soak, print the figures, write them as JSON."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
import json
import logging
from pathlib import Path
import sys
from typing import Any

from .run import DISTURBANCES, Options, run_soak
from .world import ROOT


def parse(argv: list[str]) -> tuple[Options, Path]:
    """Options from the command line."""
    parser = argparse.ArgumentParser(prog="scripts/soak", description=__doc__)
    parser.add_argument("--days", type=float, default=3.0, help="simulated days (default 3)")
    parser.add_argument("--month", action="store_true", help="30 simulated days")
    parser.add_argument(
        "--compression", type=float, default=1440.0, help="simulated seconds per real second"
    )
    parser.add_argument("--speech-every", type=float, default=2.0, help="real seconds per slot")
    parser.add_argument("--per-day", type=int, default=1, help="disturbances per simulated day")
    parser.add_argument(
        "--only", nargs="*", choices=DISTURBANCES, help="these disturbances only (in order)"
    )
    parser.add_argument("--workdir", type=Path, help="keep HA's config and the logs here")
    parser.add_argument("--out", type=Path, help="JSON file (default benchmarks/results/)")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv", help="HA's virtualenv")
    args = parser.parse_args(argv)
    options = Options(
        days=30.0 if args.month else args.days,
        compression=args.compression,
        speech_every=args.speech_every,
        disturbances=tuple(args.only) if args.only else DISTURBANCES,
        disturbances_per_day=args.per_day,
        workdir=args.workdir,
        venv_bin=args.venv.absolute() / "bin",
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or ROOT / "benchmarks" / "results" / f"soak-{stamp}.json"
    return options, out


def render(figures: dict[str, Any]) -> str:
    """The printed summary."""
    lines = []
    opts = figures["options"]
    lines.append(
        f"soak: {opts['days']:g} simulated days at x{opts['compression']:g}"
        f" ({opts['sim_day_real_seconds']:g} s per day), {figures['real_seconds']:g} s real,"
        f" HA {figures['notes'].get('ha_version')}"
    )
    sp = figures["speeches"]
    lines.append(
        f"speeches: asked {sp['asked']}, said {sp['said']}, failed {sp['failed']}"
        f" by reason {sp['failed_by_reason']} by window {sp['failed_by_window']}"
    )
    lines.append("disturbances (recovery: seconds from its end to the next speech that worked):")
    lines.extend(
        f"  day {item['sim_day']:>3} {item['kind']:<32} {item['duration']:>6.1f} s"
        f"  recovery {item['recovery_seconds']}"
        for item in figures["disturbances"]
    )
    lines.append(f"stuck states: {len(figures['stuck'])}")
    cost = figures["cost"]
    lines.append(
        f"cost: desk idle stops {cost['desk_idle_stops']} of {cost['desk_tasks']} tasks,"
        f" emulator live {cost['desk_emulator_live_seconds']} s,"
        f" stream time moving while stopped: {len(cost['idle_violations'])}"
    )
    gaps = [g["seconds"] for g in figures["keep_alive_gaps"] if not g["in_disturbance"]]
    lines.append(
        f"keep-alive gaps outside disturbances: max {max(gaps, default=0)} s, n={len(gaps)}"
    )
    lines.append("resources (sim day, HA start, RSS MB, sockets, fds, asyncio tasks):")
    for sample in figures["resources"]:
        rss = sample["rss_kb"] / 1024 if sample["rss_kb"] else None
        lines.append(
            f"  {sample['sim_day']:>3} {sample['ha_start']:>2}"
            f" {rss if rss is None else round(rss, 1)!s:>7} {sample['sockets']!s:>4}"
            f" {sample['fds']!s:>4} {sample['tasks']!s:>5}"
        )
    req = figures["requests"]
    lines.append(
        f"ZEGO requests: {req['total']}, per avatar per hour {req['per_avatar_per_hour']},"
        f" peak per second by action {req['peak_per_second_by_action']} (budget 10)"
    )
    lines.append("goals:")
    for name, goal in figures["goals"].items():
        mark = "ok " if goal["met"] else "MISS"
        lines.append(f"  [{mark}] {name}: {goal['value']} (goal {goal['goal']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run, print, write."""
    options, out = parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    figures = asyncio.run(run_soak(options))
    print(render(figures))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2, default=str))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command line: python -m benchmarks [--quick | --full] [--only SECTION ...] [--ttfa-runs N]."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
from pathlib import Path
import platform
import sys
import traceback

from homeassistant.const import __version__ as ha_version

from .report import Results, render, write_json
from .sections import PRESETS, SECTIONS

RESULTS = Path(__file__).parent / "results"


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse the options."""
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_true", help="tiny inputs (< 60 s), for the smoke test"
    )
    size.add_argument("--full", action="store_true", help="the issue's exact sizes (long)")
    parser.add_argument(
        "--only", nargs="+", choices=sorted(SECTIONS), help="run these sections only"
    )
    parser.add_argument("--ttfa-runs", type=int, help="runs per TTFA figure (default 20)")
    parser.add_argument("--pacing-utterances", type=int, help="pacing utterances (default 50)")
    parser.add_argument(
        "--json", type=Path, help="write the JSON here instead of results/<time>.json"
    )
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> Results:
    """Run the chosen sections; a section that breaks is reported, the others still run."""
    sizes = PRESETS["quick" if args.quick else "full" if args.full else "default"]
    if args.ttfa_runs:
        sizes = dataclasses.replace(sizes, ttfa_runs=args.ttfa_runs)
    if args.pacing_utterances:
        sizes = dataclasses.replace(sizes, pacing_utterances=args.pacing_utterances)
    results = Results(mode=sizes.mode)
    results.versions = {"homeassistant": ha_version, "python": platform.python_version()}
    for name, section in SECTIONS.items():
        if args.only and name not in args.only:
            continue
        print(f"==> {name}", file=sys.stderr, flush=True)
        try:
            await section(results, sizes)
        except Exception as err:  # noqa: BLE001 - one broken section must not hide the rest
            traceback.print_exc()
            results.errors.append(f"{name}: {type(err).__name__}: {err}")
    return results


def main(argv: list[str] | None = None) -> int:
    """Print the table, write the JSON; 1 only when the harness itself broke."""
    args = parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.ERROR)
    results = asyncio.run(run(args))
    print(render(results))
    path = write_json(results, RESULTS, args.json)
    print(f"JSON: {path}")
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())

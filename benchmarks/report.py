"""Rows of figures, the printed table and the JSON file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
import json
import statistics
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path


@dataclass
class Row:
    """One figure, its same-run reference and its target (None: no target, shown as info)."""

    section: str
    name: str
    value: float
    unit: str
    reference: float | None = None
    reference_name: str = ""
    target: str = ""
    passed: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """value / reference, when both are meaningful."""
        if self.reference is None or self.reference == 0:
            return None
        return self.value / self.reference


@dataclass
class Results:
    """Everything one run produced."""

    mode: str
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        """Keep a row."""
        self.rows.append(row)

    def to_json(self) -> dict[str, Any]:
        """The JSON document (ratios included)."""
        data = asdict(self)
        for row_json, row in zip(data["rows"], self.rows, strict=True):
            row_json["ratio"] = row.ratio
        return data


def median(values: list[float]) -> float:
    """The median (0 for no values: a section that produced nothing shows as an error)."""
    return statistics.median(values) if values else 0.0


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0 or 0.01 <= abs(value) < 100000:
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
    return f"{value:.3g}"


def render(results: Results) -> str:
    """A plain-text table, one line per figure."""
    header = ("section", "figure", "value", "unit", "reference", "ref", "ratio", "target", "")
    lines = [header]
    for row in results.rows:
        verdict = {True: "pass", False: "MISS", None: ""}[row.passed]
        ratio = row.ratio
        lines.append(
            (
                row.section,
                row.name,
                _fmt(row.value),
                row.unit,
                row.reference_name or "-",
                _fmt(row.reference),
                "-" if ratio is None else f"{ratio:.2f}x",
                row.target or "-",
                verdict,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in lines
    ]
    out.insert(1, "  ".join("-" * width for width in widths))
    out.extend(f"note: {note}" for note in results.notes)
    out.extend(f"ERROR: {error}" for error in results.errors)
    return "\n".join(out)


def write_json(results: Results, folder: Path, path: Path | None = None) -> Path:
    """Write the JSON (to path, else folder/<timestamp>.json) and return where."""
    if path is None:
        path = folder / f"{results.started.replace(':', '')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results.to_json(), indent=2) + "\n", encoding="utf-8")
    return path

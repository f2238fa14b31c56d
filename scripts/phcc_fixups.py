"""Adapt the installed pytest-homeassistant-custom-component 0.13.375 to HA 2026.11.0.

No phcc release is built from HA 2026.11 (0.13.375 comes from 2026.10.4's test harness). Two
lines of it stop pytest before any test is collected; scripts/setup --ha 2026.11 runs this on
the freshly installed copy (in the chroot's venv), and nothing else is changed:

1. plugins.py imports respx, hence httpx, before homeassistant. HA 2026.11's
   homeassistant/__init__.py calls httpx2.alias_httpx(), which raises "httpx was already
   imported" -> import homeassistant first.
2. common.py imports _clear_logger_overwrites from homeassistant.components.logger; 2026.11
   moved it to homeassistant.components.logger.helpers -> import it from there.

Each anchor must be found exactly once (or the fix-up already be in place): a phcc release
that changes these lines fails set-up loudly instead of being half patched.
"""

from __future__ import annotations

from pathlib import Path
import sys

import pytest_homeassistant_custom_component as phcc

MARK = "# zego fix-up for HA 2026.11 (scripts/phcc_fixups.py)"
FIXUPS = (
    (
        "plugins.py",
        "\nfrom aiohttp import client\n",
        f"\nimport homeassistant  # noqa: F401  {MARK}: before httpx\nfrom aiohttp import client\n",
    ),
    (
        "common.py",
        "    SERVICE_SET_LEVEL,\n    _clear_logger_overwrites,\n)\n",
        "    SERVICE_SET_LEVEL,\n)\n"
        f"from homeassistant.components.logger.helpers import _clear_logger_overwrites  {MARK}\n",
    ),
)


def main() -> int:
    """Apply every fix-up once; report what was done."""
    package = Path(phcc.__file__).parent
    for name, old, new in FIXUPS:
        path = package / name
        text = path.read_text()
        if new in text:
            print(f"phcc fix-up: {name}: already applied")
            continue
        if text.count(old) != 1:
            print(f"phcc fix-up: {name}: anchor not found exactly once: {old!r}", file=sys.stderr)
            return 1
        path.write_text(text.replace(old, new))
        print(f"phcc fix-up: {name}: applied")
    return 0


if __name__ == "__main__":
    sys.exit(main())

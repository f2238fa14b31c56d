"""Run `hass` (same arguments) on this interpreter, even a patch release older than HA asks.

HA 2026.2 requires Python 3.13.2; the Python 3.13 this machine has is 3.13.0, on which the
HA 2026.2.3 environment is installed with --ignore-requires-python (scripts/setup) and its
tests pass. hass itself refuses to start there, so this lowers HA's minimum to the running
patch release of the same minor version (never to an older minor) and starts hass.
Used by scripts/develop --ha 2026 and by tests/hass/process.py.
"""

from __future__ import annotations

import sys

import homeassistant.const as ha_const

if sys.version_info[:2] == ha_const.REQUIRED_PYTHON_VER[:2]:
    ha_const.REQUIRED_PYTHON_VER = min(ha_const.REQUIRED_PYTHON_VER, sys.version_info[:3])

from homeassistant.__main__ import main  # reads the minimum above when imported

if __name__ == "__main__":
    sys.exit(main())

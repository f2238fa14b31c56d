"""Fail any test in which Home Assistant reports a deprecated use by this integration.

HA announces its deprecations at run time, before it removes them: `report_usage` in
homeassistant/helpers/frame.py ("Detected that custom integration '<domain>' ...") and the
decorators of homeassistant/helpers/deprecation.py ("<name> was called from <domain>, this is a
deprecated ..."). For a custom integration both only log a warning, which a green run would
hide until the release that removes the API breaks users. Loaded by tests/conftest.py on
every HA version the suite runs on; Python's own DeprecationWarnings raised in our code are
errors through pyproject's filterwarnings.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from homeassistant.helpers import frame
import pytest

from custom_components.zego_digital_human.const import DOMAIN

if TYPE_CHECKING:
    from collections.abc import Iterator

# The two message shapes HA uses when the offending frame is in an integration (2025.4-2026.11).
REPORT = re.compile(rf"integration '{DOMAIN}'|from {DOMAIN}, this is a deprecated")


class _Reports(logging.Handler):
    """Collects HA's deprecation reports that name this integration."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if REPORT.search(message):
            self.messages.append(f"{record.name}: {message}")


@pytest.fixture(autouse=True)
def fail_on_deprecation_reports() -> Iterator[None]:
    """Every test: HA must not report a deprecated call made by the integration."""
    # HA reports each offending line once per process; every test must see its own report.
    reported = getattr(frame, "_REPORTED_INTEGRATIONS", None)
    if isinstance(reported, set):
        reported.clear()
    reports = _Reports()
    root = logging.getLogger()
    root.addHandler(reports)
    try:
        yield
    finally:
        root.removeHandler(reports)
    if reports.messages:
        pytest.fail(
            "Home Assistant reported deprecated use by the integration:\n"
            + "\n".join(reports.messages),
            pytrace=False,
        )

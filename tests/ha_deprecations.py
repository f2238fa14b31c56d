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


def names_us(message: str) -> bool:
    """Whether a log message is HA reporting a deprecated use by this integration.

    frame.report_usage: "Detected that custom integration '<domain>' ..." (2025.4-2026.11);
    deprecation.py: "<name> was used from <domain>, this is a deprecated ..." (2025.4) or
    "The deprecated <kind> <name> was used from <domain>. ..." (2026.11).
    """
    if f"integration '{DOMAIN}'" in message:
        return True
    return re.search(rf"\bfrom {DOMAIN}\b", message) is not None and "deprecated" in message


class _Reports(logging.Handler):
    """Collects HA's deprecation reports that name this integration."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if names_us(message):
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

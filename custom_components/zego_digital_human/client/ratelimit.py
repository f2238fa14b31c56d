"""Per-action sliding-window rate limiter (ZEGO allows 10 requests per second per action).

Slots are reserved synchronously: a caller reads the last `limit` reservations and appends
its own before it ever awaits. With no await between reading and writing the history there
is nothing to lock, so one instance serves any number of tasks and event loops (tests run
each case on a fresh loop).

ZEGO counts requests when they *arrive*, and arrival can lag the send by a lot: the first
requests of a burst open new (TLS) connections while later ones reuse warm ones. Spacing
sends alone therefore lets a warm request land within one window of a cold one. `slot()`
closes that gap: a request there waits until the request `limit` places before it has
completed (so it has certainly arrived) plus the window.
"""

from __future__ import annotations

import asyncio
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass
import time
from typing import TYPE_CHECKING

from .const import RATE_LIMIT_REQUESTS, RATE_LIMIT_WINDOW

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

__all__ = ["RateLimiter", "shared_rate_limiter"]

# How often a waiter re-checks whether the request it waits for has completed. Requests are
# awaited on other tasks and possibly other loops, so polling is the loop-neutral signal.
_POLL_INTERVAL = 0.01


@dataclass(slots=True, eq=False)
class _Slot:
    start: float
    """Earliest send time reserved for this request."""
    end: float | None
    """When the request completed (it had reached ZEGO by then); None while in flight."""


class RateLimiter:
    """Keep every `window + margin` span at or below `limit` requests per action."""

    def __init__(
        self,
        limit: int = RATE_LIMIT_REQUESTS,
        window: float = RATE_LIMIT_WINDOW,
        margin: float = 0.05,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create a limiter; `margin` absorbs clock and scheduling jitter."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window <= 0 or margin < 0:
            raise ValueError("window must be positive and margin not negative")
        self.limit = limit
        self.window = window
        self.margin = margin
        # time.monotonic, not loop.time(): the history outlives any one event loop.
        self._clock = clock
        self._slots: dict[str, deque[_Slot]] = {}

    @property
    def span(self) -> float:
        """The window plus the safety margin."""
        return self.window + self.margin

    def _reserve(self, action: str, *, tracked: bool) -> tuple[_Slot, _Slot | None]:
        """Append this caller's slot; return it and the slot `limit` places before it."""
        now = self._clock()
        slots = self._slots.get(action)
        if slots is None:
            slots = self._slots.setdefault(action, deque(maxlen=self.limit))
        # Only the last `limit` reservations matter: the new request must come one full
        # span after the oldest of them. Starts stay sorted, so this is enough.
        anchor = slots[0] if len(slots) == self.limit else None
        start = now if anchor is None else max(now, anchor.start + self.span)
        slot = _Slot(start=start, end=None if tracked else start)
        slots.append(slot)
        return slot, anchor

    def _ready_at(self, slot: _Slot, anchor: _Slot | None) -> float | None:
        """When the slot may send; None while its anchor is still in flight."""
        if anchor is None:
            return slot.start
        if anchor.end is None:
            return None
        return max(slot.start, anchor.end + self.span)

    def reserve(self, action: str) -> float:
        """Reserve an untracked slot (sent at once); return how long to wait for it."""
        slot, anchor = self._reserve(action, tracked=False)
        ready = self._ready_at(slot, anchor)
        now = self._clock()
        if ready is None:
            # The anchor is in flight: wait at least one span after its start.
            return max(0.0, slot.start - now)
        return max(0.0, ready - now)

    async def acquire(self, action: str) -> None:
        """Wait until this caller may send one request for `action`.

        The request is assumed to reach ZEGO as it is sent; `slot()` does not assume that.
        """
        delay = self.reserve(action)
        if delay > 0:
            await asyncio.sleep(delay)

    @asynccontextmanager
    async def slot(self, action: str) -> AsyncIterator[None]:
        """Wait for a slot, then hold it while the request runs inside the block."""
        slot, anchor = self._reserve(action, tracked=True)
        try:
            while True:
                ready = self._ready_at(slot, anchor)
                if ready is not None:
                    break
                await asyncio.sleep(max(slot.start - self._clock(), _POLL_INTERVAL))
            delay = ready - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            yield
        finally:
            # Also on failure or cancellation: the request may have reached ZEGO.
            slot.end = max(self._clock(), slot.start)

    def __repr__(self) -> str:
        """Describe the limits."""
        return f"RateLimiter(limit={self.limit}, window={self.window}, margin={self.margin})"


_SHARED: dict[str, RateLimiter] = {}


def shared_rate_limiter(app_id: int | str) -> RateLimiter:
    """Return the process-wide limiter of an AppId (ZEGO counts per AppId and action)."""
    key = str(app_id)
    limiter = _SHARED.get(key)
    if limiter is None:
        limiter = _SHARED.setdefault(key, RateLimiter())
    return limiter

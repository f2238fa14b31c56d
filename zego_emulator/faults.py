"""Faults injected on demand: broken answers, slow answers, dropped or refused WebSockets.

A fault matches a REST action by name (or "*" for every action) and fires `count` times (None:
until cleared). WebSocket faults (`ws_drop`, `ws_refuse`) apply to the next connections; `init_fail`
makes the next created task fail its start-up (status 2).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
import itertools
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

FaultKind = Literal[
    "http_status",
    "zego_error",
    "delay",
    "ws_drop",
    "ws_refuse",
    "ws_stall",
    "ws_silent",
    "init_fail",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
REST_RESPONSE_KINDS = frozenset({"http_status", "zego_error"})

_ids = itertools.count(1)


@dataclass(kw_only=True)
class Fault:
    """One injected fault.

    - ``http_status``: answer HTTP `http_status` with the non-JSON `body`.
    - ``zego_error``: answer the envelope with `code` and `message` (HTTP `error_http_status`).
    - ``delay``: wait `delay` seconds (not scaled), then answer normally.
    - ``ws_drop``: cut the WebSocket (no close frame) once `after_bytes` audio bytes arrived.
    - ``ws_refuse``: refuse the WebSocket handshake with HTTP `http_status` (default 503).
    - ``ws_silent``: once `after_bytes` audio bytes arrived, stop reading the socket for `delay`
      seconds (0: until the task ends or the emulator stops), never closing it.
    - ``init_fail``: the next created task goes 1 -> 2 with FailReason `message`.
    """

    kind: FaultKind
    action: str = "*"
    count: int | None = 1
    http_status: int | None = None
    body: str = "Internal Server Error"
    code: int = 400010002
    message: str = "System busy"
    delay: float = 0.0
    after_bytes: int = 0
    fault_id: int = field(default_factory=lambda: next(_ids))
    fired: int = 0

    def __post_init__(self) -> None:
        """Validate early so a typo fails the test that made it."""
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be >= 1 or None")
        if self.delay < 0 or self.after_bytes < 0:
            raise ValueError("delay and after_bytes must be >= 0")

    @property
    def effective_http_status(self) -> int:
        """The HTTP status a `http_status` or `ws_refuse` fault answers with."""
        if self.http_status is not None:
            return self.http_status
        return 503 if self.kind == "ws_refuse" else 500

    def matches(self, kind: str | frozenset[str], action: str | None) -> bool:
        """Same kind and the action matches (WebSocket and init faults ignore the action)."""
        kinds = frozenset({kind}) if isinstance(kind, str) else kind
        if self.kind not in kinds:
            return False
        if self.kind in ("ws_drop", "ws_refuse", "ws_stall", "ws_silent", "init_fail"):
            return True
        return self.action in ("*", action)

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly copy for the admin API."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from admin API JSON (the same field names)."""
        allowed = {"kind", "action", "count", "http_status", "body", "code", "message", "delay",
                   "after_bytes"}  # fmt: skip
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        kwargs = dict(data)
        for name, kind in (("count", int), ("http_status", int), ("code", int),
                           ("after_bytes", int)):  # fmt: skip
            value = kwargs.get(name)
            if value is not None and type(value) is not kind:
                raise ValueError(f"{name} must be an integer")
        if "delay" in kwargs and not isinstance(kwargs["delay"], int | float):
            raise ValueError("delay must be a number")
        return cls(**kwargs)

    # Shorthands that read well in tests.
    @classmethod
    def http(cls, status: int = 500, *, action: str = "*", count: int | None = 1) -> Fault:
        """Answer a bare HTTP status with a non-JSON body."""
        return cls(kind="http_status", action=action, count=count, http_status=status)

    @classmethod
    def zego(
        cls, code: int, message: str = "injected", *, action: str = "*", count: int | None = 1
    ) -> Fault:
        """Answer a ZEGO error Code."""
        return cls(kind="zego_error", action=action, count=count, code=code, message=message)

    @classmethod
    def slow(cls, seconds: float, *, action: str = "*", count: int | None = 1) -> Fault:
        """Answer after a delay."""
        return cls(kind="delay", action=action, count=count, delay=seconds)

    @classmethod
    def ws_drop_after(cls, after_bytes: int, *, count: int | None = 1) -> Fault:
        """Cut the next WebSocket after this many audio bytes."""
        return cls(kind="ws_drop", count=count, after_bytes=after_bytes)

    @classmethod
    def ws_silent_after(
        cls, after_bytes: int, *, seconds: float = 0.0, count: int | None = 1
    ) -> Fault:
        """Stop reading the next WebSocket after this many audio bytes (it stays open).

        Stands in for a media node that hangs mid-utterance: the client's socket buffers
        fill up and nothing tells it so; its send timeout must fire.
        """
        return cls(kind="ws_silent", count=count, after_bytes=after_bytes, delay=seconds)

    @classmethod
    def ws_refused(cls, status: int = 503, *, count: int | None = 1) -> Fault:
        """Refuse the next WebSocket handshake."""
        return cls(kind="ws_refuse", count=count, http_status=status)

    @classmethod
    def ws_stalled(cls, seconds: float, *, count: int | None = 1) -> Fault:
        """Hold the next WebSocket handshake unanswered this long, then refuse it (503).

        Stands in for a ZEGO media node that accepts TCP but never completes the
        upgrade: the client's connect timeout must fire first.
        """
        return cls(kind="ws_stall", count=count, delay=seconds)


class FaultSet:
    """The active faults, in the order added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._faults))

    def __len__(self) -> int:
        return len(self._faults)

    def add(self, fault: Fault) -> Fault:
        """Activate a fault; returns it (its `fault_id` identifies it)."""
        self._faults.append(fault)
        return fault

    def remove(self, fault_id: int) -> bool:
        """Deactivate one fault."""
        before = len(self._faults)
        self._faults = [f for f in self._faults if f.fault_id != fault_id]
        return len(self._faults) != before

    def clear(self) -> None:
        """Deactivate every fault."""
        self._faults.clear()

    def take(self, kind: str | frozenset[str], action: str | None = None) -> Fault | None:
        """The first matching fault, consuming one of its uses."""
        for fault in self._faults:
            if fault.matches(kind, action):
                fault.fired += 1
                if fault.count is not None and fault.fired >= fault.count:
                    self._faults.remove(fault)
                return fault
        return None

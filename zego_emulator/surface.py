"""What the admin API, the stage page and the preview feed use of a running emulator.

`ZegoEmulator` (server.py) has this shape; admin.py and stage.py depend on it, not on the server,
so that the server can mount their routes without an import circle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .config import EmulatorConfig
    from .faults import FaultSet
    from .records import DriveRecord, RequestRecord, TaskRecord
    from .state import EmulatorState


class EmulatorSurface(Protocol):
    """A started emulator, seen from its admin API and stage page."""

    faults: FaultSet
    requests: list[RequestRecord]

    @property
    def config(self) -> EmulatorConfig:
        """The emulator's settings."""

    @property
    def endpoint(self) -> str:
        """Base URL of the REST API and the admin API."""

    @property
    def ws_endpoint(self) -> str:
        """Base URL of the WebSocket listener."""

    @property
    def state(self) -> EmulatorState:
        """The state machine."""

    @property
    def tasks(self) -> dict[str, TaskRecord]:
        """Every task, live and ended, by TaskId."""

    @property
    def drives(self) -> list[DriveRecord]:
        """Every drive, in issue order."""

    @property
    def events(self) -> list[dict[str, Any]]:
        """Callback-shaped events, in order."""

    @property
    def open_ws_connections(self) -> int:
        """WebSocket connections open now."""

    @property
    def max_ws_connections_per_task(self) -> int:
        """The most connections ever open at once for one task."""

    def now(self) -> float:
        """The emulator's clock in Unix seconds."""

    def expire_task(self, task_id: str) -> None:
        """End a task as if its TTL ran out now."""

    def revoke_credentials(self) -> str:
        """Make the current ServerSecret stop working; return the new one."""

    def set_server_secret(self, secret: str) -> None:
        """Make `secret` the valid ServerSecret."""

    def reset(self) -> None:
        """Forget everything and restore the initial secret."""

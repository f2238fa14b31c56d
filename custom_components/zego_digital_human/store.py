"""Persisted TaskIds of managed stream tasks, so that they survive an HA restart."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from homeassistant.helpers.storage import Store

from .const import DOMAIN, LOGGER

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

STORAGE_VERSION = 1


class _StoredTaskDict(TypedDict):
    task_id: str
    digital_human_id: str
    room_id: str
    stream_id: str


class _StoreData(TypedDict):
    tasks: dict[str, _StoredTaskDict]


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredTask:
    """A managed task HA created, with what it was created for.

    The spec fields let start-up tell a task that still matches the avatar's settings from
    one created before the avatar was reconfigured.
    """

    task_id: str
    digital_human_id: str
    room_id: str
    stream_id: str


class TaskStore:
    """The managed TaskIds of one config entry, keyed by avatar subentry id."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Create the store; call async_load before use."""
        self._store: Store[_StoreData] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.tasks", private=True, atomic_writes=True
        )
        self._tasks: dict[str, StoredTask] = {}

    async def async_load(self) -> None:
        """Read what an earlier run stored; a damaged record is dropped, not fatal."""
        data = await self._store.async_load()
        self._tasks = {}
        if not data:
            return
        for subentry_id, record in data.get("tasks", {}).items():
            try:
                self._tasks[subentry_id] = StoredTask(
                    task_id=str(record["task_id"]),
                    digital_human_id=str(record["digital_human_id"]),
                    room_id=str(record["room_id"]),
                    stream_id=str(record["stream_id"]),
                )
            except (KeyError, TypeError):
                LOGGER.warning("Dropping a damaged stored stream task for %s", subentry_id)

    def get(self, subentry_id: str) -> StoredTask | None:
        """Return the stored task of an avatar."""
        return self._tasks.get(subentry_id)

    @property
    def subentry_ids(self) -> set[str]:
        """Return the avatars that have a stored task."""
        return set(self._tasks)

    async def async_remember(self, subentry_id: str, task: StoredTask) -> None:
        """Store (or replace) the task of an avatar."""
        if self._tasks.get(subentry_id) == task:
            return
        self._tasks[subentry_id] = task
        await self._async_save()

    async def async_forget(self, subentry_id: str) -> None:
        """Drop the task of an avatar."""
        if self._tasks.pop(subentry_id, None) is not None:
            await self._async_save()

    async def async_remove(self) -> None:
        """Delete the file (the config entry is being removed)."""
        self._tasks = {}
        await self._store.async_remove()

    def as_dict(self) -> dict[str, Any]:
        """Return the stored tasks, for diagnostics."""
        return {subentry_id: asdict(task) for subentry_id, task in self._tasks.items()}

    async def _async_save(self) -> None:
        # Saved at once, not delayed: a TaskId lost in a crash is a task HA cannot stop.
        data: _StoreData = {
            "tasks": {
                subentry_id: _StoredTaskDict(
                    task_id=task.task_id,
                    digital_human_id=task.digital_human_id,
                    room_id=task.room_id,
                    stream_id=task.stream_id,
                )
                for subentry_id, task in self._tasks.items()
            }
        }
        await self._store.async_save(data)

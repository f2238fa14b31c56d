"""The entry's runtime data and AvatarCoordinator: one avatar's stream-task lifecycle and state.

The coordinator polls GetDigitalHumanStreamTaskStatus for its own task only (no request
when it has none), creates and stops managed tasks, notices when ZEGO ends a task, and
holds the avatar state that the speech path (a later module) reports into.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
import contextlib
from dataclasses import dataclass, field
import inspect
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .client import (
    StreamTask,
    StreamTaskStatus,
    ZegoAuthenticationError,
    ZegoClient,
    ZegoDriveConnectionError,
    ZegoError,
    ZegoStreamIdConflictError,
    ZegoStreamNotReadyError,
    ZegoTaskEndedError,
    ZegoTaskNotFoundError,
)
from .const import (
    DOMAIN,
    LOGGER,
    MAX_STATE_LENGTH,
    STATUS_FRESHNESS,
    STATUS_POLL_INTERVAL,
    STREAM_START_POLL_INITIAL,
    STREAM_START_POLL_MAX,
    STREAM_START_TIMEOUT,
    AvatarState,
    SpeechEvent,
    StreamStatus,
)
from .data import AvatarConfig
from .helpers import describe, ha_error, to_ha_error, zego_exception_handler
from .store import StoredTask, TaskStore

if TYPE_CHECKING:
    from datetime import datetime

    from homeassistant.config_entries import ConfigSubentry

    from .client import EmulatorPreview
    from .portrait import Portrait
    from .speech import SpeechManager

type InterruptHandler = Callable[[], Awaitable[None] | None]
type SpeechListener = Callable[[SpeechEvent, Mapping[str, Any]], None]

_STATUS_MAP: dict[StreamTaskStatus, StreamStatus] = {
    StreamTaskStatus.INITIALIZING: StreamStatus.INITIALIZING,
    StreamTaskStatus.INIT_FAILED: StreamStatus.INIT_FAILED,
    StreamTaskStatus.STREAMING: StreamStatus.STREAMING,
    StreamTaskStatus.STOPPING: StreamStatus.STOPPING,
    StreamTaskStatus.STOPPED: StreamStatus.STOPPED,
}

_GONE_ERRORS = (ZegoTaskNotFoundError, ZegoTaskEndedError)


@dataclass(kw_only=True, slots=True)
class ZegoRuntimeData:
    """What a loaded entry holds: one client, the task store, and per avatar (by subentry id)
    its coordinator and its speech manager."""

    client: ZegoClient
    store: TaskStore
    # The account data set up with: a change to it reloads the entry, a subentry change doesn't.
    account: Mapping[str, Any]
    avatars: dict[str, AvatarCoordinator] = field(default_factory=dict)
    speech: dict[str, SpeechManager] = field(default_factory=dict)
    avatars_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The card's backend (player.py): portraits by subentry id, and the emulator probe.
    portraits: dict[str, Portrait] = field(default_factory=dict)
    preview: asyncio.Task[EmulatorPreview | None] | None = None


type ZegoConfigEntry = ConfigEntry[ZegoRuntimeData]


def attached_issue_id(subentry_id: str) -> str:
    """Return the repair issue id raised when an attached avatar's task has ended."""
    return f"attached_task_ended_{subentry_id}"


@dataclass(frozen=True, kw_only=True, slots=True)
class AvatarSnapshot:
    """What the avatar's entities show."""

    state: AvatarState
    stream_status: StreamStatus
    task_id: str | None
    room_id: str | None
    stream_id: str | None
    fail_reason: str | None
    created_at: datetime | None
    speaking: bool
    last_error: str | None
    last_ttfa: float | None

    @property
    def stream_online(self) -> bool:
        """Return True when the avatar's video is being published."""
        return self.stream_status is StreamStatus.STREAMING


class AvatarCoordinator(DataUpdateCoordinator[AvatarSnapshot]):
    """Stream-task lifecycle and state of one avatar (one config subentry)."""

    config_entry: ZegoConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ZegoConfigEntry,
        subentry: ConfigSubentry,
        client: ZegoClient,
        store: TaskStore,
    ) -> None:
        """Create the coordinator; the first refresh checks any stored task."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} avatar {subentry.title}",
            update_interval=STATUS_POLL_INTERVAL,
            always_update=False,
        )
        self.client = client
        self.subentry_id = subentry.subentry_id
        self.config = AvatarConfig.from_subentry_data(subentry.data)
        # Bound on waiting for a new task to stream; attributes so tests can tune them.
        self.start_timeout = STREAM_START_TIMEOUT
        self.status_freshness = STATUS_FRESHNESS
        self._store = store
        self._task_id: str | None = None if self.config.managed else self.config.task_id
        self._task: StreamTask | None = None
        self._status = StreamStatus.NO_TASK
        self._status_seen_at: float | None = None
        self._attached_ended = False
        self._starting = False
        # True while HA should hold a managed stream (started, not stopped): keep-alive's cue.
        self._want_stream = False
        self._speaking = False
        self._error = False
        self._last_error: str | None = None
        self._last_ttfa: float | None = None
        self._start_lock = asyncio.Lock()
        self._keep_alive_task: asyncio.Task[None] | None = None
        self._interrupt_handlers: list[InterruptHandler] = []
        self._speech_listeners: list[SpeechListener] = []
        self.data = self._snapshot()

    # --- properties -------------------------------------------------------------------------

    @property
    def task_id(self) -> str | None:
        """Return the TaskId the avatar currently holds."""
        return self._task_id

    # --- DataUpdateCoordinator ----------------------------------------------------------------

    async def _async_setup(self) -> None:
        """Take over a managed task stored by an earlier run, if it still fits."""
        # A new TaskId (or a switch to managed) clears the "attached task ended" issue; an
        # attached task that is still gone raises it again at the first poll.
        ir.async_delete_issue(self.hass, DOMAIN, attached_issue_id(self.subentry_id))
        if not self.config.managed:
            return
        stored = self._store.get(self.subentry_id)
        if stored is None:
            return
        spec = self.config.stream_spec()
        if (stored.digital_human_id, stored.room_id, stored.stream_id) != (
            spec.digital_human_id,
            spec.room_id,
            spec.stream_id,
        ):
            # The avatar was reconfigured: the old task publishes the wrong avatar/stream.
            LOGGER.info(
                "Stopping stream task %s of %s: the avatar's settings changed",
                stored.task_id,
                self.config.name,
            )
            await async_stop_task_quietly(self.client, stored.task_id)
            await self._store.async_forget(self.subentry_id)
            return
        # Checked by the first poll: a task that no longer exists is forgotten there.
        self._task_id = stored.task_id
        self._want_stream = True

    async def _async_update_data(self) -> AvatarSnapshot:
        """Poll the status of the avatar's task (nothing to ask when it has none)."""
        task_id = self._task_id
        if task_id is None or self._starting:
            # ensure_streaming polls by itself while it starts a task.
            self._maybe_keep_alive()
            return self._snapshot()
        try:
            task = await self.client.get_stream_task_status(task_id)
        except _GONE_ERRORS:
            if self._task_id == task_id:
                await self._async_task_gone(task_id)
            return self._snapshot()
        except ZegoAuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="authentication_error"
            ) from err
        except ZegoError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="communication_error",
                translation_placeholders={"error": describe(err)},
            ) from err
        if self._task_id == task_id:
            await self._async_apply_status(task)
        return self._snapshot()

    async def async_first_refresh_while_running(self) -> None:
        """First look at an avatar added while its entry runs.

        HA reserves async_config_entry_first_refresh for entry set-up; a failure here leaves
        the avatar unavailable until a poll works instead of failing anything.
        """
        await self._async_setup()
        await self.async_refresh()

    async def async_shutdown(self) -> None:
        """Stop polling and keep-alive (entry unload, or this avatar removed or changed)."""
        await super().async_shutdown()
        self._want_stream = False
        if self._keep_alive_task is not None:
            self._keep_alive_task.cancel()

    # --- stream lifecycle ---------------------------------------------------------------------

    @property
    def stream_live(self) -> bool:
        """Return True when the task streamed at the last look (ensure_streaming may recheck)."""
        return self._task is not None and self._status is StreamStatus.STREAMING

    async def ensure_streaming(self) -> StreamTask:
        """Return the avatar's task once it streams.

        Managed: creates the task when there is none and waits for it. Attached: verifies
        the configured task. Raises HomeAssistantError with a translation key otherwise.
        """
        async with self._start_lock:
            if self._task is not None and self._status is StreamStatus.STREAMING and self._fresh():
                return self._task
            if not self.config.managed and (self._attached_ended or self._task_id is None):
                raise ha_error("attached_task_ended", avatar=self.config.name)
            if self.config.managed:
                self._want_stream = True
            self._starting = True
            self._publish()
            try:
                task = await self._async_start_locked()
            except ZegoError as err:
                self._record_failure(err)
                raise to_ha_error(self, err) from err
            except HomeAssistantError as err:
                if err.translation_key != "stream_stopped_while_starting":
                    self._record_failure(err)  # a stop the user asked for is no failure
                raise
            finally:
                self._starting = False
                self._publish()
            self._error = False
            self._publish()
            return task

    async def _async_start_locked(self) -> StreamTask:
        deadline = asyncio.get_running_loop().time() + self.start_timeout
        task: StreamTask | None = None
        if self._task_id is not None:
            task = await self._async_check_task(self._task_id)
        if self._task_id is None:
            if not self.config.managed:
                raise ha_error("attached_task_ended", avatar=self.config.name)
            await self._async_create_task(deadline)
            task = None
        task = await self._async_wait_streaming(task, deadline)
        if self.config.managed and not self._want_stream:
            # Stopped on request while it was being created: the stop wins.
            await async_stop_task_quietly(self.client, task.task_id)
            await self._async_task_gone(task.task_id, schedule_keep_alive=False)
            raise ha_error("stream_stopped_while_starting", avatar=self.config.name)
        return task

    async def _async_check_task(self, task_id: str) -> StreamTask | None:
        """Return the task's status (applied), or None when ZEGO no longer has it."""
        try:
            task = await self.client.get_stream_task_status(task_id)
        except _GONE_ERRORS:
            await self._async_task_gone(task_id, schedule_keep_alive=False)
            return None
        await self._async_apply_status(task, schedule_keep_alive=False)
        return task

    async def _async_create_task(self, deadline: float) -> None:
        """Create the managed task; wait out a StreamId still held by our stopping task."""
        spec = self.config.stream_spec()
        loop = asyncio.get_running_loop()
        delay = STREAM_START_POLL_INITIAL
        while True:
            try:
                task_id = await self.client.create_stream_task(spec)
                break
            except ZegoStreamIdConflictError:
                # A task that is stopping still holds the StreamId for a moment; a running
                # one is somebody else's and will not let go.
                running = await self.client.query_stream_tasks()
                if any(task.stream_id == spec.stream_id for task in running):
                    raise
                if loop.time() + delay > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, STREAM_START_POLL_MAX)
        LOGGER.info("Created stream task %s for %s", task_id, self.config.name)
        self._task_id = task_id
        self._task = None
        self._status = StreamStatus.INITIALIZING
        self._status_seen_at = None
        await self._store.async_remember(
            self.subentry_id,
            StoredTask(
                task_id=task_id,
                digital_human_id=spec.digital_human_id,
                room_id=spec.room_id,
                stream_id=spec.stream_id,
            ),
        )
        self._publish()

    async def _async_wait_streaming(self, task: StreamTask | None, deadline: float) -> StreamTask:
        """Poll with backoff until the task streams, fails, ends or the deadline passes."""
        loop = asyncio.get_running_loop()
        delay = STREAM_START_POLL_INITIAL
        while True:
            if task is not None:
                if task.status is StreamTaskStatus.STREAMING:
                    return task
                if task.status is StreamTaskStatus.INIT_FAILED:
                    raise ha_error(
                        "stream_start_failed", reason=task.fail_reason or "no reason given"
                    )
            task_id = self._task_id
            if task_id is None:
                raise self._ended_while_starting()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ha_error(
                    "stream_start_timeout",
                    timeout=f"{self.start_timeout:g}",
                    status=self._status.value,
                )
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, STREAM_START_POLL_MAX)
            task = await self._async_check_task(task_id)

    def _ended_while_starting(self) -> HomeAssistantError:
        if self.config.managed:
            return ha_error("stream_ended_while_starting", avatar=self.config.name)
        return ha_error("attached_task_ended", avatar=self.config.name)

    @zego_exception_handler
    async def async_start_stream(self) -> None:
        """Start on request (button, action): create a managed task, check an attached one."""
        await self.ensure_streaming()

    @zego_exception_handler
    async def async_stop_stream(self) -> None:
        """Stop the managed stream task on request; keep-alive stands down."""
        if not self.config.managed:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="not_managed",
                translation_placeholders={"avatar": self.config.name},
            )
        self._want_stream = False
        task_id = self._task_id
        if task_id is None:
            self._publish()
            return
        with contextlib.suppress(*_GONE_ERRORS):  # already over: stopping is idempotent
            await self.client.stop_stream_task(task_id)
        LOGGER.info("Stopped stream task %s of %s", task_id, self.config.name)
        if self._task_id == task_id:
            await self._async_task_gone(task_id, schedule_keep_alive=False)
        self._error = False
        self._publish()

    @zego_exception_handler
    async def async_interrupt(self) -> None:
        """Cut the current speech: the speech queue first, then ZEGO's drive."""
        for handler in list(self._interrupt_handlers):
            try:
                result = handler()
                if inspect.isawaitable(result):
                    await result
            except Exception:  # noqa: BLE001 - one broken handler must not block the rest
                LOGGER.exception("Interrupt handler of %s failed", self.config.name)
        task_id = self._task_id
        if task_id is None or self._status is not StreamStatus.STREAMING:
            return
        try:
            await self.client.interrupt_drive_task(task_id)
        except _GONE_ERRORS:
            if self._task_id == task_id:
                await self._async_task_gone(task_id)
        except ZegoStreamNotReadyError:
            pass  # nothing is being said yet

    # --- what the speech path reports -----------------------------------------------------------

    @callback
    def set_speaking(self, speaking: bool) -> None:
        """Record whether the avatar is speaking now."""
        self._speaking = speaking
        if speaking:
            self._error = False
        self._publish()

    @callback
    def record_ttfa(self, seconds: float) -> None:
        """Record the time from a speech request to its first audio frame."""
        self._last_ttfa = seconds
        self._publish()

    @callback
    def record_error(self, err: BaseException | str) -> None:
        """Record a failure the user should see (last error sensor, error state).

        A failure caused by the task having ended (a drive refused with "task not found")
        makes the coordinator check the task now rather than at the next poll.
        """
        self._record_failure(err)
        self._publish()
        cause = err if isinstance(err, BaseException) else None
        while cause is not None:
            if isinstance(cause, ZegoAuthenticationError):
                # Credentials revoked while the stream runs: only the drive sees it, and
                # the user must be asked for the new secret as on any other rejection.
                self.config_entry.async_start_reauth(self.hass)
                break
            if isinstance(cause, ZegoDriveConnectionError):
                # ZEGO closes the sockets of a task it ends (TTL, idle): the cached
                # "streaming" must not send the next request to a dead task.
                self._status_seen_at = None
            if isinstance(cause, _GONE_ERRORS) and self._task_id is not None:
                self._status_seen_at = None
                self.config_entry.async_create_task(
                    self.hass, self.async_request_refresh(), f"{DOMAIN} check ended task"
                )
                break
            cause = cause.__cause__

    @callback
    def fire_speech_event(
        self, event_type: SpeechEvent | str, data: Mapping[str, Any] | None = None
    ) -> None:
        """Tell the event entity (and other listeners) about a speech transition."""
        event = SpeechEvent(event_type)
        payload = dict(data or {})
        for listener in list(self._speech_listeners):
            listener(event, payload)

    @callback
    def register_interrupt_handler(self, handler: InterruptHandler) -> CALLBACK_TYPE:
        """Register what the interrupt button/service must cancel; returns the unsubscriber."""
        self._interrupt_handlers.append(handler)

        @callback
        def _unsubscribe() -> None:
            if handler in self._interrupt_handlers:
                self._interrupt_handlers.remove(handler)

        return _unsubscribe

    @callback
    def async_add_speech_listener(self, listener: SpeechListener) -> CALLBACK_TYPE:
        """Subscribe to speech events; returns the unsubscriber."""
        self._speech_listeners.append(listener)

        @callback
        def _unsubscribe() -> None:
            if listener in self._speech_listeners:
                self._speech_listeners.remove(listener)

        return _unsubscribe

    # --- internals ----------------------------------------------------------------------------

    def _fresh(self) -> bool:
        seen = self._status_seen_at
        return seen is not None and asyncio.get_running_loop().time() - seen < self.status_freshness

    @callback
    def _record_failure(self, err: BaseException | str) -> None:
        self._error = True
        self._last_error = (
            describe(err) if isinstance(err, BaseException) else err[:MAX_STATE_LENGTH]
        )

    async def _async_apply_status(
        self, task: StreamTask, *, schedule_keep_alive: bool = True
    ) -> None:
        self._task = task
        self._status = _STATUS_MAP.get(task.status, StreamStatus.STOPPED)
        self._status_seen_at = asyncio.get_running_loop().time()
        if task.status is StreamTaskStatus.INIT_FAILED:
            # A failed task never recovers; keep-alive must not loop on a broken setup.
            self._want_stream = False
            self._error = True
            self._last_error = (task.fail_reason or "stream task failed to start")[
                :MAX_STATE_LENGTH
            ]
            if self.config.managed:
                # Ours: stop it so that it lets go of the StreamId for the next attempt.
                await async_stop_task_quietly(self.client, task.task_id)
            await self._async_task_gone(task.task_id, status=StreamStatus.INIT_FAILED)
        elif task.status in (StreamTaskStatus.STOPPING, StreamTaskStatus.STOPPED):
            # A stopping task never streams again: it is over for HA, never to be driven.
            await self._async_task_gone(
                task.task_id, status=self._status, schedule_keep_alive=schedule_keep_alive
            )
        elif not self.config.managed:
            ir.async_delete_issue(self.hass, DOMAIN, attached_issue_id(self.subentry_id))
        self._publish()

    async def _async_task_gone(
        self,
        task_id: str,
        *,
        status: StreamStatus = StreamStatus.STOPPED,
        schedule_keep_alive: bool = True,
    ) -> None:
        """ZEGO no longer runs the task (TTL, idle, stopped elsewhere, failed)."""
        LOGGER.info("Stream task %s of %s has ended", task_id, self.config.name)
        self._task_id = None
        self._status = status
        self._status_seen_at = None
        self._speaking = False
        if status is not StreamStatus.INIT_FAILED:
            self._error = False
        if self.config.managed:
            await self._store.async_forget(self.subentry_id)
            if schedule_keep_alive:
                self._maybe_keep_alive()
        else:
            self._attached_ended = True
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                attached_issue_id(self.subentry_id),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="attached_task_ended",
                translation_placeholders={"avatar": self.config.name, "task_id": task_id},
            )
        self._publish()

    @callback
    def _maybe_keep_alive(self) -> None:
        """Re-create a managed stream that ZEGO ended, when keep-alive is on."""
        if not (
            self.config.managed
            and self.config.keep_alive
            and self._want_stream
            and self._task_id is None
            and not self._starting
        ):
            return
        if self._keep_alive_task is not None and not self._keep_alive_task.done():
            return
        LOGGER.info("Keep-alive: re-creating the stream of %s", self.config.name)
        self._keep_alive_task = self.config_entry.async_create_background_task(
            self.hass, self._async_keep_alive(), f"{DOMAIN} keep-alive {self.subentry_id}"
        )

    async def _async_keep_alive(self) -> None:
        try:
            await self.ensure_streaming()
        except HomeAssistantError as err:
            # Recorded as the last error; the next poll interval tries again.
            LOGGER.warning("Keep-alive could not restart %s: %s", self.config.name, err)

    @callback
    def _publish(self) -> None:
        """Push the current state to the entities without resetting the poll schedule."""
        snapshot = self._snapshot()
        if snapshot != self.data:
            self.data = snapshot
            self.async_update_listeners()

    def _avatar_state(self) -> AvatarState:
        if self._starting or self._status is StreamStatus.INITIALIZING:
            return AvatarState.STARTING
        if self._status is StreamStatus.STREAMING and self._speaking:
            return AvatarState.SPEAKING
        if self._error:
            return AvatarState.ERROR
        if self._status is StreamStatus.STREAMING:
            return AvatarState.READY
        return AvatarState.OFFLINE

    def _snapshot(self) -> AvatarSnapshot:
        task = self._task
        room_id = task.room_id if task and task.room_id else self.config.room_id
        stream_id = task.stream_id if task and task.stream_id else self.config.stream_id
        return AvatarSnapshot(
            state=self._avatar_state(),
            stream_status=self._status,
            task_id=self._task_id,
            room_id=room_id,
            stream_id=stream_id,
            fail_reason=task.fail_reason if task else None,
            created_at=task.created_at if task and self._task_id else None,
            speaking=self._speaking and self._status is StreamStatus.STREAMING,
            last_error=self._last_error,
            last_ttfa=self._last_ttfa,
        )


async def async_stop_task_quietly(client: ZegoClient, task_id: str) -> None:
    """Stop a managed task HA no longer needs; failures are logged, never raised."""
    try:
        await client.stop_stream_task(task_id)
    except _GONE_ERRORS:
        return
    except ZegoError as err:
        LOGGER.warning("Could not stop stream task %s: %s", task_id, describe(err))

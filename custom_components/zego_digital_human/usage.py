"""AvatarUsage: what an avatar costs, as Home Assistant saw it.

ZEGO bills stream-task time. The stream time counted here is the time the avatar's task
was streaming at HA's last look (poll, start, drive): from the update that showed it
streaming to the update that showed it gone. It runs on the monotonic clock, so a step
of the host clock (NTP) neither adds nor removes time. Drives and audio seconds come from
the speech events (one drive per request that was given a DriveId).

Totals survive restarts through the sensors (RestoreSensor): each restores its last value
into `restore()` before it shows anything, and counting this run adds to it.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
import time
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval

from .const import SpeechEvent, StreamStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from .coordinator import AvatarCoordinator

# While the stream is live the stream-time sensor moves this often (a dashboard should
# not wait for the task to end to see the minutes add up).
LIVE_UPDATE_INTERVAL = timedelta(seconds=60)

_ENDED_EVENTS = frozenset({SpeechEvent.FINISHED, SpeechEvent.INTERRUPTED, SpeechEvent.FAILED})


def monotonic() -> float:
    """Return the clock stream time is measured on (a seam for tests)."""
    return time.monotonic()


class UsageKey(StrEnum):
    """The counters an avatar keeps (also the sensors' description keys)."""

    STREAM_TIME = "stream_time"
    DRIVES = "drives"
    AUDIO_SENT = "audio_sent"


class AvatarUsage:
    """Stream time, drives and audio seconds of one avatar, fed by its coordinator."""

    def __init__(
        self,
        hass: HomeAssistant,
        coordinator: AvatarCoordinator,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Count from now; call async_start() to subscribe."""
        self.hass = hass
        self.coordinator = coordinator
        self._clock = clock
        self._restored: dict[UsageKey, float] = {}
        self._counted: dict[UsageKey, float] = dict.fromkeys(UsageKey, 0.0)
        self._live_since: float | None = None
        self._listeners: list[CALLBACK_TYPE] = []
        self._unsubs: list[CALLBACK_TYPE] = []
        self._unsub_tick: CALLBACK_TYPE | None = None

    def _now(self) -> float:
        # Looked up at each call, so the seam also reaches counters created earlier.
        return self._clock() if self._clock is not None else monotonic()

    @property
    def live(self) -> bool:
        """Return True while the stream counts as live."""
        return self._live_since is not None

    def value(self, key: UsageKey) -> float:
        """Return the total of key: restored plus counted this run (plus the open span)."""
        total = self._restored.get(key, 0.0) + self._counted[key]
        if key is UsageKey.STREAM_TIME and self._live_since is not None:
            total += max(0.0, self._now() - self._live_since)
        return total

    @callback
    def restore(self, key: UsageKey, value: float) -> None:
        """Add the total an earlier run left (once per key; later calls are ignored)."""
        if key not in self._restored and value >= 0:
            self._restored[key] = value

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Subscribe to the coordinator and its speech events; returns the unsubscriber."""
        self._unsubs.append(self.coordinator.async_add_listener(self._on_update))
        self._unsubs.append(self.coordinator.async_add_speech_listener(self._on_speech))
        self._on_update()
        return self.async_stop

    @callback
    def async_stop(self) -> None:
        """Close the open span and unsubscribe."""
        self._set_live(False)
        while self._unsubs:
            self._unsubs.pop()()

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call listener whenever a total changes; returns the unsubscriber."""
        self._listeners.append(listener)

        @callback
        def _unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)
            # The usage sensors are the counter's only readers: when the last one goes (its
            # avatar removed or rebuilt, or the entry unloaded), the counter stops too.
            if not self._listeners:
                self.async_stop()

        return _unsubscribe

    # --- feeds ------------------------------------------------------------------------------

    @callback
    def _on_update(self) -> None:
        snapshot = self.coordinator.data
        self._set_live(snapshot.stream_status is StreamStatus.STREAMING)

    @callback
    def _on_speech(self, event: SpeechEvent, data: Mapping[str, Any]) -> None:
        if event not in _ENDED_EVENTS or data.get("drive_id") is None:
            return
        self._counted[UsageKey.DRIVES] += 1
        seconds = data.get("audio_seconds")
        if isinstance(seconds, int | float) and seconds > 0:
            self._counted[UsageKey.AUDIO_SENT] += float(seconds)
        self._notify()

    @callback
    def _set_live(self, live: bool) -> None:
        if live == self.live:
            return
        now = self._now()
        if live:
            self._live_since = now
            self._unsub_tick = async_track_time_interval(
                self.hass, self._tick, LIVE_UPDATE_INTERVAL, cancel_on_shutdown=True
            )
        else:
            if self._live_since is not None:
                self._counted[UsageKey.STREAM_TIME] += max(0.0, now - self._live_since)
            self._live_since = None
            if self._unsub_tick is not None:
                self._unsub_tick()
                self._unsub_tick = None
        self._notify()

    @callback
    def _tick(self, _now: Any) -> None:
        self._notify()

    @callback
    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

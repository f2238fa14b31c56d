"""The digital human's portrait (GetDigitalHumanInfo's AvatarUrl), kept fresh.

ZEGO signs the URL for 24 hours. It is fetched when the entry loads and again well before
it expires; a failed refresh keeps the last URL until that one expires, retrying meanwhile.
The portrait is the media player's picture and the card's poster.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .client import ZegoError
from .const import DOMAIN, LOGGER

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from homeassistant.config_entries import ConfigEntry

    from .client import ZegoClient

# ZEGO: AvatarUrl is valid for 24 h from the answer.
PORTRAIT_VALIDITY = 24 * 3600.0
# Refreshed with hours to spare, so a ZEGO outage of a few hours never shows a broken image.
PORTRAIT_REFRESH_AFTER = 18 * 3600.0
PORTRAIT_RETRY = 600.0


class Portrait:
    """One avatar's portrait URL and its refresh schedule."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        client: ZegoClient,
        digital_human_id: str,
    ) -> None:
        """Hold nothing yet; `async_refresh` fetches the first URL."""
        self._hass = hass
        self._entry = entry
        self._client = client
        self.digital_human_id = digital_human_id
        self._url: str | None = None
        self._expires_at: datetime | None = None
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._listeners: list[Callable[[], None]] = []
        self.closed = False
        # The URL listeners last heard of: an expiry is news too.
        self._announced: str | None = None

    @property
    def url(self) -> str | None:
        """Return the portrait's URL while it is valid."""
        if self._expires_at is None or dt_util.utcnow() >= self._expires_at:
            return None
        return self._url

    @property
    def expires_at(self) -> datetime | None:
        """Return when the current URL stops working (None without one)."""
        return self._expires_at if self.url is not None else None

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` whenever the URL changes; returns the unsubscriber."""
        self._listeners.append(listener)

        @callback
        def _remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return _remove

    async def async_refresh(self) -> None:
        """Fetch the URL now; schedule the next refresh (or a retry after a failure)."""
        self._cancel_timer()
        if self.closed:
            return
        try:
            human = await self._client.get_digital_human_info(self.digital_human_id)
        except ZegoError as err:
            LOGGER.debug("Portrait of %s not refreshed: %s", self.digital_human_id, err)
            self._schedule(self._retry_delay())
        else:
            self._url = human.avatar_url
            self._expires_at = dt_util.utcnow() + timedelta(seconds=PORTRAIT_VALIDITY)
            self._schedule(PORTRAIT_REFRESH_AFTER)
        if self.url != self._announced:
            self._announced = self.url
            self._notify()

    @callback
    def async_shutdown(self) -> None:
        """Stop refreshing (entry unloaded)."""
        self.closed = True
        self._cancel_timer()
        self._listeners.clear()

    def _retry_delay(self) -> float:
        """Retry soon; if the held URL expires first, wake then to drop it."""
        if self._expires_at is None:
            return PORTRAIT_RETRY
        left = (self._expires_at - dt_util.utcnow()).total_seconds()
        return PORTRAIT_RETRY if left <= 0 else min(PORTRAIT_RETRY, left)

    @callback
    def _schedule(self, delay: float) -> None:
        if self.closed:
            return

        @callback
        def _fire(_now: datetime) -> None:
            self._unsub_timer = None
            # Tracked (not a background task): one bounded request, awaited by an unload.
            self._entry.async_create_task(
                self._hass, self.async_refresh(), f"{DOMAIN} portrait {self.digital_human_id}"
            )

        self._unsub_timer = async_call_later(self._hass, delay, _fire)

    @callback
    def _cancel_timer(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    @callback
    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

"""The avatar as a notify entity: notify.send_message makes it say the message.

A title, when given, is said first as its own sentence ("Front door. A visitor is
here."): on a kiosk the avatar is the only channel, so nothing of the call is dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.notify import (
    NotifyEntity,
    NotifyEntityDescription,
    NotifyEntityFeature,
)
from homeassistant.exceptions import ServiceValidationError

from .const import DOMAIN
from .entity import ZegoAvatarEntity, async_add_avatar_entities
from .speech import WaitFor

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import AvatarCoordinator, ZegoConfigEntry
    from .speech import SpeechManager

# Requests are serialised per avatar by its speech queue, not by HA.
PARALLEL_UPDATES = 0

DESCRIPTION = NotifyEntityDescription(
    key="notify",
    name=None,  # the avatar's own name: notify.<avatar>
)

# Full-width ends too: ZEGO's avatars often speak Chinese.
_SENTENCE_END = (".", "!", "?", "。", "！", "？")  # noqa: RUF001


def spoken_text(message: str, title: str | None) -> str:
    """Return what the avatar says for a notification: the title as a sentence, then it."""
    title = (title or "").strip()
    if not title:
        return message
    if not title.endswith(_SENTENCE_END):
        title += "."
    return f"{title} {message}"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZegoConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one notify entity per avatar, each to its own subentry."""
    async_add_avatar_entities(
        hass,
        entry,
        async_add_entities,
        lambda coordinator, speech: [ZegoAvatarNotify(coordinator, speech)],
    )


class ZegoAvatarNotify(ZegoAvatarEntity, NotifyEntity):
    """Notifications spoken by the avatar."""

    _attr_supported_features = NotifyEntityFeature.TITLE

    def __init__(self, coordinator: AvatarCoordinator, speech: SpeechManager) -> None:
        """Bind the entity to its avatar and the avatar's speech manager."""
        super().__init__(coordinator, DESCRIPTION)
        self._speech = speech

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Say the notification; returns once the avatar has started saying it."""
        if not message.strip():
            # Checked before the title is added: a title alone is not a notification.
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="empty_message")
        await self._speech.async_say(spoken_text(message, title), wait=WaitFor.STARTED)

"""What the local emulator says about itself (the `DescribeEmulator` probe).

Real ZEGO answers the probe with "unknown action"; only the emulator answers it, with the
addresses of its preview feed. Nothing here guesses from a host name or a port.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True, kw_only=True, slots=True)
class EmulatorPreview:
    """The emulator's stand-in for the avatar's video: a feed of driven audio and a face."""

    feed_url: str
    face_url: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self | None:
        """Parse the probe's Data; None unless it is exactly the emulator's answer."""
        if data.get("Emulator") is not True:
            return None
        feed_url = _url_with_scheme(data.get("PreviewFeedUrl"), ("ws", "wss"))
        face_url = _url_with_scheme(data.get("PreviewFaceUrl"), ("http", "https"))
        if feed_url is None or face_url is None:
            return None
        return cls(feed_url=feed_url, face_url=face_url)


def _url_with_scheme(value: object, schemes: tuple[str, ...]) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme in schemes and parts.hostname else None

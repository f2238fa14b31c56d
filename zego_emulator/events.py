"""Callback-shaped events (zego-api.md §8), recorded instead of POSTed.

Each event is the body ZEGO would POST to the project's callback URL, signed with the
CallbackSecret: sha1 of the lexicographically sorted [secret, Timestamp, Nonce], lower hex.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

TASK_STATUS_EVENT = 3
DRIVE_STATUS_EVENT = 4


def callback_signature(callback_secret: str, timestamp: str, nonce: str) -> str:
    """ZEGO's callback signature."""
    joined = "".join(sorted([callback_secret, timestamp, nonce]))
    return hashlib.sha1(joined.encode(), usedforsecurity=False).hexdigest()


def build_event(
    *,
    app_id: int,
    task_id: str,
    event_type: int,
    detail: dict[str, Any],
    now: float,
    callback_secret: str,
    timestamp_ms: bool,
) -> dict[str, Any]:
    """One signed callback body; `now` is Unix seconds on the emulator's clock."""
    nonce = secrets.token_hex(5)
    timestamp = str(int(now * 1000) if timestamp_ms else int(now))
    return {
        "AppId": app_id,
        "TaskId": task_id,
        "EventType": event_type,
        "Nonce": nonce,
        "Timestamp": timestamp,
        "Signature": callback_signature(callback_secret, timestamp, nonce),
        "EventTime": int(now * 1000),
        "Detail": detail,
    }

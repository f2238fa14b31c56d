"""Typed request and response models of the ZEGO Digital Human API.

`from_api` parses ZEGO's wire payloads (PascalCase keys) and raises KeyError, TypeError or
ValueError on a payload of the wrong shape; the REST client turns those into a
ZegoResponseError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urlsplit

from .const import DriveStatus, StreamTaskStatus

__all__ = [
    "DigitalHuman",
    "DigitalHumanAction",
    "DigitalHumanPage",
    "DriveStatus",
    "StreamTask",
    "StreamTaskSpec",
    "StreamTaskStatus",
    "Timbre",
    "TimbrePage",
    "WsDriveTicket",
    "ZegoEnvelope",
]


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is not a string")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError(f"{key} is not a string")
    return value


def _int(data: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value: object = data.get(key, default)
    # bool is an int subclass; a boolean here means a malformed payload.
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.isdigit():
            return int(value)
        raise TypeError(f"{key} is not an integer")
    return value


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"{key} is not a list")
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class ZegoEnvelope:
    """The common response envelope: Code, Message, RequestId and Data."""

    code: int
    message: str | None
    request_id: str | None
    data: Mapping[str, Any]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        """Parse an envelope; a missing, null or non-object Data becomes {}."""
        payload = data.get("Data")
        message = data.get("Message")
        request_id = data.get("RequestId")
        return cls(
            code=_int(data, "Code"),
            message=message if isinstance(message, str) else None,
            request_id=request_id if isinstance(request_id, str) else None,
            data=payload if isinstance(payload, Mapping) else {},
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class StreamTaskSpec:
    """What CreateDigitalHumanStreamTask needs."""

    digital_human_id: str
    room_id: str
    stream_id: str
    ttl: int | None = None
    max_idle_time: int | None = None
    background_color: str | None = None

    def to_api(self) -> dict[str, Any]:
        """Return the request body; unset optional fields are left to ZEGO's defaults."""
        human: dict[str, Any] = {"DigitalHumanId": self.digital_human_id}
        if self.background_color is not None:
            human["BackgroundColor"] = self.background_color
        body: dict[str, Any] = {
            "DigitalHumanConfig": human,
            "RTCConfig": {"RoomId": self.room_id, "StreamId": self.stream_id},
        }
        if self.ttl is not None:
            body["TTL"] = self.ttl
        if self.max_idle_time is not None:
            body["MaxIdleTime"] = self.max_idle_time
        return body


@dataclass(frozen=True, kw_only=True, slots=True)
class StreamTask:
    """A stream task as QueryDigitalHumanStreamTasks / GetStatus describe it."""

    task_id: str
    room_id: str
    stream_id: str
    status: StreamTaskStatus
    create_time: int  # Unix seconds, as ZEGO sends it
    fail_reason: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, task_id: str | None = None) -> Self:
        """Parse a task; GetStatus omits TaskId, so the caller passes it as `task_id`."""
        return cls(
            task_id=_str(data, "TaskId") if task_id is None else task_id,
            room_id=_opt_str(data, "RoomId") or "",
            stream_id=_opt_str(data, "StreamId") or "",
            status=StreamTaskStatus(_int(data, "Status")),
            create_time=_int(data, "CreateTime", 0),
            fail_reason=_opt_str(data, "FailReason"),
        )

    @property
    def created_at(self) -> datetime | None:
        """Return the creation time as an aware datetime (None when ZEGO sent none)."""
        if not self.create_time:
            return None
        return datetime.fromtimestamp(self.create_time, tz=UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class DigitalHumanAction:
    """A gesture a digital human can perform (GetDigitalHumanInfo.Actions)."""

    action: str
    preview_url: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        """Parse one entry of `Actions`."""
        return cls(action=_str(data, "Action"), preview_url=_opt_str(data, "PreviewUrl"))


@dataclass(frozen=True, kw_only=True, slots=True)
class DigitalHuman:
    """A digital human (avatar) available to the AppId."""

    digital_human_id: str
    name: str
    avatar_url: str | None
    is_public: bool
    actions: tuple[DigitalHumanAction, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        """Parse GetDigitalHumanInfo.Data or one GetDigitalHumanList entry."""
        return cls(
            digital_human_id=_str(data, "DigitalHumanId"),
            name=_opt_str(data, "Name") or "",
            avatar_url=_opt_str(data, "AvatarUrl"),
            is_public=bool(data.get("IsPublic", False)),
            actions=tuple(DigitalHumanAction.from_api(item) for item in _list(data, "Actions")),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class DigitalHumanPage:
    """One page of GetDigitalHumanList."""

    total: int
    digital_humans: tuple[DigitalHuman, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        """Parse GetDigitalHumanList.Data."""
        humans = tuple(DigitalHuman.from_api(item) for item in _list(data, "DigitalHumans"))
        return cls(total=_int(data, "Total", len(humans)), digital_humans=humans)


@dataclass(frozen=True, kw_only=True, slots=True)
class Timbre:
    """A TTS voice usable with DriveByText."""

    timbre_id: str
    name: str
    avatar_url: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        """Parse one GetTimbreList entry."""
        return cls(
            timbre_id=_str(data, "TimbreId"),
            name=_opt_str(data, "Name") or "",
            avatar_url=_opt_str(data, "AvatarUrl"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class TimbrePage:
    """One page of GetTimbreList."""

    total: int
    timbres: tuple[Timbre, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        """Parse GetTimbreList.Data."""
        timbres = tuple(Timbre.from_api(item) for item in _list(data, "Timbres"))
        return cls(total=_int(data, "Total", len(timbres)), timbres=timbres)


@dataclass(frozen=True, kw_only=True, slots=True)
class WsDriveTicket:
    """What DriveByWsStream returns: a DriveId and the WebSocket address.

    The address carries a bearer token in its query, so it is kept out of repr and logs.
    """

    drive_id: str
    wss_address: str = field(repr=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        """Parse DriveByWsStream.Data."""
        return cls(drive_id=_str(data, "DriveId"), wss_address=_str(data, "WssAddress"))

    @property
    def host(self) -> str:
        """Return host[:port] of the address: the only part of it that is safe to log."""
        parts = urlsplit(self.wss_address)
        host = parts.hostname or "?"
        return f"{host}:{parts.port}" if parts.port else host

"""Typed, strict readers for request bodies (zego-api.md §0 "Parameter validation").

ZEGO's backend decodes JSON into typed structs, so the emulator is as strict as such a decoder:
numbers must be JSON integers (not floats, strings or booleans), strings must be strings, objects
must be objects. Unknown fields are ignored. Every failure is 400000001 naming the field by its
dotted path (e.g. "RTCConfig.StreamId").
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from .codes import INVALID_PARAMETER, ApiError, invalid

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

STREAM_ID_RE = re.compile(r"[0-9A-Za-z_-]+")
COLOR_RE = re.compile(r"#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})")
_MISSING = object()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or 400000001."""
    if not raw.strip():
        raise ApiError(INVALID_PARAMETER, "Invalid parameter: request body must be a JSON object")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as err:
        raise ApiError(
            INVALID_PARAMETER, f"Invalid parameter: request body is not valid JSON ({err})"
        ) from None
    if not isinstance(data, dict):
        raise ApiError(INVALID_PARAMETER, "Invalid parameter: request body must be a JSON object")
    return data


class Body:
    """One JSON object of a request, read field by field."""

    def __init__(self, data: Mapping[str, Any], *, prefix: str = "", null_as_absent: bool) -> None:
        self._data = data
        self._prefix = prefix
        self._null_as_absent = null_as_absent

    def path(self, name: str) -> str:
        """The dotted name of a field, as Messages show it."""
        return f"{self._prefix}{name}"

    def _get(self, name: str) -> Any:
        value = self._data.get(name, _MISSING)
        if value is None and self._null_as_absent:
            return _MISSING
        return value

    def obj(self, name: str, *, required: bool) -> Body | None:
        """A nested object."""
        value = self._get(name)
        if value is _MISSING:
            if required:
                raise invalid(self.path(name), "is required")
            return None
        if not isinstance(value, dict):
            raise invalid(self.path(name), "must be an object")
        return Body(value, prefix=f"{self.path(name)}.", null_as_absent=self._null_as_absent)

    def string(
        self,
        name: str,
        *,
        required: bool,
        max_bytes: int | None = None,
        max_chars: int | None = None,
        allow_empty: bool = False,
    ) -> str | None:
        """A string field; required ones must also be non-empty unless `allow_empty`."""
        value = self._get(name)
        if value is _MISSING:
            if required:
                raise invalid(self.path(name), "is required")
            return None
        if not isinstance(value, str):
            raise invalid(self.path(name), "must be a string")
        if not value and not allow_empty:
            raise invalid(self.path(name), "must not be empty")
        if max_bytes is not None and len(value.encode("utf-8")) > max_bytes:
            raise invalid(self.path(name), f"must be at most {max_bytes} bytes")
        if max_chars is not None and len(value) > max_chars:
            raise invalid(self.path(name), f"must be at most {max_chars} characters")
        return value

    def integer(
        self,
        name: str,
        *,
        default: int | None = None,
        required: bool = False,
        low: int | None = None,
        high: int | None = None,
        choices: Collection[int] | None = None,
    ) -> int | None:
        """An integer field within [low, high] or among `choices`; `default` when absent."""
        value = self._get(name)
        if value is _MISSING:
            if required:
                raise invalid(self.path(name), "is required")
            return default
        # bool is an int subclass in Python but never a JSON number
        if type(value) is not int:
            raise invalid(self.path(name), "must be an integer")
        if choices is not None and value not in choices:
            allowed = ", ".join(str(c) for c in sorted(choices))
            raise invalid(self.path(name), f"must be one of {allowed} (got {value})")
        if (low is not None and value < low) or (high is not None and value > high):
            raise invalid(self.path(name), f"must be in [{low}, {high}] (got {value})")
        return value

    def required_int(self, name: str, **kwargs: Any) -> int:
        """`integer` for a field that has a default, so the result is never None."""
        value = self.integer(name, **kwargs)
        if value is None:  # pragma: no cover - callers always pass a default
            raise invalid(self.path(name), "is required")
        return value

    def required_str(self, name: str, **kwargs: Any) -> str:
        """`string(required=True)` with a non-None type."""
        value = self.string(name, required=True, **kwargs)
        if value is None:  # pragma: no cover - required=True raised already
            raise invalid(self.path(name), "is required")
        return value

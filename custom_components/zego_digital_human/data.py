"""The settings of an avatar (a config subentry), parsed and typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .client import StreamTaskSpec
from .const import (
    CONF_BACKGROUND_COLOR,
    CONF_DIGITAL_HUMAN_ID,
    CONF_KEEP_ALIVE,
    CONF_LANGUAGE,
    CONF_MAX_IDLE_TIME,
    CONF_NAME,
    CONF_OVERLAP_POLICY,
    CONF_ROOM_ID,
    CONF_SAMPLE_RATE,
    CONF_STREAM_ID,
    CONF_STREAM_MODE,
    CONF_TASK_ID,
    CONF_TTL,
    CONF_TTS_ENGINE,
    CONF_VOICE_OPTIONS,
    DEFAULT_SAMPLE_RATE,
    OverlapPolicy,
    StreamMode,
)

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True, kw_only=True, slots=True)
class AvatarConfig:
    """The settings of one avatar subentry, typed."""

    name: str
    digital_human_id: str
    stream_mode: StreamMode
    # managed
    room_id: str | None = None
    stream_id: str | None = None
    ttl: int | None = None
    max_idle_time: int | None = None
    background_color: str | None = None
    keep_alive: bool = False
    # attached
    task_id: str | None = None
    # speech defaults
    tts_engine: str | None = None
    language: str | None = None
    voice_options: Mapping[str, Any] = field(default_factory=dict)
    sample_rate: int = DEFAULT_SAMPLE_RATE
    overlap_policy: OverlapPolicy = OverlapPolicy.INTERRUPT

    @classmethod
    def from_subentry_data(cls, data: Mapping[str, Any]) -> AvatarConfig:
        """Parse the data a subentry flow stored."""

        def _opt_str(key: str) -> str | None:
            value = data.get(key)
            return str(value) if value not in (None, "") else None

        def _opt_int(key: str) -> int | None:
            value = data.get(key)
            return int(value) if value is not None else None

        return cls(
            name=str(data[CONF_NAME]),
            digital_human_id=str(data[CONF_DIGITAL_HUMAN_ID]),
            stream_mode=StreamMode(data[CONF_STREAM_MODE]),
            room_id=_opt_str(CONF_ROOM_ID),
            stream_id=_opt_str(CONF_STREAM_ID),
            ttl=_opt_int(CONF_TTL),
            max_idle_time=_opt_int(CONF_MAX_IDLE_TIME),
            background_color=_opt_str(CONF_BACKGROUND_COLOR),
            keep_alive=bool(data.get(CONF_KEEP_ALIVE, False)),
            task_id=_opt_str(CONF_TASK_ID),
            tts_engine=_opt_str(CONF_TTS_ENGINE),
            language=_opt_str(CONF_LANGUAGE),
            voice_options=dict(data.get(CONF_VOICE_OPTIONS) or {}),
            sample_rate=int(data.get(CONF_SAMPLE_RATE, DEFAULT_SAMPLE_RATE)),
            overlap_policy=OverlapPolicy(data.get(CONF_OVERLAP_POLICY, OverlapPolicy.INTERRUPT)),
        )

    @property
    def managed(self) -> bool:
        """Return True when HA owns the stream task."""
        return self.stream_mode is StreamMode.MANAGED

    def stream_spec(self) -> StreamTaskSpec:
        """Return what CreateDigitalHumanStreamTask needs for a managed avatar."""
        if self.room_id is None or self.stream_id is None:
            raise ValueError("a managed avatar needs a RoomId and a StreamId")
        return StreamTaskSpec(
            digital_human_id=self.digital_human_id,
            room_id=self.room_id,
            stream_id=self.stream_id,
            ttl=self.ttl,
            max_idle_time=self.max_idle_time,
            background_color=self.background_color,
        )

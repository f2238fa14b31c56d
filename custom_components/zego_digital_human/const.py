"""Constants of the ZEGO Digital Human integration."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
import logging
from typing import Final

DOMAIN: Final = "zego_digital_human"
LOGGER = logging.getLogger(__package__)

# Config entry (one ZEGO project).
CONF_APP_ID: Final = "app_id"
CONF_SERVER_SECRET: Final = "server_secret"  # noqa: S105 - a config key, not a secret
CONF_ENDPOINT: Final = "endpoint"
# Account options (advanced): how player tokens are encrypted, and the player's RTC server.
CONF_TOKEN_VARIANT: Final = "token_variant"  # noqa: S105 - a config key
CONF_RTC_SERVER: Final = "rtc_server"

# Config subentry (one avatar).
SUBENTRY_TYPE_AVATAR: Final = "avatar"
CONF_NAME: Final = "name"
CONF_DIGITAL_HUMAN_ID: Final = "digital_human_id"
CONF_STREAM_MODE: Final = "stream_mode"
CONF_ROOM_ID: Final = "room_id"
CONF_STREAM_ID: Final = "stream_id"
CONF_TTL: Final = "ttl"
CONF_MAX_IDLE_TIME: Final = "max_idle_time"
CONF_BACKGROUND_COLOR: Final = "background_color"
CONF_KEEP_ALIVE: Final = "keep_alive"
CONF_TASK_ID: Final = "task_id"
CONF_TTS_ENGINE: Final = "tts_engine"
CONF_LANGUAGE: Final = "language"
CONF_VOICE_OPTIONS: Final = "voice_options"
CONF_SAMPLE_RATE: Final = "sample_rate"
CONF_OVERLAP_POLICY: Final = "overlap_policy"

# ZEGO's documented bounds (zego-api.md §5.1).
TTL_MIN: Final = 10
TTL_MAX: Final = 86400
MAX_IDLE_TIME_MIN: Final = 30
MAX_IDLE_TIME_MAX: Final = 86400
ID_MAX_BYTES: Final = 128
APP_ID_MAX: Final = 2**32 - 1  # AppId is a uint32

DEFAULT_TTL: Final = TTL_MAX
DEFAULT_MAX_IDLE_TIME: Final = 900
DEFAULT_BACKGROUND_COLOR: Final = "#000000"
DEFAULT_SAMPLE_RATE: Final = 16000
SAMPLE_RATES: Final = (16000, 24000)

# One GetDigitalHumanStreamTaskStatus per avatar per interval, and none without a task.
STATUS_POLL_INTERVAL: Final = timedelta(seconds=30)

# Waiting for a new task to stream: backoff between status checks, bounded overall.
# The cap bounds how late a started stream is noticed (the first words wait for it);
# 1 s keeps even ten avatars starting together within ZEGO's 10 requests/s per action.
STREAM_START_TIMEOUT: Final = 60.0
STREAM_START_POLL_INITIAL: Final = 0.25
STREAM_START_POLL_MAX: Final = 1.0

# A status seen this recently is trusted by ensure_streaming without asking ZEGO again.
STATUS_FRESHNESS: Final = 2.0

# Sensor states may not exceed 255 characters.
MAX_STATE_LENGTH: Final = 255

SERVICE_START_STREAM: Final = "start_stream"
SERVICE_STOP_STREAM: Final = "stop_stream"
SERVICE_INTERRUPT: Final = "interrupt"
SERVICE_SPEAK: Final = "speak"
SERVICE_PLAY_AUDIO: Final = "play_audio"

ATTR_MESSAGE: Final = "message"
ATTR_TTS_ENGINE: Final = "tts_engine"
ATTR_LANGUAGE: Final = "language"
ATTR_OPTIONS: Final = "options"
ATTR_POLICY: Final = "policy"
ATTR_WAIT: Final = "wait"
ATTR_MEDIA_ID: Final = "media_id"

ATTR_ROOM_ID: Final = "room_id"
ATTR_STREAM_ID: Final = "stream_id"
ATTR_FAIL_REASON: Final = "fail_reason"


class AvatarState(StrEnum):
    """What the avatar is doing, as the avatar state sensor shows it."""

    OFFLINE = "offline"
    STARTING = "starting"
    READY = "ready"
    SPEAKING = "speaking"
    ERROR = "error"


class StreamMode(StrEnum):
    """Who owns the avatar's stream task."""

    MANAGED = "managed"  # HA creates, re-creates and stops it
    ATTACHED = "attached"  # created elsewhere; HA only drives it


class OverlapPolicy(StrEnum):
    """What a new speech request does while the avatar is speaking."""

    INTERRUPT = "interrupt"
    QUEUE = "queue"


class StreamStatus(StrEnum):
    """The stream task's status as the stream status sensor shows it."""

    NO_TASK = "no_task"
    INITIALIZING = "initializing"
    INIT_FAILED = "init_failed"
    STREAMING = "streaming"
    STOPPING = "stopping"
    STOPPED = "stopped"


class SpeechEvent(StrEnum):
    """Event types of the speech event entity."""

    STARTED = "speech_started"
    FINISHED = "speech_finished"
    INTERRUPTED = "speech_interrupted"
    FAILED = "speech_failed"

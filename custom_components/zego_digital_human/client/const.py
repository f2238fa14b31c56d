"""Constants of the ZEGO Digital Human server API (see docs/zego-api.md)."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Final

DEFAULT_ENDPOINT: Final = "https://aigc-digitalhuman-api.zegotech.cn"
SIGNATURE_VERSION: Final = "2.0"

# ZEGO documents 10 requests per second for every action.
RATE_LIMIT_REQUESTS: Final = 10
RATE_LIMIT_WINDOW: Final = 1.0

# The WebSocket drive accepts only these PCM sample rates (s16le, mono).
SUPPORTED_SAMPLE_RATES: Final = (16000, 24000)
PCM_SAMPLE_WIDTH: Final = 2
PCM_CHANNELS: Final = 1

# Paging bounds of the list actions (GetDigitalHumanList, GetTimbreList).
MAX_PAGE_LIMIT: Final = 20


class ZegoAction(StrEnum):
    """Names of the server actions, as sent in the `Action` query parameter."""

    CREATE_STREAM_TASK = "CreateDigitalHumanStreamTask"
    STOP_STREAM_TASK = "StopDigitalHumanStreamTask"
    QUERY_STREAM_TASKS = "QueryDigitalHumanStreamTasks"
    GET_STREAM_TASK_STATUS = "GetDigitalHumanStreamTaskStatus"
    DRIVE_BY_WS_STREAM = "DriveByWsStream"
    DRIVE_BY_TEXT = "DriveByText"
    DRIVE_BY_AUDIO = "DriveByAudio"
    INTERRUPT_DRIVE_TASK = "InterruptDriveTask"
    GET_DIGITAL_HUMAN_LIST = "GetDigitalHumanList"
    GET_DIGITAL_HUMAN_INFO = "GetDigitalHumanInfo"
    GET_TIMBRE_LIST = "GetTimbreList"
    # Not ZEGO's: only the local emulator answers it (ZEGO says "unknown action"), which is
    # how an account learns that its endpoint is the emulator.
    DESCRIBE_EMULATOR = "DescribeEmulator"


class StreamTaskStatus(IntEnum):
    """Status of a digital human stream task (zego-api.md §7.1)."""

    INITIALIZING = 1
    INIT_FAILED = 2
    STREAMING = 3
    STOPPING = 4
    STOPPED = 5


class DriveStatus(IntEnum):
    """Status of a drive task (zego-api.md §7.2)."""

    QUEUED = 1
    DRIVING = 2
    FAILED = 3
    ENDED = 4


class FetchMode(IntEnum):
    """Which digital humans GetDigitalHumanList returns."""

    ALL = 1
    PUBLIC = 2
    PRIVATE = 3

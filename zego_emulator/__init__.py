"""A strict local stand-in for ZEGO's AIGC Digital Human cloud API (REST + WebSocket PCM drive).

    async with ZegoEmulator(EmulatorConfig(time_scale=0.01)) as emu:
        ...  # point a client at emu.endpoint with emu.config.app_id / emu.config.server_secret

See README.md in this package for the settings, the admin API and the WebSocket close codes.
"""

from __future__ import annotations

from .config import (
    DEMO_APP_ID,
    DEMO_SERVER_SECRET,
    ActionSpec,
    DigitalHumanSpec,
    EmulatorConfig,
    TimbreSpec,
)
from .faults import Fault
from .records import DriveRecord, DriveStatus, RequestRecord, TaskRecord, TaskStatus
from .server import DriveStatusError, ZegoEmulator

__all__ = [
    "DEMO_APP_ID",
    "DEMO_SERVER_SECRET",
    "ActionSpec",
    "DigitalHumanSpec",
    "DriveRecord",
    "DriveStatus",
    "DriveStatusError",
    "EmulatorConfig",
    "Fault",
    "RequestRecord",
    "TaskRecord",
    "TaskStatus",
    "TimbreSpec",
    "ZegoEmulator",
]

"""Parameter validation (zego-api.md §0 table): 400000001 naming the field; edges accepted."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import pytest

from zego_emulator.config import LOBBY_ANNA_ID, PUBLIC_TIMBRE_SUNNY

from .conftest import fast_config

if TYPE_CHECKING:
    from zego_emulator import EmulatorConfig, ZegoEmulator

    from .signing import Api

FAKE_TASK = "00000000-0000-4000-8000-000000000000"

CREATE = {
    "DigitalHumanConfig": {"DigitalHumanId": LOBBY_ANNA_ID},
    "RTCConfig": {"RoomId": "room", "StreamId": "stream"},
}
TEXT = {"TaskId": FAKE_TASK, "Text": "hello", "TTSConfig": {"TimbreId": PUBLIC_TIMBRE_SUNNY}}
AUDIO = {"TaskId": FAKE_TASK, "AudioUrl": "https://example.invalid/a.mp3"}
_ABSENT = object()


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `base` with the dotted `path` set (or removed when value is _ABSENT)."""
    body = copy.deepcopy(base)
    *parents, leaf = path.split(".")
    node = body
    for name in parents:
        node = node[name]
    if value is _ABSENT:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return body


REJECT: list[tuple[str, dict[str, Any], str, Any, str]] = [
    # (action, base, dotted path, value, field named in Message)
    ("CreateDigitalHumanStreamTask", CREATE, "DigitalHumanConfig", _ABSENT, "DigitalHumanConfig"),
    ("CreateDigitalHumanStreamTask", CREATE, "DigitalHumanConfig", "x", "DigitalHumanConfig"),
    (
        "CreateDigitalHumanStreamTask",
        CREATE,
        "DigitalHumanConfig.DigitalHumanId",
        _ABSENT,
        "DigitalHumanConfig.DigitalHumanId",
    ),
    (
        "CreateDigitalHumanStreamTask",
        CREATE,
        "DigitalHumanConfig.DigitalHumanId",
        5,
        "DigitalHumanConfig.DigitalHumanId",
    ),
    (
        "CreateDigitalHumanStreamTask",
        CREATE,
        "DigitalHumanConfig.DigitalHumanId",
        "",
        "DigitalHumanConfig.DigitalHumanId",
    ),
    (
        "CreateDigitalHumanStreamTask",
        CREATE,
        "DigitalHumanConfig.BackgroundColor",
        "white",
        "DigitalHumanConfig.BackgroundColor",
    ),
    (
        "CreateDigitalHumanStreamTask",
        CREATE,
        "DigitalHumanConfig.BackgroundColor",
        "#fff",
        "DigitalHumanConfig.BackgroundColor",
    ),
    (
        "CreateDigitalHumanStreamTask",
        CREATE,
        "DigitalHumanConfig.BackgroundColor",
        "#GGGGGG",
        "DigitalHumanConfig.BackgroundColor",
    ),
    (
        "CreateDigitalHumanStreamTask",
        CREATE,
        "DigitalHumanConfig.BackgroundColor",
        "ffffff",
        "DigitalHumanConfig.BackgroundColor",
    ),
    ("CreateDigitalHumanStreamTask", CREATE, "RTCConfig", _ABSENT, "RTCConfig"),
    ("CreateDigitalHumanStreamTask", CREATE, "RTCConfig.RoomId", _ABSENT, "RTCConfig.RoomId"),
    ("CreateDigitalHumanStreamTask", CREATE, "RTCConfig.RoomId", "", "RTCConfig.RoomId"),
    ("CreateDigitalHumanStreamTask", CREATE, "RTCConfig.RoomId", "r" * 129, "RTCConfig.RoomId"),
    # 65 characters but 130 bytes: the limit is in bytes
    ("CreateDigitalHumanStreamTask", CREATE, "RTCConfig.RoomId", "é" * 65, "RTCConfig.RoomId"),
    ("CreateDigitalHumanStreamTask", CREATE, "RTCConfig.StreamId", _ABSENT, "RTCConfig.StreamId"),
    ("CreateDigitalHumanStreamTask", CREATE, "RTCConfig.StreamId", "", "RTCConfig.StreamId"),
    ("CreateDigitalHumanStreamTask", CREATE, "RTCConfig.StreamId", "s" * 129, "RTCConfig.StreamId"),
    ("CreateDigitalHumanStreamTask", CREATE, "RTCConfig.StreamId", "a b", "RTCConfig.StreamId"),
    ("CreateDigitalHumanStreamTask", CREATE, "RTCConfig.StreamId", "a.b", "RTCConfig.StreamId"),
    ("CreateDigitalHumanStreamTask", CREATE, "RTCConfig.StreamId", "流", "RTCConfig.StreamId"),
    ("CreateDigitalHumanStreamTask", CREATE, "TTL", 9, "TTL"),
    ("CreateDigitalHumanStreamTask", CREATE, "TTL", 86401, "TTL"),
    ("CreateDigitalHumanStreamTask", CREATE, "TTL", "100", "TTL"),
    ("CreateDigitalHumanStreamTask", CREATE, "TTL", 100.0, "TTL"),
    ("CreateDigitalHumanStreamTask", CREATE, "TTL", True, "TTL"),
    ("CreateDigitalHumanStreamTask", CREATE, "TTL", None, "TTL"),
    ("CreateDigitalHumanStreamTask", CREATE, "MaxIdleTime", 29, "MaxIdleTime"),
    ("CreateDigitalHumanStreamTask", CREATE, "MaxIdleTime", 86401, "MaxIdleTime"),
    ("DriveByText", TEXT, "TaskId", _ABSENT, "TaskId"),
    ("DriveByText", TEXT, "TaskId", 7, "TaskId"),
    ("DriveByText", TEXT, "Text", _ABSENT, "Text"),
    ("DriveByText", TEXT, "Text", "", "Text"),
    ("DriveByText", TEXT, "Text", "x" * 1801, "Text"),
    ("DriveByText", TEXT, "Text", ["hi"], "Text"),
    ("DriveByText", TEXT, "InterruptMode", 2, "InterruptMode"),
    ("DriveByText", TEXT, "InterruptMode", -1, "InterruptMode"),
    ("DriveByText", TEXT, "TTSConfig", _ABSENT, "TTSConfig"),
    ("DriveByText", TEXT, "TTSConfig.TimbreId", _ABSENT, "TTSConfig.TimbreId"),
    ("DriveByText", TEXT, "TTSConfig.SpeechRate", 501, "TTSConfig.SpeechRate"),
    ("DriveByText", TEXT, "TTSConfig.SpeechRate", -501, "TTSConfig.SpeechRate"),
    ("DriveByText", TEXT, "TTSConfig.PitchRate", 501, "TTSConfig.PitchRate"),
    ("DriveByText", TEXT, "TTSConfig.PitchRate", -501, "TTSConfig.PitchRate"),
    ("DriveByText", TEXT, "TTSConfig.Volume", 0, "TTSConfig.Volume"),
    ("DriveByText", TEXT, "TTSConfig.Volume", 101, "TTSConfig.Volume"),
    ("DriveByAudio", AUDIO, "AudioUrl", _ABSENT, "AudioUrl"),
    ("DriveByAudio", AUDIO, "AudioUrl", "ftp://example.invalid/a.mp3", "AudioUrl"),
    ("DriveByAudio", AUDIO, "AudioUrl", "a.mp3", "AudioUrl"),
    ("DriveByAudio", AUDIO, "VoiceChannel", 3, "VoiceChannel"),
    ("DriveByAudio", AUDIO, "InterruptMode", 2, "InterruptMode"),
    ("GetDigitalHumanList", {}, "FetchMode", 0, "FetchMode"),
    ("GetDigitalHumanList", {}, "FetchMode", 4, "FetchMode"),
    ("GetDigitalHumanList", {}, "Offset", -1, "Offset"),
    ("GetDigitalHumanList", {}, "Offset", 1000001, "Offset"),
    ("GetDigitalHumanList", {}, "Limit", 0, "Limit"),
    ("GetDigitalHumanList", {}, "Limit", 21, "Limit"),
    ("GetTimbreList", {}, "Limit", 21, "Limit"),
    ("GetTimbreList", {}, "Offset", -1, "Offset"),
    ("GetTimbreList", {}, "DigitalHumanId", 3, "DigitalHumanId"),
    ("GetDigitalHumanInfo", {}, "DigitalHumanId", _ABSENT, "DigitalHumanId"),
    ("StopDigitalHumanStreamTask", {}, "TaskId", _ABSENT, "TaskId"),
    ("GetDigitalHumanStreamTaskStatus", {}, "TaskId", _ABSENT, "TaskId"),
    ("DriveByWsStream", {}, "TaskId", _ABSENT, "TaskId"),
    ("InterruptDriveTask", {}, "TaskId", "", "TaskId"),
    ("DoAction", {"TaskId": FAKE_TASK}, "Action", _ABSENT, "Action"),
    ("GetDriveStatus", {}, "TaskId", _ABSENT, "TaskId"),
]


@pytest.mark.parametrize(
    ("action", "base", "path", "value", "field"),
    REJECT,
    ids=[f"{a}-{p}={'absent' if v is _ABSENT else repr(v)[:12]}" for a, _, p, v, _ in REJECT],
)
async def test_invalid_parameter_names_the_field(
    api: Api, action: str, base: dict[str, Any], path: str, value: Any, field: str
) -> None:
    reply = await api.call(action, _with(base, path, value))
    assert reply.code == 400000001, reply.body
    assert reply.message.startswith(f"Invalid parameter: {field} "), reply.message


@pytest.fixture
def emu_config() -> EmulatorConfig:
    return fast_config(max_concurrent_tasks=100)


CREATE_ACCEPT = [
    ("TTL", 10),
    ("TTL", 86400),
    ("MaxIdleTime", 30),
    ("MaxIdleTime", 86400),
    ("RTCConfig.RoomId", "r" * 128),
    ("RTCConfig.RoomId", "房间 with spaces"),
    ("DigitalHumanConfig.BackgroundColor", "#A1b2C3"),
    ("DigitalHumanConfig.BackgroundColor", "#00000000"),
]


@pytest.mark.parametrize(("path", "value"), CREATE_ACCEPT, ids=lambda v: repr(v)[:16])
async def test_create_accepts_edges(api: Api, emu: ZegoEmulator, path: str, value: Any) -> None:
    reply = await api.call("CreateDigitalHumanStreamTask", _with(CREATE, path, value))
    assert reply.code == 0, reply.body


async def test_stream_id_edge_is_accepted(api: Api) -> None:
    stream_id = ("Az09_-" * 22)[:128]
    reply = await api.call(
        "CreateDigitalHumanStreamTask", _with(CREATE, "RTCConfig.StreamId", stream_id)
    )
    assert reply.code == 0, reply.body


async def test_defaults_are_applied(api: Api, emu: ZegoEmulator) -> None:
    task_id = await api.create_task()
    task = emu.tasks[task_id]
    assert (task.ttl, task.max_idle_time, task.background_color) == (86400, 900, "#000000")


TEXT_ACCEPT = [
    ("Text", "x" * 1800),
    ("Text", "字" * 1800),
    ("InterruptMode", 1),
    ("TTSConfig.SpeechRate", -500),
    ("TTSConfig.SpeechRate", 500),
    ("TTSConfig.PitchRate", 500),
    ("TTSConfig.Volume", 1),
    ("TTSConfig.Volume", 100),
]


@pytest.mark.parametrize(("path", "value"), TEXT_ACCEPT, ids=lambda v: repr(v)[:16])
async def test_drive_by_text_accepts_edges(api: Api, path: str, value: Any) -> None:
    task_id = await api.streaming_task()
    body = _with(_with(TEXT, "TaskId", task_id), path, value)
    reply = await api.call("DriveByText", body)
    assert reply.code == 0, reply.body


@pytest.mark.parametrize(("name", "value"), [("VoiceChannel", 2), ("InterruptMode", 1)])
async def test_drive_by_audio_accepts(api: Api, name: str, value: int) -> None:
    task_id = await api.streaming_task()
    body = {**AUDIO, "TaskId": task_id, name: value}
    assert (await api.call("DriveByAudio", body)).code == 0


@pytest.mark.parametrize(
    ("name", "value"), [("FetchMode", 3), ("Offset", 1000000), ("Limit", 1), ("Limit", 20)]
)
async def test_list_accepts_edges(api: Api, name: str, value: int) -> None:
    assert (await api.call("GetDigitalHumanList", {name: value})).code == 0


@pytest.mark.parametrize("emu_config", [fast_config(null_as_absent=True)])
async def test_null_as_absent_is_a_setting(api: Api) -> None:
    assert (await api.call("GetDigitalHumanList", {"Limit": None})).code == 0

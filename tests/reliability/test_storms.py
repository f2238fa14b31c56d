"""Storms: 200 speak calls within 2 s across 5 avatars, under each overlap policy.

interrupt: per avatar, the last request is spoken in full (sample-exact at the emulator)
and every earlier one ends interrupted. queue: every request is spoken, in order, none
lost. Always: one WebSocket at a time per task, no 400010009 (the shared rate limiter
keeps the client within ZEGO's QPS), and the event loop stays responsive.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from homeassistant.const import ATTR_ENTITY_ID
import pytest

from custom_components.zego_digital_human.const import DOMAIN, SpeechEvent
from tests.components.conftest import avatar_subentry, managed_avatar_data
from tests.speech.audio import assert_same_pcm, message_pcm
from tests.speech.tts_engine import ENGINE
from zego_emulator import DriveStatus, ZegoEmulator

from .conftest import TALLY, settle

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from tests.speech.tts_engine import EngineLog

AVATARS = 5
CALLS = 200
SPREAD = 2.0  # seconds over which the calls are made
RATE = 16000
RATE_LIMITED = 400010009


def _name(index: int) -> str:
    return f"Storm{index}"


@pytest.fixture(params=["interrupt", "queue"])
def policy(request: pytest.FixtureRequest) -> str:
    """The overlap policy of every avatar in the storm."""
    return str(request.param)


@pytest.fixture
def subentries_data(policy: str) -> list[dict[str, Any]]:
    """Five managed avatars with their own rooms and streams."""
    return [
        avatar_subentry(
            managed_avatar_data(
                name=_name(index),
                room_id=f"storm_room_{index}",
                stream_id=f"storm_stream_{index}",
                tts_engine=ENGINE,
                overlap_policy=policy,
            ),
            subentry_id=f"01JSTORM{index:018d}",
        )
        for index in range(AVATARS)
    ]


async def _lag_sampler(samples: list[float], stop: asyncio.Event) -> None:
    """How late a 20 ms sleep wakes up: the loop's responsiveness."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(0.02)
        samples.append(loop.time() - before - 0.02)


async def test_storm(
    hass: HomeAssistant,
    emulator: ZegoEmulator,
    engine_log: EngineLog,
    loaded_entry: MockConfigEntry,
    policy: str,
) -> None:
    """Fire the storm, wait for every outcome, then compare with the emulator's drives."""
    TALLY["storms"] += 1
    engine_log.seconds = 0.1
    avatars = loaded_entry.runtime_data.avatars
    outcomes: dict[str, list[tuple[SpeechEvent, str]]] = defaultdict(list)
    for coordinator in avatars.values():

        def listener(
            event: SpeechEvent, data: dict[str, Any], name: str = coordinator.config.name
        ) -> None:
            if event is not SpeechEvent.STARTED:
                outcomes[name].append((event, str(data.get("message"))))

        coordinator.async_add_speech_listener(listener)

    sent: dict[str, list[str]] = defaultdict(list)
    lag: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(_lag_sampler(lag, stop))
    calls = []
    for number in range(CALLS):
        name = _name(number % AVATARS)
        message = f"{name} message {number}"
        sent[name].append(message)
        calls.append(
            hass.async_create_task(
                hass.services.async_call(
                    DOMAIN,
                    "speak",
                    {ATTR_ENTITY_ID: f"media_player.{name.lower()}", "message": message},
                    blocking=True,
                )
            )
        )
        await asyncio.sleep(SPREAD / CALLS)
    async with asyncio.timeout(120):  # hang guard
        await asyncio.gather(*calls)
        for _ in range(2000):
            if sum(len(items) for items in outcomes.values()) >= CALLS:
                break
            await asyncio.sleep(0.05)
        for drive in list(emulator.drives):
            await emulator.wait_for_drive(drive.drive_id, timeout=30)
    stop.set()
    await sampler
    await settle(hass, emulator, within=30)

    actions = Counter(record.action for record in emulator.requests)
    print(  # figures for the report (pytest -s)
        f"storm {policy}: {len(emulator.drives)} drives, requests {dict(actions)},"
        f" max lag {max(lag):.3f} s"
    )
    assert emulator.max_ws_connections_per_task == 1
    assert [r for r in emulator.requests if r.code == RATE_LIMITED] == []
    assert max(lag) < 1.5, max(lag)  # generous: 2 shared cores

    task_of = {c.config.name: c.task_id for c in avatars.values()}
    for name, messages in sent.items():
        ended = outcomes[name]
        assert sorted(message for _, message in ended) == sorted(messages), name  # none lost
        drives = [d for d in emulator.drives if d.task_id == task_of[name] and d.audio]
        assert all(d.violations == [] for d in drives), name
        if policy == "queue":
            assert [message for _, message in ended] == messages, name  # in order
            assert {event for event, _ in ended} == {SpeechEvent.FINISHED}, name
            assert len(drives) == len(messages), name
            for drive, message in zip(drives, messages, strict=True):
                assert drive.status is DriveStatus.ENDED
                assert not drive.interrupted
                assert_same_pcm(drive.audio, message_pcm(message, RATE, 0.1))
        else:
            last = messages[-1]
            by_message = {message: event for event, message in ended}
            assert by_message[last] is SpeechEvent.FINISHED, name
            assert all(
                by_message[message] is SpeechEvent.INTERRUPTED for message in messages[:-1]
            ), name
            assert_same_pcm(drives[-1].audio, message_pcm(last, RATE, 0.1))
            assert not drives[-1].interrupted
            assert all(d.interrupted or d.status is DriveStatus.ENDED for d in drives[:-1])

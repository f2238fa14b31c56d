"""The speech queue with a fake drive: policies, windows, outcomes, cancellation."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.zego_digital_human.const import OverlapPolicy
from custom_components.zego_digital_human.speech import SpeechOutcome, WaitFor
from custom_components.zego_digital_human.speech.queue import (
    RunHooks,
    SpeechQueue,
    SpeechRequest,
)
from custom_components.zego_digital_human.speech.sources import AudioSource

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Pure unit tests: no hass needed (overrides the package-wide autouse fixture)."""


class FakeSource(AudioSource):
    def __init__(self, name: str, *, fail: bool = False, audio: float = 0.05) -> None:
        self.label = name
        self.event_data = {"message": name}
        self.fail = fail
        self.audio = audio

    async def pcm(self) -> AsyncIterator[bytes]:  # pragma: no cover - the fake drive skips it
        yield b""


@dataclass
class FakeDrive:
    """Pretends to drive: first frame after `setup`, streams for the audio's length minus a
    head start, then reports a playback end `tail` later. One drive at a time, like the lock."""

    setup: float = 0.01
    tail: float = 0.03
    log: list[tuple[str, str, float]] = field(default_factory=list)
    open_now: int = 0
    max_open: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def __call__(self, request: SpeechRequest, hooks: RunHooks) -> None:
        source = request.source
        assert isinstance(source, FakeSource)
        progress = request.progress
        assert progress is not None
        loop = asyncio.get_running_loop()
        # Like the pipeline: take over (cancelling the current request) before the drive lock.
        hooks.before_drive()
        async with self.lock:
            self.open_now += 1
            self.max_open = max(self.max_open, self.open_now)
            self.log.append(("open", source.label, loop.time()))
            try:
                progress.drive_id = f"drive-{source.label}"
                await asyncio.sleep(self.setup)
                if source.fail:
                    raise HomeAssistantError(f"{source.label} broke")
                hooks.first_frame(loop.time())
                progress.first_frame_at = loop.time()
                progress.playback_end_at = loop.time() + self.tail
                await asyncio.sleep(source.audio)
                progress.audio_seconds = source.audio + self.tail
                progress.playback_end_at = loop.time() + self.tail
                progress.completed = True
            finally:
                self.open_now -= 1
                self.log.append(("close", source.label, loop.time()))


@dataclass
class Reporter:
    events: list[tuple[str, str]] = field(default_factory=list)
    speaking: list[bool] = field(default_factory=list)

    def speech_started(self, request: SpeechRequest, /) -> None:
        self.events.append(("started", request.source.label))

    def speech_ended(self, request: SpeechRequest, /) -> None:
        kind = "failed" if request.error else str(request.outcome)
        self.events.append((kind, request.source.label))

    def speaking_changed(self, speaking: bool, /) -> None:
        self.speaking.append(speaking)

    def ended(self, kind: str) -> list[str]:
        return [name for event, name in self.events if event == kind]


@pytest.fixture
async def harness() -> AsyncIterator[tuple[SpeechQueue, FakeDrive, Reporter]]:
    drive = FakeDrive()
    reporter = Reporter()
    queue = SpeechQueue(drive, reporter, queue_gap=0.02)
    try:
        yield queue, drive, reporter
    finally:
        await queue.async_shutdown()


def request(name: str, policy: OverlapPolicy, **kwargs: Any) -> SpeechRequest:
    return SpeechRequest(FakeSource(name, **kwargs), policy)


async def test_queue_runs_all_in_order_after_playback(
    harness: tuple[SpeechQueue, FakeDrive, Reporter],
) -> None:
    queue, drive, reporter = harness
    requests = [request(f"r{i}", OverlapPolicy.QUEUE) for i in range(6)]
    for item in requests:
        queue.submit(item)
    results = [await item.wait(WaitFor.FINISHED) for item in requests]
    assert [r.outcome for r in results] == [SpeechOutcome.FINISHED] * 6
    assert reporter.ended("finished") == [f"r{i}" for i in range(6)]
    opens = [t for kind, _, t in drive.log if kind == "open"]
    ends = [item.progress.playback_end_at for item in requests if item.progress]
    # Each drive is issued only after the previous audio played out (plus the gap).
    for later_open, earlier_end in zip(opens[1:], ends[:-1], strict=True):
        assert earlier_end is not None
        assert later_open >= earlier_end
    assert drive.max_open == 1
    assert reporter.speaking[0] is True
    assert reporter.speaking[-1] is False
    assert not queue.busy


async def test_interrupt_keeps_only_the_last(
    harness: tuple[SpeechQueue, FakeDrive, Reporter],
) -> None:
    queue, drive, reporter = harness
    requests = []
    for i in range(20):
        item = request(f"r{i}", OverlapPolicy.INTERRUPT)
        queue.submit(item)
        requests.append(item)
        await asyncio.sleep(0.003 * (i % 4))  # some land mid-setup, some mid-speech
    last = await requests[-1].wait(WaitFor.FINISHED)
    assert last.outcome is SpeechOutcome.FINISHED
    outcomes = [item.result().outcome for item in requests[:-1]]
    assert outcomes == [SpeechOutcome.INTERRUPTED] * 19
    assert reporter.ended("finished") == ["r19"]
    assert sorted(reporter.ended("interrupted")) == sorted(f"r{i}" for i in range(19))
    assert drive.max_open == 1
    assert reporter.speaking[-1] is False


async def test_interrupt_drops_the_queue(
    harness: tuple[SpeechQueue, FakeDrive, Reporter],
) -> None:
    queue, _, reporter = harness
    first = request("a", OverlapPolicy.QUEUE, audio=0.2)
    queued = [request(f"q{i}", OverlapPolicy.QUEUE) for i in range(3)]
    queue.submit(first)
    for item in queued:
        queue.submit(item)
    await first.wait(WaitFor.STARTED)
    urgent = request("urgent", OverlapPolicy.INTERRUPT)
    queue.submit(urgent)
    assert (await urgent.wait(WaitFor.FINISHED)).outcome is SpeechOutcome.FINISHED
    assert (await first.wait(WaitFor.FINISHED)).outcome is SpeechOutcome.INTERRUPTED
    assert [item.result().outcome for item in queued] == [SpeechOutcome.INTERRUPTED] * 3
    assert reporter.ended("finished") == ["urgent"]


async def test_new_drive_cuts_the_previous_tail(
    harness: tuple[SpeechQueue, FakeDrive, Reporter],
) -> None:
    queue, drive, reporter = harness
    drive.tail = 5.0  # the first one's audio would play on for a long time
    first = request("a", OverlapPolicy.INTERRUPT)
    queue.submit(first)
    # Streamed completely; now only its buffered audio plays.
    assert first.task is not None
    await asyncio.wait([first.task])
    assert not first.done
    assert queue.speaking
    drive.tail = 0.01
    second = request("b", OverlapPolicy.INTERRUPT)
    queue.submit(second)
    assert (await second.wait(WaitFor.FINISHED)).outcome is SpeechOutcome.FINISHED
    assert first.result().outcome is SpeechOutcome.INTERRUPTED
    assert reporter.ended("interrupted") == ["a"]


async def test_explicit_interrupt_cuts_everything_now(
    harness: tuple[SpeechQueue, FakeDrive, Reporter],
) -> None:
    queue, drive, reporter = harness
    current = request("a", OverlapPolicy.QUEUE, audio=5.0)
    waiting = request("b", OverlapPolicy.QUEUE)
    queue.submit(current)
    queue.submit(waiting)
    await current.wait(WaitFor.STARTED)
    assert queue.speaking
    await queue.async_interrupt()
    # Returned only once the drive had closed; nothing is audible any more.
    assert drive.open_now == 0
    assert not queue.speaking
    assert reporter.speaking[-1] is False
    assert current.result().outcome is SpeechOutcome.INTERRUPTED
    assert waiting.result().outcome is SpeechOutcome.INTERRUPTED
    assert not queue.busy
    # The queue still works afterwards.
    after = request("c", OverlapPolicy.QUEUE)
    queue.submit(after)
    assert (await after.wait(WaitFor.FINISHED)).outcome is SpeechOutcome.FINISHED


async def test_failure_is_raised_to_waiters_and_the_queue_moves_on(
    harness: tuple[SpeechQueue, FakeDrive, Reporter],
) -> None:
    queue, _, reporter = harness
    bad = request("bad", OverlapPolicy.QUEUE, fail=True)
    good = request("good", OverlapPolicy.QUEUE)
    queue.submit(bad)
    queue.submit(good)
    with pytest.raises(HomeAssistantError, match="bad broke"):
        await bad.wait(WaitFor.STARTED)
    with pytest.raises(HomeAssistantError):
        await bad.wait(WaitFor.FINISHED)
    assert (await good.wait(WaitFor.FINISHED)).outcome is SpeechOutcome.FINISHED
    assert reporter.ended("failed") == ["bad"]
    # A failure before any audio never made the avatar speak.
    assert reporter.events[0] == ("failed", "bad")


async def test_wait_for_phases(harness: tuple[SpeechQueue, FakeDrive, Reporter]) -> None:
    queue, _, _ = harness
    item = request("a", OverlapPolicy.QUEUE, audio=0.1)
    queue.submit(item)
    accepted = await item.wait(WaitFor.ACCEPTED)
    assert accepted.outcome is SpeechOutcome.ACCEPTED
    started = await item.wait(WaitFor.STARTED)
    assert started.outcome is SpeechOutcome.STARTED
    assert started.drive_id == "drive-a"
    assert started.time_to_first_audio is not None
    finished = await item.wait(WaitFor.FINISHED)
    assert finished.outcome is SpeechOutcome.FINISHED
    assert finished.as_dict()["drive_id"] == "drive-a"


async def test_shutdown_refuses_new_requests(
    harness: tuple[SpeechQueue, FakeDrive, Reporter],
) -> None:
    queue, drive, _ = harness
    running = request("a", OverlapPolicy.QUEUE, audio=5.0)
    queue.submit(running)
    await running.wait(WaitFor.STARTED)
    await queue.async_shutdown()
    assert drive.open_now == 0
    assert running.result().outcome is SpeechOutcome.INTERRUPTED
    with pytest.raises(HomeAssistantError) as info:
        queue.submit(request("b", OverlapPolicy.QUEUE))
    assert info.value.translation_key == "speech_unavailable"


async def test_unexpected_runner_error_becomes_translated() -> None:
    async def broken(request: SpeechRequest, hooks: RunHooks) -> None:
        raise ValueError("bug")

    reporter = Reporter()
    queue = SpeechQueue(broken, reporter)
    item = request("a", OverlapPolicy.QUEUE)
    queue.submit(item)
    with pytest.raises(HomeAssistantError) as info:
        await item.wait(WaitFor.FINISHED)
    assert info.value.translation_key == "speech_failed"
    await queue.async_shutdown()


async def test_cancel_from_outside_propagates() -> None:
    started = asyncio.Event()

    async def slow(request: SpeechRequest, hooks: RunHooks) -> None:
        started.set()
        await asyncio.sleep(10)

    queue = SpeechQueue(slow, Reporter())
    item = request("a", OverlapPolicy.QUEUE)
    queue.submit(item)
    await started.wait()
    assert item.task is not None
    item.task.cancel()  # e.g. HA cancelling background tasks at shutdown
    with pytest.raises(asyncio.CancelledError):
        await item.task
    assert item.result().outcome is SpeechOutcome.INTERRUPTED
    await queue.async_shutdown()

"""Pure parts of the client: framing, rate-limiter math, models, retry policy."""

from __future__ import annotations

import asyncio
from collections import deque
import itertools
from typing import TYPE_CHECKING, Any

import pytest

from custom_components.zego_digital_human.client import (
    DigitalHuman,
    DigitalHumanPage,
    PacingConfig,
    PcmReframer,
    RateLimiter,
    RetryPolicy,
    StreamTask,
    StreamTaskSpec,
    StreamTaskStatus,
    TimbrePage,
    WsDriveTicket,
    ZegoEnvelope,
    shared_rate_limiter,
)

if TYPE_CHECKING:
    from collections.abc import Coroutine

# --- framing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample_rate", "frame_ms", "expected"),
    [(16000, 40, 1280), (24000, 40, 1920), (16000, 20, 640), (24000, 1, 48)],
)
def test_frame_bytes(sample_rate: int, frame_ms: int, expected: int) -> None:
    assert PacingConfig(frame_ms=frame_ms).frame_bytes(sample_rate) == expected


def test_pacing_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="frame_ms"):
        PacingConfig(frame_ms=0)
    with pytest.raises(ValueError, match="head_start"):
        PacingConfig(head_start=-1)


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 100, 1280, 1281, 5000])
def test_reframer_keeps_bytes_and_order(chunk_size: int) -> None:
    data = bytes(itertools.islice(itertools.cycle(range(256)), 10_001))
    reframer = PcmReframer(1280)
    frames: list[bytes] = []
    for start in range(0, len(data), chunk_size):
        chunk = data[start : start + chunk_size]
        frames.extend(reframer.feed(chunk))
        # Never more than one partial frame held between chunks.
        assert len(reframer._buffer) < 1280
    tail = reframer.flush()
    assert all(len(frame) == 1280 for frame in frames)
    assert len(tail) % 2 == 0
    # The odd trailing byte (10_001 is odd) is dropped, nothing else.
    assert b"".join([*frames, tail]) == data[:10_000]


def test_reframer_flush_empty_and_single_byte() -> None:
    reframer = PcmReframer(4)
    assert reframer.flush() == b""
    assert list(reframer.feed(b"\x01")) == []
    assert reframer.flush() == b""


def test_reframer_rejects_odd_frames() -> None:
    with pytest.raises(ValueError, match="multiple"):
        PcmReframer(3)


# --- rate limiter math -----------------------------------------------------------------------


def run_on_new_loop[T](coro: Coroutine[Any, Any, T]) -> T:
    """Run on a private loop, leaving the harness's current loop alone (asyncio.run unsets it)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_reserves_sliding_slots() -> None:
    clock = FakeClock()
    limiter = RateLimiter(limit=10, window=1.0, margin=0.05, clock=clock)
    delays = [limiter.reserve("A") for _ in range(25)]
    assert delays[:10] == [0.0] * 10
    assert delays[10:20] == pytest.approx([1.05] * 10)
    assert delays[20:] == pytest.approx([2.10] * 5)
    # Another action has its own window.
    assert limiter.reserve("B") == 0.0


def test_limiter_no_window_ever_holds_more_than_limit() -> None:
    clock = FakeClock()
    limiter = RateLimiter(limit=10, window=1.0, margin=0.05, clock=clock)
    sends: list[float] = []
    # Irregular arrivals, bursts and gaps.
    for step in [0.0] * 15 + [0.3] * 7 + [0.01] * 30 + [2.0] + [0.0] * 12:
        clock.now += step
        sends.append(clock.now + limiter.reserve("A"))
    sends.sort()
    window: deque[float] = deque()
    for at in sends:
        window.append(at)
        while window[0] <= at - 1.05 + 1e-9:
            window.popleft()
        assert len(window) <= 10


def test_limiter_waits_only_when_needed() -> None:
    clock = FakeClock()
    limiter = RateLimiter(limit=2, window=1.0, margin=0.0, clock=clock)
    assert limiter.reserve("A") == 0.0
    clock.now += 0.6
    assert limiter.reserve("A") == 0.0
    clock.now += 0.6  # the first send has left the window
    assert limiter.reserve("A") == 0.0
    # Sends at 0, 0.6 and 1.2: the next one must wait for 0.6 + 1.0.
    assert limiter.reserve("A") == pytest.approx(0.4)


def test_limiter_acquire_sleeps_the_reserved_delay() -> None:
    limiter = RateLimiter(limit=1, window=0.05, margin=0.0)

    async def run() -> None:
        await limiter.acquire("A")
        loop = asyncio.get_running_loop()
        before = loop.time()
        await limiter.acquire("A")
        # A lower bound only: sleeping can take longer on a busy machine, never less.
        assert loop.time() - before >= 0.04

    run_on_new_loop(run())
    # Lock-free: the same instance keeps working on another event loop.
    run_on_new_loop(run())


def test_tracked_slot_waits_for_its_anchor_to_complete() -> None:
    clock = FakeClock()
    limiter = RateLimiter(limit=2, window=1.0, margin=0.0, clock=clock)
    first, _ = limiter._reserve("A", tracked=True)
    limiter._reserve("A", tracked=True)
    third, anchor = limiter._reserve("A", tracked=True)
    assert anchor is first
    # The first request may not have reached ZEGO yet: no send time can be promised.
    assert limiter._ready_at(third, anchor) is None
    clock.now += 0.7  # it completed late (a cold connection, say)
    first.end = clock.now
    assert limiter._ready_at(third, anchor) == pytest.approx(clock.now + 1.0)


def test_slot_is_held_until_the_request_completes() -> None:
    limiter = RateLimiter(limit=1, window=0.02, margin=0.0)

    async def run() -> list[str]:
        order: list[str] = []

        async def first() -> None:
            async with limiter.slot("A"):
                order.append("first in")
                # Much longer than the window: an untracked limiter would let `second` in.
                await asyncio.sleep(0.1)
                order.append("first out")

        async def second() -> None:
            async with limiter.slot("A"):
                order.append("second in")

        await asyncio.gather(first(), second())
        return order

    assert run_on_new_loop(run()) == ["first in", "first out", "second in"]
    # Same instance, new event loop.
    assert run_on_new_loop(run()) == ["first in", "first out", "second in"]


def test_slot_is_released_on_error() -> None:
    limiter = RateLimiter(limit=1, window=0.01, margin=0.0)

    async def fail() -> None:
        async with limiter.slot("A"):
            raise RuntimeError("boom")

    async def run() -> None:
        with pytest.raises(RuntimeError, match="boom"):
            await fail()
        async with asyncio.timeout(5), limiter.slot("A"):
            pass

    run_on_new_loop(run())


def test_shared_limiter_is_per_app() -> None:
    assert shared_rate_limiter(1) is shared_rate_limiter("1")
    assert shared_rate_limiter(1) is not shared_rate_limiter(2)


def test_limiter_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="limit"):
        RateLimiter(limit=0)
    with pytest.raises(ValueError, match="window"):
        RateLimiter(window=0)


# --- retry policy ----------------------------------------------------------------------------


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = RetryPolicy(max_attempts=4, base_delay=0.25, max_delay=1.0)
    for attempt, ceiling in [(0, 0.25), (1, 0.5), (2, 1.0), (5, 1.0)]:
        delays = [policy.backoff(attempt) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # really spread over the range


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


# --- models ----------------------------------------------------------------------------------


def test_envelope_tolerates_missing_data() -> None:
    for payload in (
        {"Code": 0, "Message": "success", "RequestId": "r"},
        {"Code": 0, "Message": "success", "RequestId": "r", "Data": None},
        {"Code": 0, "Message": "success", "RequestId": "r", "Data": {}},
    ):
        envelope = ZegoEnvelope.from_api(payload)
        assert envelope.code == 0
        assert envelope.data == {}
        assert envelope.request_id == "r"


def test_stream_task_spec_body() -> None:
    spec = StreamTaskSpec(digital_human_id="dh", room_id="room", stream_id="s_1")
    assert spec.to_api() == {
        "DigitalHumanConfig": {"DigitalHumanId": "dh"},
        "RTCConfig": {"RoomId": "room", "StreamId": "s_1"},
    }
    full = StreamTaskSpec(
        digital_human_id="dh",
        room_id="room",
        stream_id="s_1",
        ttl=60,
        max_idle_time=30,
        background_color="#00ff00",
    ).to_api()
    assert full["TTL"] == 60
    assert full["MaxIdleTime"] == 30
    assert full["DigitalHumanConfig"]["BackgroundColor"] == "#00ff00"


def test_stream_task_parsing() -> None:
    task = StreamTask.from_api(
        {"TaskId": "t", "RoomId": "r", "StreamId": "s", "Status": 3, "CreateTime": 1700000000}
    )
    assert task.status is StreamTaskStatus.STREAMING
    assert task.created_at is not None
    assert task.created_at.year == 2023
    status = StreamTask.from_api(
        {"Status": 2, "RoomId": "r", "StreamId": "s", "FailReason": "boom", "CreateTime": 1},
        task_id="t2",
    )
    assert status.task_id == "t2"
    assert status.fail_reason == "boom"
    with pytest.raises((KeyError, TypeError, ValueError)):
        StreamTask.from_api({"TaskId": "t", "Status": "streaming"})


def test_digital_human_page_parsing() -> None:
    page = DigitalHumanPage.from_api(
        {
            "Total": 1,
            "DigitalHumans": [
                {
                    "DigitalHumanId": "id",
                    "Name": "Anna",
                    "AvatarUrl": "https://x/a.png",
                    "IsPublic": False,
                    "Actions": [{"Action": "wave", "PreviewUrl": "https://x/w.mp4"}],
                }
            ],
        }
    )
    assert page.total == 1
    human = page.digital_humans[0]
    assert isinstance(human, DigitalHuman)
    assert human.actions[0].action == "wave"
    assert DigitalHuman.from_api({"DigitalHumanId": "x", "Actions": None}).actions == ()


def test_timbre_page_parsing() -> None:
    page = TimbrePage.from_api({"Total": 1, "Timbres": [{"TimbreId": "t", "Name": "Calm"}]})
    assert page.timbres[0].timbre_id == "t"
    assert page.timbres[0].avatar_url is None


def test_ticket_hides_its_address() -> None:
    ticket = WsDriveTicket.from_api(
        {"DriveId": "d1", "WssAddress": "wss://10.0.0.1:8443/ws?Token=secret-token"}
    )
    assert "secret-token" not in repr(ticket)
    assert ticket.host == "10.0.0.1:8443"

"""Fixtures of the client tests: a real emulator on loopback and a client pointed at it."""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING

import aiohttp
import pytest

from custom_components.zego_digital_human.client import (
    RateLimiter,
    RetryPolicy,
    StreamTaskSpec,
    StreamTaskStatus,
    ZegoClient,
)
from zego_emulator import EmulatorConfig, ZegoEmulator
from zego_emulator.config import LOBBY_ANNA_ID

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

# Retries in tests: same shape as production, much shorter waits.
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """Emulator settings; a test overrides this fixture (or parametrizes it) to change them."""
    return EmulatorConfig(port=0, time_scale=0.01)


@pytest.fixture
async def emulator(
    emulator_config: EmulatorConfig, socket_enabled: None
) -> AsyncIterator[ZegoEmulator]:
    """A running emulator on loopback (HA's harness blocks sockets unless asked)."""
    async with ZegoEmulator(emulator_config) as emu:
        yield emu


@pytest.fixture
async def session(emulator: ZegoEmulator) -> AsyncIterator[aiohttp.ClientSession]:
    """A fresh aiohttp session, closed before the emulator stops."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def client(emulator: ZegoEmulator, session: aiohttp.ClientSession) -> ZegoClient:
    """A client with the emulator's credentials and its own rate limiter."""
    return make_client(emulator, session)


def make_client(
    emulator: ZegoEmulator,
    session: aiohttp.ClientSession,
    **overrides: object,
) -> ZegoClient:
    """Build a client for the emulator; keyword overrides replace any default."""
    kwargs: dict[str, object] = {
        "app_id": emulator.config.app_id,
        "server_secret": emulator.config.server_secret,
        "session": session,
        "endpoint": emulator.endpoint,
        "request_timeout": 5.0,
        "retry": FAST_RETRY,
        # Per test: the process-wide limiter would carry reservations between tests.
        "rate_limiter": RateLimiter(),
    }
    kwargs.update(overrides)
    return ZegoClient(**kwargs)  # type: ignore[arg-type]


async def start_task(
    client: ZegoClient, stream_id: str = "stream_1", digital_human_id: str = LOBBY_ANNA_ID
) -> str:
    """Create a task and wait (bounded) until it streams; return its TaskId."""
    task_id = await client.create_stream_task(
        StreamTaskSpec(digital_human_id=digital_human_id, room_id="room_1", stream_id=stream_id)
    )
    async with asyncio.timeout(10):
        while True:
            task = await client.get_stream_task_status(task_id)
            if task.status is StreamTaskStatus.STREAMING:
                return task_id
            await asyncio.sleep(0.01)


def sine_pcm(seconds: float, sample_rate: int = 16000, freq: float = 440.0) -> bytes:
    """s16le mono sine wave."""
    count = int(seconds * sample_rate)
    samples = bytearray()
    for n in range(count):
        value = int(12000 * math.sin(2 * math.pi * freq * n / sample_rate))
        samples += value.to_bytes(2, "little", signed=True)
    return bytes(samples)


async def chunks_of(
    data: bytes, sizes: tuple[int, ...] = (1000, 333, 4096, 77)
) -> AsyncIterator[bytes]:
    """Yield `data` in irregular chunk sizes, as a TTS or decoder would."""
    position = 0
    index = 0
    while position < len(data):
        size = sizes[index % len(sizes)]
        yield data[position : position + size]
        position += size
        index += 1

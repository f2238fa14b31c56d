"""REST actions, error mapping and retries against the emulator over loopback."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import TYPE_CHECKING

import pytest

from custom_components.zego_digital_human.client import (
    RateLimiter,
    RetryPolicy,
    StreamTaskSpec,
    StreamTaskStatus,
    ZegoAuthenticationError,
    ZegoClient,
    ZegoClockSkewError,
    ZegoConnectionError,
    ZegoDigitalHumanNotFoundError,
    ZegoError,
    ZegoInvalidParameterError,
    ZegoPermissionError,
    ZegoQuotaError,
    ZegoRateLimitedError,
    ZegoServerError,
    ZegoStreamIdConflictError,
    ZegoStreamNotReadyError,
    ZegoTaskEndedError,
    ZegoTaskNotFoundError,
    ZegoTimbreNotFoundError,
    ZegoTimbreUnsupportedError,
    ZegoTimeoutError,
    shared_rate_limiter,
)
from zego_emulator import EmulatorConfig, Fault, ZegoEmulator
from zego_emulator.config import (
    KIOSK_BEN_ID,
    LOBBY_ANNA_ID,
    PRIVATE_TIMBRE_ANNA,
    PUBLIC_TIMBRE_CALM,
    PUBLIC_TIMBRE_SUNNY,
)

from .conftest import FAST_RETRY, make_client, start_task

if TYPE_CHECKING:
    import aiohttp

QUERY = "QueryDigitalHumanStreamTasks"
CREATE = "CreateDigitalHumanStreamTask"


def assert_no_secrets(err: BaseException, emulator: ZegoEmulator) -> None:
    """Neither str() nor repr() of an error may leak credentials or signed URLs."""
    for text in (str(err), repr(err)):
        assert emulator.config.server_secret not in text
        assert "Signature=" not in text
        assert "Token=" not in text
        assert "?Action=" not in text


def requests_for(emulator: ZegoEmulator, action: str) -> list[object]:
    return [r for r in emulator.requests if r.action == action]


# --- happy paths -----------------------------------------------------------------------------


async def test_task_lifecycle(client: ZegoClient, emulator: ZegoEmulator) -> None:
    await client.verify_credentials()
    task_id = await start_task(client)
    tasks = await client.query_stream_tasks()
    assert [t.task_id for t in tasks] == [task_id]
    assert tasks[0].stream_id == "stream_1"
    assert tasks[0].room_id == "room_1"
    status = await client.get_stream_task_status(task_id)
    assert status.status is StreamTaskStatus.STREAMING
    assert status.task_id == task_id
    await client.stop_stream_task(task_id)
    assert task_id in emulator.tasks


async def test_drives_by_text_and_audio(client: ZegoClient, emulator: ZegoEmulator) -> None:
    task_id = await start_task(client)
    text_drive = await client.drive_by_text(
        task_id, "Hello there", PUBLIC_TIMBRE_SUNNY, speech_rate=10, volume=80
    )
    audio_drive = await client.drive_by_audio(
        task_id, "https://example.invalid/a.mp3", interrupt=True
    )
    await client.interrupt_drive_task(task_id)
    kinds = {d.drive_id: d.kind for d in emulator.drives}
    assert kinds[text_drive] == "text"
    assert kinds[audio_drive] == "audio"
    record = next(d for d in emulator.drives if d.drive_id == text_drive)
    assert record.text == "Hello there"
    assert record.timbre_id == PUBLIC_TIMBRE_SUNNY


async def test_catalogue(client: ZegoClient, emulator: ZegoEmulator) -> None:
    humans = await client.get_all_digital_humans()
    assert {h.digital_human_id for h in humans} == {
        spec.digital_human_id for spec in emulator.config.digital_humans
    }
    page = await client.get_digital_human_list(limit=1)
    assert page.total == len(emulator.config.digital_humans)
    assert len(page.digital_humans) == 1
    anna = await client.get_digital_human_info(LOBBY_ANNA_ID)
    assert anna.name == "Lobby Anna"
    assert "wave_hand" in {a.action for a in anna.actions}
    public = await client.get_timbre_list()
    assert {t.timbre_id for t in public.timbres} == {PUBLIC_TIMBRE_SUNNY, PUBLIC_TIMBRE_CALM}
    private = await client.get_timbre_list(digital_human_id=LOBBY_ANNA_ID)
    assert [t.timbre_id for t in private.timbres] == [PRIVATE_TIMBRE_ANNA]


async def test_default_limiter_is_shared_per_app(
    emulator: ZegoEmulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(emulator, session, rate_limiter=None)
    assert client.rate_limiter is shared_rate_limiter(emulator.config.app_id)


# --- every exception, from the emulator's real codes -----------------------------------------


async def test_bad_secret_is_authentication_and_never_retried(
    emulator: ZegoEmulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(emulator, session, server_secret="f" * 32)
    with pytest.raises(ZegoAuthenticationError) as info:
        await client.verify_credentials()
    assert info.value.code == 100000005
    assert info.value.request_id
    assert info.value.action == QUERY
    assert len(emulator.requests) == 1
    assert_no_secrets(info.value, emulator)
    assert "f" * 32 not in str(info.value)


async def test_revoked_secret(client: ZegoClient, emulator: ZegoEmulator) -> None:
    await client.verify_credentials()
    emulator.revoke_credentials()
    with pytest.raises(ZegoAuthenticationError):
        await client.verify_credentials()


async def test_unknown_app_id(emulator: ZegoEmulator, session: aiohttp.ClientSession) -> None:
    client = make_client(emulator, session, app_id=emulator.config.app_id + 1)
    with pytest.raises(ZegoAuthenticationError) as info:
        await client.verify_credentials()
    assert info.value.code == 100000010


@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(port=0, time_scale=0.01, clock_offset=900.0)]
)
async def test_emulator_clock_ahead_is_clock_skew(
    client: ZegoClient, emulator: ZegoEmulator
) -> None:
    with pytest.raises(ZegoClockSkewError) as info:
        await client.verify_credentials()
    err = info.value
    assert err.code == 100000004
    assert err.skew_seconds is not None
    # The Date header has a one-second resolution.
    assert abs(err.skew_seconds - 900) <= 2
    said = re.search(r"the local clock is off by about (\d+) seconds", str(err))
    assert said is not None
    assert abs(int(said.group(1)) - 900) <= 2
    assert len(emulator.requests) == 1  # never retried
    assert_no_secrets(err, emulator)


async def test_local_clock_behind_is_clock_skew(
    emulator: ZegoEmulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(emulator, session, clock=lambda: time.time() - 3600)
    with pytest.raises(ZegoClockSkewError) as info:
        await client.verify_credentials()
    assert info.value.skew_seconds is not None
    assert abs(info.value.skew_seconds - 3600) <= 2
    said = re.search(r"the local clock is off by about (\d+) seconds", str(info.value))
    assert said is not None
    assert abs(int(said.group(1)) - 3600) <= 2


async def test_rate_limited_without_the_limiter(
    emulator: ZegoEmulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(
        emulator,
        session,
        rate_limiter=RateLimiter(limit=1000),
        retry=RetryPolicy(max_attempts=1),
    )
    results = await asyncio.gather(
        *(client.get_timbre_list() for _ in range(15)), return_exceptions=True
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors
    assert all(isinstance(e, ZegoRateLimitedError) for e in errors)
    assert all(e.retryable for e in errors)
    assert errors[0].code == 400010009


async def test_burst_of_50_stays_under_the_limit(
    client: ZegoClient, emulator: ZegoEmulator
) -> None:
    results = await asyncio.gather(*(client.get_timbre_list() for _ in range(50)))
    assert len(results) == 50
    timbre_requests = requests_for(emulator, "GetTimbreList")
    assert len(timbre_requests) == 50
    assert [r for r in emulator.requests if r.code == 400010009] == []


async def test_unknown_resources(client: ZegoClient, emulator: ZegoEmulator) -> None:
    with pytest.raises(ZegoTaskNotFoundError) as task_info:
        await client.stop_stream_task("no-such-task")
    assert task_info.value.code == 400000005
    with pytest.raises(ZegoDigitalHumanNotFoundError) as human_info:
        await client.get_digital_human_info("no-such-human")
    assert human_info.value.code == 400000003
    with pytest.raises(ZegoDigitalHumanNotFoundError):
        await client.create_stream_task(
            StreamTaskSpec(digital_human_id="no-such-human", room_id="r", stream_id="s")
        )
    task_id = await start_task(client)
    with pytest.raises(ZegoTimbreNotFoundError) as timbre_info:
        await client.drive_by_text(task_id, "hi", "no-such-timbre")
    assert timbre_info.value.code == 400000004
    # Not found is never retried.
    assert len(requests_for(emulator, "StopDigitalHumanStreamTask")) == 1


async def test_stopped_task(client: ZegoClient) -> None:
    task_id = await start_task(client)
    await client.stop_stream_task(task_id)
    with pytest.raises(ZegoTaskEndedError) as info:
        await client.stop_stream_task(task_id)
    assert info.value.code == 400000007


@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(port=0, time_scale=1.0, startup_delay=30.0)]
)
async def test_stream_not_ready(client: ZegoClient, emulator: ZegoEmulator) -> None:
    task_id = await client.create_stream_task(
        StreamTaskSpec(digital_human_id=LOBBY_ANNA_ID, room_id="r", stream_id="s")
    )
    with pytest.raises(ZegoStreamNotReadyError) as info:
        await client.drive_by_ws_stream(task_id)
    assert info.value.code == 400000006
    assert len(requests_for(emulator, "DriveByWsStream")) == 1
    await client.stop_stream_task(task_id)


async def test_invalid_parameter_names_the_field(
    client: ZegoClient, emulator: ZegoEmulator
) -> None:
    with pytest.raises(ZegoInvalidParameterError) as info:
        await client.create_stream_task(
            StreamTaskSpec(digital_human_id=LOBBY_ANNA_ID, room_id="r", stream_id="s", ttl=5)
        )
    err = info.value
    assert err.code == 400000001
    assert err.field == "TTL"
    assert "TTL" in str(err)
    assert len(requests_for(emulator, CREATE)) == 1  # never retried
    with pytest.raises(ZegoInvalidParameterError) as limit_info:
        await client.get_digital_human_list(limit=50)
    assert limit_info.value.field == "Limit"


async def test_timbre_unsupported_and_stream_id_conflict(client: ZegoClient) -> None:
    task_id = await start_task(client, stream_id="ben", digital_human_id=KIOSK_BEN_ID)
    with pytest.raises(ZegoTimbreUnsupportedError) as info:
        await client.drive_by_text(task_id, "hi", PUBLIC_TIMBRE_CALM)
    assert info.value.code == 400000009
    with pytest.raises(ZegoStreamIdConflictError) as conflict:
        await client.create_stream_task(
            StreamTaskSpec(digital_human_id=LOBBY_ANNA_ID, room_id="r", stream_id="ben")
        )
    assert conflict.value.code == 400000015
    assert conflict.value.field == "RTCConfig.StreamId"
    assert info.value.field == "TTSConfig.TimbreId"


@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(port=0, time_scale=0.01, max_concurrent_tasks=1)]
)
async def test_concurrency_quota(client: ZegoClient, emulator: ZegoEmulator) -> None:
    await client.create_stream_task(
        StreamTaskSpec(digital_human_id=LOBBY_ANNA_ID, room_id="r", stream_id="one")
    )
    with pytest.raises(ZegoQuotaError) as info:
        await client.create_stream_task(
            StreamTaskSpec(digital_human_id=LOBBY_ANNA_ID, room_id="r", stream_id="two")
        )
    assert info.value.code == 400000008
    assert not info.value.retryable


async def test_permission_error(client: ZegoClient, emulator: ZegoEmulator) -> None:
    emulator.faults.add(Fault.zego(400000002, "service not enabled", action=QUERY))
    with pytest.raises(ZegoPermissionError) as info:
        await client.query_stream_tasks()
    assert info.value.zego_message == "service not enabled"
    assert len(requests_for(emulator, QUERY)) == 1


async def test_http_500_once_is_retried(client: ZegoClient, emulator: ZegoEmulator) -> None:
    emulator.faults.add(Fault.http(500, action=QUERY))
    assert await client.query_stream_tasks() == []
    statuses = [r.http_status for r in requests_for(emulator, QUERY)]
    assert statuses == [500, 200]


async def test_busy_code_once_is_retried(client: ZegoClient, emulator: ZegoEmulator) -> None:
    emulator.faults.add(Fault.zego(400010002, action=QUERY))
    assert await client.query_stream_tasks() == []
    assert [r.code for r in requests_for(emulator, QUERY)] == [400010002, 0]


async def test_persistent_500_gives_up(client: ZegoClient, emulator: ZegoEmulator) -> None:
    emulator.faults.add(Fault.http(500, action=QUERY, count=None))
    with pytest.raises(ZegoServerError) as info:
        await client.query_stream_tasks()
    assert info.value.http_status == 500
    assert info.value.retryable
    assert len(requests_for(emulator, QUERY)) == FAST_RETRY.max_attempts
    assert_no_secrets(info.value, emulator)


async def test_permanent_server_code_is_not_retried(
    client: ZegoClient, emulator: ZegoEmulator
) -> None:
    emulator.faults.add(Fault.zego(400000010, "bad avatar config", action=QUERY, count=None))
    with pytest.raises(ZegoServerError) as info:
        await client.query_stream_tasks()
    assert not info.value.retryable
    assert len(requests_for(emulator, QUERY)) == 1


async def test_timeout(emulator: ZegoEmulator, session: aiohttp.ClientSession) -> None:
    client = make_client(emulator, session, request_timeout=0.2, retry=RetryPolicy(max_attempts=1))
    emulator.faults.add(Fault.slow(1.0, action=QUERY))
    with pytest.raises(ZegoTimeoutError) as info:
        await client.query_stream_tasks()
    assert info.value.retryable
    assert info.value.__cause__ is None
    assert_no_secrets(info.value, emulator)


async def test_connection_refused(emulator: ZegoEmulator, session: aiohttp.ClientSession) -> None:
    # A port that was just free: nothing listens there.
    probe = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    client = make_client(
        emulator,
        session,
        endpoint=f"http://127.0.0.1:{port}",
        retry=RetryPolicy(max_attempts=2, base_delay=0.0),
    )
    with pytest.raises(ZegoConnectionError) as info:
        await client.verify_credentials()
    assert not isinstance(info.value, ZegoTimeoutError)
    assert info.value.__cause__ is None
    assert_no_secrets(info.value, emulator)


async def test_create_retried_after_timeout_makes_one_task(
    emulator: ZegoEmulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(
        emulator, session, request_timeout=0.2, retry=RetryPolicy(max_attempts=3, base_delay=0.3)
    )
    emulator.faults.add(Fault.slow(0.4, action=CREATE))
    task_id = await client.create_stream_task(
        StreamTaskSpec(digital_human_id=LOBBY_ANNA_ID, room_id="r", stream_id="mine")
    )
    live = [t for t in emulator.tasks.values() if t.live]
    assert [t.task_id for t in live] == [task_id]


async def test_conflict_after_ambiguous_failure_finds_own_task(
    client: ZegoClient, emulator: ZegoEmulator
) -> None:
    """The first attempt's answer was lost (HTTP 500) but ZEGO had created the task.

    The emulator cannot lose an answer after processing (a delay fault waits before reading
    the body), so the task "our first attempt created" is made beforehand.
    """
    spec = StreamTaskSpec(digital_human_id=LOBBY_ANNA_ID, room_id="r", stream_id="mine")
    created_by_first_attempt = await client.create_stream_task(spec)
    emulator.faults.add(Fault.http(500, action=CREATE))
    task_id = await client.create_stream_task(spec)
    assert task_id == created_by_first_attempt
    assert [r.code for r in requests_for(emulator, CREATE)] == [0, None, 400000015]
    assert len([t for t in emulator.tasks.values() if t.live]) == 1


async def test_conflict_without_retry_is_an_error(
    client: ZegoClient, emulator: ZegoEmulator
) -> None:
    spec = StreamTaskSpec(digital_human_id=LOBBY_ANNA_ID, room_id="r", stream_id="dup")
    await client.create_stream_task(spec)
    with pytest.raises(ZegoStreamIdConflictError):
        await client.create_stream_task(spec)
    # No silent recovery when no earlier attempt could have been ours.
    assert len(requests_for(emulator, QUERY)) == 0


# --- secrets ---------------------------------------------------------------------------------


async def test_repr_and_logs_hold_no_secret(
    emulator: ZegoEmulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(emulator, session)
    assert emulator.config.server_secret not in repr(client)
    assert emulator.config.server_secret not in str(vars(client))
    emulator.faults.add(Fault.http(500, action=QUERY))
    await client.query_stream_tasks()
    bad = make_client(emulator, session, server_secret="e" * 32)
    with pytest.raises(ZegoError):
        await bad.verify_credentials()
    ours = [r for r in caplog.records if r.name.startswith("custom_components")]
    assert ours  # the client does log at debug level
    text = "\n".join(r.getMessage() for r in ours)
    assert emulator.config.server_secret not in text
    assert "e" * 32 not in text
    assert "Signature" not in text

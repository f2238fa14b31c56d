"""The preview feed, the stand-in face, the portraits and DescribeEmulator."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from tests.token04_reference import mint_token04

from .conftest import fast_config
from .wsutil import frames, open_drive, pcm, stop_msg

if TYPE_CHECKING:
    from zego_emulator import EmulatorConfig, ZegoEmulator

    from .signing import Api

ROOM = "room_1"
STREAM = "stream_1"
USER = "ha_0123456789abcdef_a1b2c3d4"


def _token(emu: ZegoEmulator, **overrides: Any) -> str:
    values: dict[str, Any] = {
        "app_id": emu.config.app_id,
        "user_id": USER,
        "secret": emu.config.server_secret,
        "expire": int(time.time()) + 3600,
        "payload": {"room_id": ROOM, "privilege": {"1": 1, "2": 0}, "stream_id_list": None},
    }
    values.update(overrides)
    return mint_token04(**values)


async def _describe(api: Api) -> dict[str, Any]:
    data: dict[str, Any] = await api.ok("DescribeEmulator")
    return data


async def _feed(api: Api, **headers: str) -> aiohttp.ClientWebSocketResponse:
    feed_url = (await _describe(api))["PreviewFeedUrl"]
    return await api.session.ws_connect(feed_url, headers=headers or None)


async def _login(
    api: Api, token: str, *, room_id: str = ROOM, user_id: str = USER
) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    ws = await _feed(api, Origin="http://homeassistant.local:8123")
    await ws.send_json(
        {
            "type": "login",
            "token": token,
            "user_id": user_id,
            "room_id": room_id,
            "stream_id": STREAM,
        }
    )
    answer = await ws.receive_json(timeout=5)
    return ws, answer


async def _next(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=5)
    if msg.type is aiohttp.WSMsgType.TEXT:
        return json.loads(msg.data)
    if msg.type is aiohttp.WSMsgType.BINARY:
        return msg.data
    return msg


async def test_describe_emulator_names_the_feed_and_the_face(api: Api, emu: ZegoEmulator) -> None:
    data = await _describe(api)
    assert data["Emulator"] is True
    assert data["PreviewFeedUrl"] == "ws" + emu.endpoint.removeprefix("http") + "/preview/feed"
    assert data["PreviewFaceUrl"] == emu.endpoint + "/preview/face.svg"
    async with api.session.get(data["PreviewFaceUrl"]) as response:
        assert response.status == 200
        assert response.content_type == "image/svg+xml"
        # Another origin (HA's page) may read it, and the card opens the element "mouth".
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert 'id="mouth"' in await response.text()


@pytest.mark.parametrize("emu_config", [fast_config(describe_emulator=False)])
async def test_describe_emulator_can_answer_like_zego(api: Api) -> None:
    reply = await api.call("DescribeEmulator")
    assert reply.code == 100000007


@pytest.mark.parametrize("gcm", [True, False])
async def test_login_with_a_valid_token(api: Api, emu: ZegoEmulator, gcm: bool) -> None:
    token = _token(emu, gcm=gcm)
    ws, answer = await _login(api, token)
    assert answer == {"type": "login", "ok": True, "expires_at": answer.get("expires_at")}
    assert answer["expires_at"] > time.time() + 3500
    assert await _next(ws) == {"type": "stream", "live": False}
    await ws.close()


@pytest.mark.parametrize(
    ("overrides", "login", "reason"),
    [
        ({"secret": "f" * 32}, {}, "ServerSecret"),
        ({"expire": int(time.time()) - 5}, {}, "expired"),
        ({}, {"room_id": "another_room"}, "another room"),
        ({}, {"user_id": "ha_someone_else_00000000"}, "another user"),
        ({"payload": {"room_id": ROOM, "privilege": {"1": 0, "2": 0}}}, {}, "logging in"),
        ({"payload": None}, {}, "not bound to a room"),
        ({"app_id": 42}, {}, "another AppID"),
    ],
)
async def test_bad_tokens_are_refused_and_closed(
    api: Api,
    emu: ZegoEmulator,
    overrides: dict[str, Any],
    login: dict[str, str],
    reason: str,
) -> None:
    ws, answer = await _login(api, _token(emu, **overrides), **login)
    assert answer["type"] == "login"
    assert answer["ok"] is False
    assert reason in answer["reason"]
    msg = await ws.receive(timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == 4401


async def test_garbage_instead_of_a_token(api: Api) -> None:
    for token in ("", "04!!!", "03AAAA", "04" + "A" * 40):
        ws, answer = await _login(api, token)
        assert answer["ok"] is False, token
        await ws.receive(timeout=5)
        assert ws.close_code == 4401


async def test_stream_state_and_a_drive_byte_exact(api: Api, emu: ZegoEmulator) -> None:
    ws, answer = await _login(api, _token(emu))
    assert answer["ok"]
    assert await _next(ws) == {"type": "stream", "live": False}

    task_id = await api.streaming_task(STREAM)
    assert await _next(ws) == {"type": "stream", "live": True}

    audio = pcm(0.4)
    drive_id, drive_ws = await open_drive(api, task_id, SampleRate=16000)
    for frame in frames(audio):
        await drive_ws.send_bytes(frame)
    await drive_ws.send_str(stop_msg(drive_id))

    assert await _next(ws) == {"type": "audio_start", "drive_id": drive_id, "sample_rate": 16000}
    received = b""
    message = await _next(ws)
    while isinstance(message, bytes):
        received += message
        message = await _next(ws)
    assert received == audio
    assert message["type"] == "audio_end"
    assert message["drive_id"] == drive_id
    # Sent at once, so the emulator's playback model still has most of the 0.4 s to play.
    assert 0 < message["playback_end_in"] <= 0.4
    drive = await emu.wait_for_drive(drive_id)
    assert drive.playback_end_at is not None

    emu.expire_task(task_id)
    assert await _next(ws) == {"type": "stream", "live": False}
    await drive_ws.close()
    await ws.close()


async def test_other_rooms_and_streams_are_not_relayed(api: Api, emu: ZegoEmulator) -> None:
    ws, _ = await _login(api, _token(emu))
    assert await _next(ws) == {"type": "stream", "live": False}
    other = await api.streaming_task("stream_other")
    drive_id, drive_ws = await open_drive(api, other)
    await drive_ws.send_bytes(pcm(0.08))
    await drive_ws.send_str(stop_msg(drive_id))
    await emu.wait_for_drive(drive_id)
    with pytest.raises(TimeoutError):
        await ws.receive(timeout=0.3)
    await drive_ws.close()
    await ws.close()


async def test_an_interrupted_drive_ends_now(api: Api, emu: ZegoEmulator) -> None:
    ws, _ = await _login(api, _token(emu))
    task_id = await api.streaming_task(STREAM)
    assert await _next(ws) == {"type": "stream", "live": False}
    assert await _next(ws) == {"type": "stream", "live": True}
    drive_id, drive_ws = await open_drive(api, task_id)
    await drive_ws.send_bytes(pcm(2.0))
    assert (await _next(ws))["type"] == "audio_start"
    assert isinstance(await _next(ws), bytes)
    await api.ok("InterruptDriveTask", {"TaskId": task_id})
    end = await _next(ws)
    assert end == {"type": "audio_end", "drive_id": drive_id, "playback_end_in": 0.0}
    await drive_ws.close()
    await ws.close()


async def test_renewal_and_expiry(api: Api, emu: ZegoEmulator) -> None:
    """Warned 30 s before expiry; a renewed session lives on, an unrenewed one is closed."""
    # 3 s left: the warning (30 s ahead) comes at once, the close when the token expires.
    ws, answer = await _login(api, _token(emu, expire=int(time.time()) + 3))
    assert answer["ok"]
    assert await _next(ws) == {"type": "stream", "live": False}
    assert await _next(ws) == {"type": "token_will_expire"}

    await ws.send_json({"type": "renew", "token": _token(emu, user_id="ha_other_00000000")})
    refused = await _next(ws)
    assert refused["type"] == "renew"
    assert refused["ok"] is False
    renewed_until = int(time.time()) + 3600
    await ws.send_json({"type": "renew", "token": _token(emu, expire=renewed_until)})
    assert await _next(ws) == {"type": "renew", "ok": True, "expires_at": renewed_until}
    # Past the first token's expiry, still open.
    with pytest.raises(TimeoutError):
        await ws.receive(timeout=3.5)
    assert not ws.closed
    await ws.close()

    ws, _ = await _login(api, _token(emu, expire=int(time.time()) + 3))
    assert await _next(ws) == {"type": "stream", "live": False}
    assert await _next(ws) == {"type": "token_will_expire"}
    msg = await ws.receive(timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == 4401


async def test_portraits_are_served_signed_and_expire(
    api: Api, emu: ZegoEmulator, session: aiohttp.ClientSession
) -> None:
    human = emu.config.digital_humans[0]
    info = await api.ok("GetDigitalHumanInfo", {"DigitalHumanId": human.digital_human_id})
    url = info["AvatarUrl"]
    assert url.startswith(f"{emu.endpoint}/portraits/{human.digital_human_id}.svg?")
    async with session.get(url) as response:
        assert response.status == 200
        assert response.content_type == "image/svg+xml"
        assert human.name in await response.text()
    async with session.get(url.replace("Signature=", "Signature=0")) as response:
        assert response.status == 403
    # ZEGO's AvatarUrl lasts 24 h: a day later the same URL no longer works.
    emu.config.clock_offset = 86400 + 1
    async with session.get(url) as response:
        assert response.status == 403
        assert "expired" in await response.text()


@pytest.mark.parametrize("emu_config", [fast_config(serve_portraits=False)])
async def test_portraits_can_stay_as_configured(api: Api, emu_config: EmulatorConfig) -> None:
    human = emu_config.digital_humans[0]
    info = await api.ok("GetDigitalHumanInfo", {"DigitalHumanId": human.digital_human_id})
    assert info["AvatarUrl"] == human.avatar_url


async def test_shutdown_closes_viewers(emu_config: EmulatorConfig) -> None:
    from zego_emulator import ZegoEmulator

    async with aiohttp.ClientSession() as session, ZegoEmulator(emu_config) as emu:
        from .signing import Api

        api = Api(session, emu)
        ws, answer = await _login(api, _token(emu))
        assert answer["ok"]

        async def drain() -> None:
            while not ws.closed:
                await ws.receive()

        reader = asyncio.create_task(drain())
        await emu.close()
        async with asyncio.timeout(5):
            await reader
    assert ws.close_code == 1001

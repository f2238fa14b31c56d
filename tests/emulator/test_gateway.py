"""Gateway checks (zego-api.md §0 items 1-10): each code, the order, the envelope."""

from __future__ import annotations

import asyncio
from email.utils import parsedate_to_datetime
import time
from typing import TYPE_CHECKING, Any
import uuid

import pytest

from zego_emulator import EmulatorConfig, ZegoEmulator
from zego_emulator.gateway import signature

from .conftest import fast_config
from .signing import Api, md5_signature, signed_params

if TYPE_CHECKING:
    import aiohttp

# zego-api.md §2.2 test vector
V_APP_ID = 12345
V_NONCE = "4fd24687296dd9f3"
V_SECRET = "9193cc662a4c0ec135ec71fb57194b38"
V_TIMESTAMP = 1615186943
V_SIGNATURE = "43e5cfcca828314675f91b001390566a"


def test_signature_matches_the_documented_vector() -> None:
    assert md5_signature(V_APP_ID, V_NONCE, V_SECRET, V_TIMESTAMP) == V_SIGNATURE
    assert signature(V_APP_ID, V_NONCE, V_SECRET, V_TIMESTAMP) == V_SIGNATURE


async def test_documented_vector_is_accepted_end_to_end(session: aiohttp.ClientSession) -> None:
    # Move the emulator's clock to the vector's Timestamp so the exact documented request passes.
    config = fast_config(
        app_id=V_APP_ID, server_secret=V_SECRET, clock_offset=V_TIMESTAMP - time.time()
    )
    async with ZegoEmulator(config) as emu:
        params = signed_params(
            "QueryDigitalHumanStreamTasks", V_APP_ID, V_SECRET, timestamp=V_TIMESTAMP, nonce=V_NONCE
        )
        assert params["Signature"] == V_SIGNATURE
        reply = await Api(session, emu).raw(params, {})
        assert reply.code == 0, reply.body


def _valid(emu: ZegoEmulator, action: str = "QueryDigitalHumanStreamTasks") -> dict[str, str]:
    return signed_params(
        action, emu.config.app_id, emu.config.server_secret, timestamp=int(emu.now())
    )


def _drop(name: str) -> Any:
    def mutate(params: dict[str, str], emu: ZegoEmulator) -> None:
        del params[name]

    return mutate


def _set(name: str, value: str) -> Any:
    def mutate(params: dict[str, str], emu: ZegoEmulator) -> None:
        params[name] = value

    return mutate


def _resign(app_id: str | None = None, ts: str | None = None, secret: str | None = None) -> Any:
    """Change AppId/Timestamp and sign correctly, so only the changed value is wrong."""

    def mutate(params: dict[str, str], emu: ZegoEmulator) -> None:
        if app_id is not None:
            params["AppId"] = app_id
        if ts is not None:
            params["Timestamp"] = str(int(emu.now()) + int(ts)) if ts[0] in "+-" else ts
        params["Signature"] = md5_signature(
            params["AppId"],
            params["SignatureNonce"],
            emu.config.server_secret if secret is None else secret,
            params["Timestamp"],
        )

    return mutate


GATEWAY_CASES = [
    ("no Action", _drop("Action"), 100000006),
    ("empty Action", _set("Action", ""), 100000006),
    ("unknown Action", _set("Action", "DescribeMetaHumanLive"), 100000007),
    ("no AppId", _drop("AppId"), 100000001),
    ("AppId not decimal", _set("AppId", "abc"), 100000001),
    ("AppId negative", _set("AppId", "-5"), 100000001),
    ("AppId leading zero", _set("AppId", "01234"), 100000001),
    ("AppId over uint32", _set("AppId", "4294967296"), 100000001),
    ("no Timestamp", _drop("Timestamp"), 100000002),
    ("empty Timestamp", _set("Timestamp", ""), 100000002),
    ("Timestamp not integer", _set("Timestamp", "12.5"), 100000003),
    ("Timestamp ISO", _set("Timestamp", "2026-01-01T00:00:00Z"), 100000003),
    ("no SignatureNonce", _drop("SignatureNonce"), 100000008),
    ("empty SignatureNonce", _set("SignatureNonce", ""), 100000008),
    ("no Signature", _drop("Signature"), 100000009),
    ("no SignatureVersion", _drop("SignatureVersion"), 100000013),
    ("SignatureVersion 1.0", _set("SignatureVersion", "1.0"), 100000014),
    ("unknown AppId", _resign(app_id="42"), 100000010),
    ("Timestamp 602 s ahead", _resign(ts="+602"), 100000004),
    ("Timestamp 602 s behind", _resign(ts="-602"), 100000004),
    ("Timestamp in milliseconds", _resign(ts=str(int(time.time() * 1000))), 100000004),
    ("wrong secret", _resign(secret="0" * 32), 100000005),
    ("signature upper-case", None, 100000005),
    ("signature of other nonce", _set("SignatureNonce", "another-nonce"), 100000005),
]


@pytest.mark.parametrize(
    ("mutate", "code"), [(m, c) for _, m, c in GATEWAY_CASES], ids=[i for i, _, _ in GATEWAY_CASES]
)
async def test_gateway_rejects(api: Api, emu: ZegoEmulator, mutate: Any, code: int) -> None:
    params = _valid(emu)
    if mutate is None:
        params["Signature"] = params["Signature"].upper()
    else:
        mutate(params, emu)
    reply = await api.raw(params, {})
    assert reply.status == 200
    assert reply.code == code, reply.body
    assert reply.message
    assert "Data" not in reply.body
    assert emu.requests[-1].code == code


# Integer Timestamps against a fractional clock: one second of margin keeps these exact.
@pytest.mark.parametrize("offset", [-598, 0, 598])
async def test_timestamp_inside_window_is_accepted(
    api: Api, emu: ZegoEmulator, offset: int
) -> None:
    reply = await api.call("QueryDigitalHumanStreamTasks", timestamp=int(emu.now()) + offset)
    assert reply.code == 0, reply.body


async def test_nonce_format_is_not_enforced(api: Api) -> None:
    for nonce in ("15215528852396", "0.7282929", "4fd24687296dd9f3", "x"):
        assert (await api.call("QueryDigitalHumanStreamTasks", nonce=nonce)).code == 0


async def test_checks_run_in_documented_order(api: Api, emu: ZegoEmulator) -> None:
    params = _valid(emu)
    # Several problems at once: the earliest check in the documented order answers.
    params.update({"AppId": "x", "Timestamp": "y", "SignatureVersion": "9"})
    del params["Signature"]
    assert (await api.raw(params, {})).code == 100000001
    params = _valid(emu)
    params.update({"Timestamp": "y", "SignatureVersion": "9"})
    del params["Signature"]
    assert (await api.raw(params, {})).code == 100000003
    params = _valid(emu)
    params["AppId"] = "77"  # unknown AppId wins over a stale Timestamp and a bad signature
    params["Timestamp"] = "1"
    assert (await api.raw(params, {})).code == 100000010
    params = _valid(emu)
    params["Timestamp"] = "1"  # stale Timestamp wins over the (now wrong) signature
    assert (await api.raw(params, {})).code == 100000004


@pytest.mark.parametrize("emu_config", [fast_config(clock_offset=3600.0)])
async def test_clock_offset_and_date_header(api: Api, emu: ZegoEmulator) -> None:
    host_now = int(time.time())
    reply = await api.call("QueryDigitalHumanStreamTasks", timestamp=host_now)
    assert reply.code == 100000004
    server_date = parsedate_to_datetime(reply.headers["Date"]).timestamp()
    # The Date header follows the emulator's clock, so a client can measure the skew.
    assert abs(server_date - (host_now + 3600)) < 5
    ok = await api.call("QueryDigitalHumanStreamTasks")  # signed with the emulator's clock
    assert ok.code == 0
    assert abs(parsedate_to_datetime(ok.headers["Date"]).timestamp() - emu.now()) < 5


async def test_nonce_replay_is_rejected(api: Api) -> None:
    assert (await api.call("QueryDigitalHumanStreamTasks", nonce="same-nonce")).code == 0
    again = await api.call("QueryDigitalHumanStreamTasks", nonce="same-nonce")
    assert again.code == 100000005
    assert "Nonce" in again.message


@pytest.mark.parametrize("emu_config", [fast_config(reject_nonce_replay=False)])
async def test_nonce_replay_allowed_when_configured(api: Api) -> None:
    assert (await api.call("QueryDigitalHumanStreamTasks", nonce="same-nonce")).code == 0
    assert (await api.call("QueryDigitalHumanStreamTasks", nonce="same-nonce")).code == 0


@pytest.mark.parametrize("emu_config", [fast_config(nonce_replay_code=100000004)])
async def test_nonce_replay_code_is_a_setting(api: Api) -> None:
    await api.call("QueryDigitalHumanStreamTasks", nonce="n1")
    assert (await api.call("QueryDigitalHumanStreamTasks", nonce="n1")).code == 100000004


QPS = fast_config(qps_scope="app_action", qps_window=0.5, extra_apps={42: "f" * 32})


@pytest.mark.parametrize("emu_config", [QPS])
async def test_qps_eleventh_call_in_window_is_rate_limited(api: Api, emu: ZegoEmulator) -> None:
    replies = [await api.call("GetDigitalHumanList") for _ in range(11)]
    assert [r.code for r in replies[:10]] == [0] * 10
    assert replies[10].code == 400010009
    # Per AppId + Action: another action and another AppId still have their own windows.
    assert (await api.call("GetTimbreList")).code == 0
    assert (await api.call("GetDigitalHumanList", app_id=42, secret="f" * 32)).code == 0
    # The window slides: once it has passed, calls are accepted again.
    await asyncio.sleep(0.55)
    assert (await api.call("GetDigitalHumanList")).code == 0


@pytest.mark.parametrize(
    "emu_config", [fast_config(qps_scope="action", qps_limit=2, extra_apps={42: "f" * 32})]
)
async def test_qps_scope_action_counts_all_app_ids(api: Api) -> None:
    assert (await api.call("GetDigitalHumanList")).code == 0
    assert (await api.call("GetDigitalHumanList", app_id=42, secret="f" * 32)).code == 0
    assert (await api.call("GetDigitalHumanList")).code == 400010009
    assert (await api.call("GetTimbreList")).code == 0


@pytest.mark.parametrize("emu_config", [fast_config(qps_scope="app", qps_limit=2)])
async def test_qps_scope_app_counts_all_actions(api: Api) -> None:
    assert (await api.call("GetDigitalHumanList")).code == 0
    assert (await api.call("GetTimbreList")).code == 0
    assert (await api.call("QueryDigitalHumanStreamTasks")).code == 400010009


@pytest.mark.parametrize("emu_config", [fast_config(error_http_status=400)])
async def test_error_http_status_is_a_setting(api: Api) -> None:
    reply = await api.call("GetDigitalHumanInfo", {"DigitalHumanId": "nope"})
    assert reply.status == 400
    assert reply.code == 400000003
    assert (await api.call("GetDigitalHumanList")).status == 200


async def test_success_envelope(api: Api, emu: ZegoEmulator) -> None:
    reply = await api.call("QueryDigitalHumanStreamTasks")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert set(reply.body) == {"Code", "Message", "RequestId", "Data"}
    assert reply.body["Message"] == "success"
    assert uuid.UUID(reply.body["RequestId"]).version == 4
    assert reply.data == {"TaskList": []}
    task_id = await api.streaming_task()
    for action in ("InterruptDriveTask", "DoAction", "StopDigitalHumanStreamTask"):
        body: dict[str, Any] = {"TaskId": task_id}
        if action == "DoAction":
            body["Action"] = "wave_hand"
        reply = await api.call(action, body)
        assert reply.code == 0, reply.body
        assert "Data" not in reply.body, action
    ids = {r.request_id for r in emu.requests}
    assert len(ids) == len(emu.requests)  # a fresh RequestId every time


async def test_error_envelope(api: Api) -> None:
    reply = await api.call("GetDigitalHumanInfo", {"DigitalHumanId": "nope"})
    assert set(reply.body) == {"Code", "Message", "RequestId"}
    assert uuid.UUID(reply.body["RequestId"]).version == 4


BODY_CASES = [
    ("GET", None, None, None),
    ("POST", None, b"", None),
    ("POST", None, b"{not json", None),
    ("POST", None, b"[1, 2]", None),
    ("POST", None, b'"text"', None),
    ("POST", None, b'{"Offset": NaN}', None),
    ("POST", None, b"{}", {"Content-Type": "text/plain"}),
    ("POST", None, b"\xff\xfe", {"Content-Type": "application/json"}),
]


@pytest.mark.parametrize(
    ("method", "body", "data", "headers"),
    BODY_CASES,
    ids=["GET", "empty", "bad-json", "array", "string", "NaN", "text/plain", "not-utf8"],
)
async def test_body_must_be_a_json_object(
    api: Api,
    emu: ZegoEmulator,
    method: str,
    body: Any,
    data: bytes | None,
    headers: dict[str, str] | None,
) -> None:
    if data is not None and headers is None:
        headers = {"Content-Type": "application/json"}
    reply = await api.raw(
        _valid(emu, "GetDigitalHumanList"), body, method=method, data=data, headers=headers
    )
    assert reply.code == 400000001, reply.body


@pytest.mark.parametrize("emu_config", [fast_config(require_json_content_type=False)])
async def test_content_type_check_is_a_setting(api: Api, emu: ZegoEmulator) -> None:
    reply = await api.raw(
        _valid(emu, "GetDigitalHumanList"), data=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert reply.code == 0


async def test_charset_parameter_is_fine(api: Api, emu: ZegoEmulator) -> None:
    reply = await api.raw(
        _valid(emu, "GetDigitalHumanList"),
        data=b"{}",
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert reply.code == 0


async def test_unknown_fields_are_ignored(api: Api, emu: ZegoEmulator) -> None:
    task = await api.ok(
        "CreateDigitalHumanStreamTask",
        {
            "DigitalHumanConfig": {
                "DigitalHumanId": emu.config.digital_humans[0].digital_human_id,
                "Layout": {"Top": 0},
            },
            "RTCConfig": {"RoomId": "r", "StreamId": "s"},
            "ExtraConfig": {"OutputMode": 2},
            "VideoConfig": {"Width": 1080},
            "SequenceID": "abc",
        },
    )
    assert "TaskId" in task
    assert (await api.call("GetDigitalHumanList", {"InferenceMode": 2})).code == 0


async def test_other_paths_are_not_found(api: Api, emu: ZegoEmulator) -> None:
    async with api.session.post(emu.endpoint + "/v1/", params=_valid(emu), json={}) as resp:
        assert resp.status == 404


async def test_all_requests_are_recorded(api: Api, emu: ZegoEmulator) -> None:
    await api.call("GetDigitalHumanList")
    await api.call("GetDigitalHumanInfo", {"DigitalHumanId": "x"})
    assert [(r.action, r.app_id, r.code, r.http_status) for r in emu.requests] == [
        ("GetDigitalHumanList", emu.config.app_id, 0, 200),
        ("GetDigitalHumanInfo", emu.config.app_id, 400000003, 200),
    ]


def test_config_refuses_non_loopback_host() -> None:
    with pytest.raises(ValueError, match="loopback"):
        EmulatorConfig(host="0.0.0.0")  # noqa: S104 - the point of the test

"""Code -> exception mapping and the readable, secret-free messages (pure, no I/O)."""

from __future__ import annotations

import pytest

from custom_components.zego_digital_human.client import (
    ZegoAuthenticationError,
    ZegoClockSkewError,
    ZegoConnectionError,
    ZegoDigitalHumanNotFoundError,
    ZegoDriveConnectionError,
    ZegoDriveError,
    ZegoError,
    ZegoInvalidParameterError,
    ZegoNotFoundError,
    ZegoPermissionError,
    ZegoQuotaError,
    ZegoRateLimitedError,
    ZegoResponseError,
    ZegoServerError,
    ZegoStreamIdConflictError,
    ZegoStreamNotReadyError,
    ZegoTaskEndedError,
    ZegoTaskNotFoundError,
    ZegoTimbreNotFoundError,
    ZegoTimbreUnsupportedError,
    ZegoTimeoutError,
    error_from_code,
)
from custom_components.zego_digital_human.client.errors import parse_field, redact


@pytest.mark.parametrize(
    ("code", "cls", "retryable"),
    [
        (100000004, ZegoClockSkewError, False),
        (100000005, ZegoAuthenticationError, False),
        (100000010, ZegoAuthenticationError, False),
        (100000011, ZegoAuthenticationError, False),
        (400000002, ZegoPermissionError, False),
        (100000017, ZegoPermissionError, False),
        (400010001, ZegoPermissionError, False),
        (400010009, ZegoRateLimitedError, True),
        (400000005, ZegoTaskNotFoundError, False),
        (400000003, ZegoDigitalHumanNotFoundError, False),
        (400000004, ZegoTimbreNotFoundError, False),
        (400000006, ZegoStreamNotReadyError, False),
        (400000007, ZegoTaskEndedError, False),
        (400000001, ZegoInvalidParameterError, False),
        (100000001, ZegoInvalidParameterError, False),
        (100000003, ZegoInvalidParameterError, False),
        (100000014, ZegoInvalidParameterError, False),
        (400000009, ZegoTimbreUnsupportedError, False),
        (400000015, ZegoStreamIdConflictError, False),
        (400000008, ZegoQuotaError, False),
        (400000012, ZegoQuotaError, False),
        (400010007, ZegoQuotaError, False),
        (400010000, ZegoServerError, True),
        (400010002, ZegoServerError, True),
        (100000015, ZegoServerError, True),
        (400000010, ZegoServerError, False),
        (400000016, ZegoServerError, False),
        (499999999, ZegoResponseError, False),
    ],
)
def test_code_mapping(code: int, cls: type[ZegoResponseError], retryable: bool) -> None:
    err = error_from_code(code, "msg", "req-1", "SomeAction")
    assert type(err) is cls
    assert err.retryable is retryable
    assert (err.code, err.zego_message, err.request_id, err.action) == (
        code,
        "msg",
        "req-1",
        "SomeAction",
    )


def test_hierarchy() -> None:
    assert issubclass(ZegoTimeoutError, ZegoConnectionError)
    assert issubclass(ZegoConnectionError, ZegoError)
    for cls in (ZegoTaskNotFoundError, ZegoDigitalHumanNotFoundError, ZegoTimbreNotFoundError):
        assert issubclass(cls, ZegoNotFoundError)
    for cls in (ZegoTimbreUnsupportedError, ZegoStreamIdConflictError):
        assert issubclass(cls, ZegoInvalidParameterError)
    assert issubclass(ZegoDriveConnectionError, ZegoDriveError)
    assert not issubclass(ZegoDriveError, ZegoResponseError)
    assert ZegoConnectionError.retryable
    assert ZegoTimeoutError.retryable


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (500, ZegoServerError, True),
        (503, ZegoServerError, True),
        (429, ZegoRateLimitedError, True),
        (404, ZegoResponseError, False),
    ],
)
def test_http_status_without_code(status: int, cls: type[ZegoError], retryable: bool) -> None:
    err = error_from_code(None, None, None, "A", http_status=status)
    assert type(err) is cls
    assert err.retryable is retryable
    assert f"HTTP {status}" in str(err)


def test_str_is_a_sentence_naming_everything() -> None:
    err = error_from_code(400000005, "task not exist", "abc-123", "StopDigitalHumanStreamTask")
    text = str(err)
    assert text.startswith("StopDigitalHumanStreamTask: ")
    assert "400000005" in text
    assert "task not exist" in text
    assert "abc-123" in text
    assert "ZegoTaskNotFoundError" in repr(err)


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("Invalid parameter: TTL must be in [10, 86400]", "TTL"),
        ("Invalid parameter: RTCConfig.StreamId has bad characters", "RTCConfig.StreamId"),
        ("param 'MaxIdleTime' out of range", "MaxIdleTime"),
        ("invalid DigitalHumanConfig.BackgroundColor", "DigitalHumanConfig.BackgroundColor"),
        ("Limit is invalid", "Limit"),
        ("invalid value", None),
        ("SpeechRate is out of range", "SpeechRate"),
        ("something went wrong", None),
        (None, None),
    ],
)
def test_parse_field(message: str | None, field: str | None) -> None:
    assert parse_field(message) == field


def test_invalid_parameter_names_field() -> None:
    err = error_from_code(400000001, "Invalid parameter: TTL must be >= 10", "r", "Create")
    assert isinstance(err, ZegoInvalidParameterError)
    assert err.field == "TTL"
    assert "TTL" in str(err)


def test_gateway_code_names_its_parameter() -> None:
    err = error_from_code(100000003, "timestamp format error", "r", "A")
    assert isinstance(err, ZegoInvalidParameterError)
    assert err.field == "Timestamp"


def test_clock_skew_sentence() -> None:
    err = error_from_code(100000004, "signature expired", "r", "A")
    assert isinstance(err, ZegoClockSkewError)
    assert err.skew_seconds is None
    err.set_skew(901.4)
    assert err.skew_seconds == pytest.approx(901.4)
    assert "the local clock is off by about 901 seconds" in str(err)
    err.set_skew(-30.0)
    assert "off by about 30 seconds" in str(err)


def test_redact_strips_queries_and_credentials() -> None:
    text = redact(
        "failed for https://h/?Action=A&Signature=deadbeef and wss://1.2.3.4:5/ws?Token=tok "
        "Signature=abc Token=xyz"
    )
    assert "deadbeef" not in text
    assert "tok" not in text
    assert "abc" not in text
    assert "xyz" not in text
    assert "https://h/?<redacted>" in text
    assert "wss://1.2.3.4:5/ws?<redacted>" in text


def test_message_is_redacted() -> None:
    err = ZegoConnectionError("GET wss://1.2.3.4/ws?Token=sekrit failed", action="A")
    assert "sekrit" not in str(err)
    assert "sekrit" not in repr(err)

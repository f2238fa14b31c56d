"""Token04: both variants decrypt with the spec's format (an independent reader)."""

from __future__ import annotations

import json
import time

from cryptography.exceptions import InvalidTag
import pytest

from custom_components.zego_digital_human.client import (
    TokenVariant,
    generate_token04,
    view_only_payload,
)
from tests.token04_reference import decode_token04

SECRET = "0123456789abcdef0123456789abcdef"
APP_ID = 1234567890


@pytest.mark.parametrize("variant", [TokenVariant.GCM, TokenVariant.CBC])
def test_token_carries_identity_time_and_view_only_payload(variant: TokenVariant) -> None:
    before = int(time.time())
    token = generate_token04(
        app_id=APP_ID,
        user_id="ha_0123456789abcdef_a1b2c3d4",
        secret=SECRET,
        payload=view_only_payload("lobby_room"),
        variant=variant,
    )
    after = int(time.time())
    seen_variant, clear_expire, info = decode_token04(token, SECRET)

    assert seen_variant == variant.value
    assert set(info) == {"app_id", "user_id", "nonce", "ctime", "expire", "payload"}
    assert info["app_id"] == APP_ID
    assert info["user_id"] == "ha_0123456789abcdef_a1b2c3d4"
    assert before <= info["ctime"] <= after
    assert info["expire"] == info["ctime"] + 3600 == clear_expire
    assert isinstance(info["nonce"], int)
    assert 0 <= info["nonce"] < 2**31
    payload = json.loads(info["payload"])
    assert payload == {
        "room_id": "lobby_room",
        "privilege": {"1": 1, "2": 0},
        "stream_id_list": None,
    }
    # Standard base64, one line: what ZEGO's SDK parses.
    assert "\n" not in token
    assert "-" not in token
    assert "_" not in token


@pytest.mark.parametrize("variant", [TokenVariant.GCM, TokenVariant.CBC])
def test_each_token_is_fresh(variant: TokenVariant) -> None:
    first = generate_token04(app_id=APP_ID, user_id="u", secret=SECRET, variant=variant, now=1000)
    second = generate_token04(app_id=APP_ID, user_id="u", secret=SECRET, variant=variant, now=1000)
    assert first != second
    assert decode_token04(first, SECRET)[2]["nonce"] != decode_token04(second, SECRET)[2]["nonce"]


def test_ttl_and_clock_are_honoured() -> None:
    token = generate_token04(app_id=7, user_id="u", secret=SECRET, ttl=60, now=1_700_000_000)
    _, expire, info = decode_token04(token, SECRET)
    assert (info["ctime"], info["expire"], expire) == (1_700_000_000, 1_700_000_060, 1_700_000_060)
    assert info["payload"] == ""


def test_gcm_token_is_authenticated() -> None:
    """A token from another secret, or tampered with, does not decrypt."""
    token = generate_token04(app_id=7, user_id="u", secret=SECRET)
    with pytest.raises(InvalidTag):
        decode_token04(token, "f" * 32)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"app_id": 0}, "app_id"),
        ({"app_id": 2**32}, "app_id"),
        ({"user_id": ""}, "user_id"),
        ({"user_id": "x" * 65}, "user_id"),
        ({"secret": "short"}, "32 characters"),
        ({"ttl": 0}, "ttl"),
    ],
)
def test_bad_input_is_refused_without_echoing_the_secret(
    kwargs: dict[str, object], needle: str
) -> None:
    args: dict[str, object] = {"app_id": APP_ID, "user_id": "u", "secret": SECRET, **kwargs}
    with pytest.raises(ValueError, match=needle) as caught:
        generate_token04(**args)  # type: ignore[arg-type]
    assert str(args["secret"]) not in str(caught.value)

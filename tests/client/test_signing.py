"""Signature of the common query parameters (zego-api.md §2)."""

from __future__ import annotations

import re

from custom_components.zego_digital_human.client import compute_signature, signed_params
from custom_components.zego_digital_human.client.signing import make_nonce


def test_doc_test_vector() -> None:
    """The worked example of ZEGO's signing doc."""
    signature = compute_signature(
        12345, "4fd24687296dd9f3", "9193cc662a4c0ec135ec71fb57194b38", 1615186943
    )
    assert signature == "43e5cfcca828314675f91b001390566a"


def test_signed_params_carry_the_signed_values() -> None:
    params = signed_params(
        "GetTimbreList",
        12345,
        "9193cc662a4c0ec135ec71fb57194b38",
        1615186943,
        nonce="4fd24687296dd9f3",
    )
    assert params == {
        "Action": "GetTimbreList",
        "AppId": "12345",
        "SignatureNonce": "4fd24687296dd9f3",
        "Timestamp": "1615186943",
        "Signature": "43e5cfcca828314675f91b001390566a",
        "SignatureVersion": "2.0",
    }


def test_nonces_are_fresh_16_hex() -> None:
    nonces = {make_nonce() for _ in range(100)}
    assert len(nonces) == 100
    assert all(re.fullmatch(r"[0-9a-f]{16}", nonce) for nonce in nonces)


def test_every_request_gets_a_new_nonce_and_signature() -> None:
    first = signed_params("A", 1, "s", 1)
    second = signed_params("A", 1, "s", 1)
    assert first["SignatureNonce"] != second["SignatureNonce"]
    assert first["Signature"] != second["Signature"]

"""Common query parameters and their MD5 signature (zego-api.md §2)."""

from __future__ import annotations

import hashlib
import secrets

from .const import SIGNATURE_VERSION


def compute_signature(app_id: int | str, nonce: str, server_secret: str, timestamp: int) -> str:
    """Return lower-hex MD5 of AppId + SignatureNonce + ServerSecret + Timestamp."""
    payload = f"{app_id}{nonce}{server_secret}{timestamp}"
    # MD5 is what ZEGO's gateway mandates; it is not used for any local security.
    return hashlib.md5(payload.encode(), usedforsecurity=False).hexdigest()


def make_nonce() -> str:
    """Return a fresh nonce: 16 hex characters, as ZEGO's docs recommend."""
    return secrets.token_hex(8)


def signed_params(
    action: str,
    app_id: int | str,
    server_secret: str,
    timestamp: int,
    nonce: str | None = None,
) -> dict[str, str]:
    """Return the common query parameters of one request, signed.

    A new nonce is drawn unless one is given (tests pin it to check vectors).
    """
    nonce = make_nonce() if nonce is None else nonce
    return {
        "Action": action,
        "AppId": str(app_id),
        "SignatureNonce": nonce,
        "Timestamp": str(timestamp),
        "Signature": compute_signature(app_id, nonce, server_secret, timestamp),
        "SignatureVersion": SIGNATURE_VERSION,
    }

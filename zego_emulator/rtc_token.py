"""Checking a ZEGO Token04 the way ZEGO's RTC service would (wave2.md A2).

The emulator's own reading of the format, written apart from the integration's generator so
that one mistake cannot hide in both. Layout after the "04" prefix and base64:
int64 expire | uint16 nonce length | nonce | uint16 ciphertext length | ciphertext [| mode].
A 12-byte nonce with mode byte 1 is AES-256-GCM (tag at the end of the ciphertext); a 16-byte
IV without a mode byte is AES-256-CBC with PKCS#7 padding. The key is the ServerSecret's bytes.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
import json
import struct
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from collections.abc import Mapping

PRIVILEGE_LOGIN = "1"
PRIVILEGE_PUBLISH = "2"


class TokenRejectedError(Exception):
    """The token does not let this user into this room; `reason` says why (no secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, kw_only=True, slots=True)
class TokenClaims:
    """What a verified token grants."""

    app_id: int
    user_id: str
    ctime: int
    expire: int
    room_id: str | None
    can_login: bool
    can_publish: bool


def _split(token: str) -> tuple[int, bytes, bytes, bytes]:
    if not token.startswith("04"):
        raise TokenRejectedError("not a Token04")
    try:
        body = base64.b64decode(token[2:], validate=True)
    except (binascii.Error, ValueError):
        raise TokenRejectedError("token is not base64") from None
    try:
        expire, nonce_len = struct.unpack_from(">qH", body, 0)
        nonce = body[10 : 10 + nonce_len]
        (ct_len,) = struct.unpack_from(">H", body, 10 + nonce_len)
    except struct.error:
        raise TokenRejectedError("token is truncated") from None
    start = 12 + nonce_len
    ciphertext = body[start : start + ct_len]
    tail = body[start + ct_len :]
    if len(nonce) != nonce_len or len(ciphertext) != ct_len:
        raise TokenRejectedError("token is truncated")
    return expire, nonce, ciphertext, tail


def _decrypt(key: bytes, nonce: bytes, ciphertext: bytes, tail: bytes) -> bytes | None:
    """Plaintext, or None when this key does not open the token."""
    if len(nonce) == 12 and tail == b"\x01":
        try:
            return AESGCM(key).decrypt(nonce, ciphertext, None)
        except InvalidTag:
            return None
    if len(nonce) == 16 and tail == b"" and ciphertext and len(ciphertext) % 16 == 0:
        decryptor = Cipher(algorithms.AES(key), modes.CBC(nonce)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        pad = padded[-1]
        if not 1 <= pad <= 16 or padded[-pad:] != bytes([pad]) * pad:
            return None
        return padded[:-pad]
    raise TokenRejectedError("unknown Token04 encryption")


def _claims(plain: bytes, app_id: int, clear_expire: int) -> TokenClaims:
    try:
        info: Any = json.loads(plain)
    except ValueError:
        raise TokenRejectedError("token content is not JSON") from None
    if not isinstance(info, dict):
        raise TokenRejectedError("token content is not a JSON object")
    for name, kind in (("app_id", int), ("user_id", str), ("ctime", int), ("expire", int)):
        if type(info.get(name)) is not kind:
            raise TokenRejectedError(f"token field {name} is missing or of the wrong type")
    if info["app_id"] != app_id:
        raise TokenRejectedError("token was made for another AppID")
    if info["expire"] != clear_expire:
        raise TokenRejectedError("token expiry does not match its header")
    room_id: str | None = None
    can_login = can_publish = True
    raw_payload = info.get("payload") or ""
    if raw_payload:
        try:
            payload: Any = json.loads(raw_payload)
        except (TypeError, ValueError):
            raise TokenRejectedError("token payload is not JSON") from None
        if not isinstance(payload, dict):
            raise TokenRejectedError("token payload is not a JSON object")
        room = payload.get("room_id")
        room_id = room if isinstance(room, str) and room else None
        privilege = payload.get("privilege")
        if isinstance(privilege, dict):
            can_login = privilege.get(PRIVILEGE_LOGIN) == 1
            can_publish = privilege.get(PRIVILEGE_PUBLISH) == 1
    return TokenClaims(
        app_id=app_id,
        user_id=info["user_id"],
        ctime=info["ctime"],
        expire=info["expire"],
        room_id=room_id,
        can_login=can_login,
        can_publish=can_publish,
    )


def verify_token04(
    token: str,
    *,
    secrets_by_app: Mapping[int, str],
    user_id: str,
    room_id: str,
    now: float,
) -> TokenClaims:
    """Return the claims of a token that lets `user_id` log into `room_id` at `now`.

    Raises TokenRejectedError with a short reason otherwise. The token names no AppId in
    the clear, so each project's ServerSecret is tried.
    """
    expire, nonce, ciphertext, tail = _split(token)
    for app_id, secret in secrets_by_app.items():
        key = secret.encode()
        if len(key) != 32:
            continue
        plain = _decrypt(key, nonce, ciphertext, tail)
        if plain is None:
            continue
        claims = _claims(plain, app_id, expire)
        break
    else:
        raise TokenRejectedError("token was not made with this project's ServerSecret")
    if claims.user_id != user_id:
        raise TokenRejectedError("token was made for another user")
    if claims.expire <= now:
        raise TokenRejectedError("token has expired")
    if claims.room_id is not None and claims.room_id != room_id:
        raise TokenRejectedError("token is for another room")
    if claims.room_id is None:
        # The emulator demands what the integration promises: a token bound to its room.
        raise TokenRejectedError("token is not bound to a room")
    if not claims.can_login:
        raise TokenRejectedError("token does not allow logging in")
    return claims

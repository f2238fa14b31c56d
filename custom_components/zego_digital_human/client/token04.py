"""ZEGO Token04: the token a web player logs into an RTC room with (wave2.md A2).

Minted locally from the ServerSecret; no ZEGO call is involved. Two encodings share the "04"
prefix: AES-256-GCM (ZEGO's recommended one, the default here) and the older AES-256-CBC
that ZEGO's own samples still use.
"""

from __future__ import annotations

import base64
from enum import StrEnum
import json
import os
import secrets
import struct
import time
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TOKEN_VERSION = "04"  # noqa: S105 - the format version, not a secret
DEFAULT_TOKEN_TTL = 3600

# Privilege keys of the payload: 1 = log into the room, 2 = publish a stream.
PRIVILEGE_LOGIN = 1
PRIVILEGE_PUBLISH = 2

_GCM_NONCE_BYTES = 12
_GCM_MODE_BYTE = b"\x01"
_CBC_IV_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_CBC_IV_CHARS = 16
_MAX_USER_ID_BYTES = 64


class TokenVariant(StrEnum):
    """How the token's plaintext is encrypted."""

    GCM = "gcm"
    CBC = "cbc"


def view_only_payload(room_id: str) -> str:
    """Return the payload of a token that may log into `room_id` and may not publish.

    ZEGO enforces it only once "room ID / stream ID authentication" is enabled for the
    project; sent either way.
    """
    return json.dumps(
        {
            "room_id": room_id,
            "privilege": {PRIVILEGE_LOGIN: 1, PRIVILEGE_PUBLISH: 0},
            "stream_id_list": None,
        },
        separators=(",", ":"),
    )


def generate_token04(
    *,
    app_id: int,
    user_id: str,
    secret: str,
    ttl: int = DEFAULT_TOKEN_TTL,
    payload: str = "",
    variant: TokenVariant = TokenVariant.GCM,
    now: int | None = None,
) -> str:
    """Return a Token04 for `user_id`, valid `ttl` seconds from `now` (default: the clock).

    Raises ValueError for inputs ZEGO's own generators refuse: an AppId outside uint32, an
    empty or over-long user id, a ServerSecret that is not 32 bytes, a ttl below 1 s.
    """
    key = secret.encode()
    if not 0 < app_id <= 0xFFFFFFFF:
        raise ValueError("app_id must be a uint32 above 0")
    if not 0 < len(user_id.encode()) <= _MAX_USER_ID_BYTES:
        raise ValueError("user_id must be 1 to 64 bytes")
    if len(key) != 32:
        # Said without the secret itself: this text may reach a log.
        raise ValueError("the ServerSecret must be 32 characters for a Token04")
    if ttl < 1:
        raise ValueError("ttl must be at least 1 second")
    ctime = int(time.time()) if now is None else now
    expire = ctime + ttl
    info: dict[str, Any] = {
        "app_id": app_id,
        "user_id": user_id,
        "nonce": secrets.randbits(31),
        "ctime": ctime,
        "expire": expire,
        "payload": payload,
    }
    plain = json.dumps(info, separators=(",", ":"), ensure_ascii=False).encode()
    if variant is TokenVariant.GCM:
        nonce = os.urandom(_GCM_NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, plain, None)  # ciphertext followed by the tag
        body = _frame(expire, nonce, sealed) + _GCM_MODE_BYTE
    else:
        iv = "".join(secrets.choice(_CBC_IV_ALPHABET) for _ in range(_CBC_IV_CHARS)).encode()
        padder = padding.PKCS7(algorithms.AES.block_size).padder()
        padded = padder.update(plain) + padder.finalize()
        encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        body = _frame(expire, iv, encryptor.update(padded) + encryptor.finalize())
    return TOKEN_VERSION + base64.b64encode(body).decode("ascii")


def _frame(expire: int, nonce: bytes, ciphertext: bytes) -> bytes:
    return (
        struct.pack(">qH", expire, len(nonce))
        + nonce
        + struct.pack(">H", len(ciphertext))
        + ciphertext
    )

"""An independent Token04 reader (and minter) for tests, written from the format in wave2.md A2.

It shares no code with the integration's generator, so one mistake cannot hide in both.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def decode_token04(token: str, secret: str) -> tuple[str, int, dict[str, Any]]:
    """Return (variant "gcm"|"cbc", the clear expire field, the decrypted JSON)."""
    assert token.startswith("04"), token[:2]
    body = base64.b64decode(token[2:], validate=True)
    (expire,) = struct.unpack(">q", body[:8])
    (nonce_len,) = struct.unpack(">H", body[8:10])
    nonce = body[10 : 10 + nonce_len]
    offset = 10 + nonce_len
    (ct_len,) = struct.unpack(">H", body[offset : offset + 2])
    ciphertext = body[offset + 2 : offset + 2 + ct_len]
    rest = body[offset + 2 + ct_len :]
    key = secret.encode()
    if nonce_len == 12:
        assert rest == b"\x01", rest
        plain = AESGCM(key).decrypt(nonce, ciphertext, None)
        variant = "gcm"
    else:
        assert nonce_len == 16
        assert rest == b""
        decryptor = Cipher(algorithms.AES(key), modes.CBC(nonce)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        pad = padded[-1]
        assert 1 <= pad <= 16
        assert padded[-pad:] == bytes([pad]) * pad
        plain = padded[:-pad]
        variant = "cbc"
        assert all(chr(c) in "0123456789abcdefghijklmnopqrstuvwxyz" for c in nonce)
    return variant, expire, json.loads(plain)


def mint_token04(
    *,
    app_id: int,
    user_id: str,
    secret: str,
    expire: int,
    payload: dict[str, Any] | None = None,
    gcm: bool = True,
) -> str:
    """A Token04 as ZEGO's generators make it (for tests of a token's reader)."""
    info = {
        "app_id": app_id,
        "user_id": user_id,
        "nonce": 12345,
        "ctime": expire - 3600,
        "expire": expire,
        "payload": json.dumps(payload) if payload is not None else "",
    }
    plain = json.dumps(info).encode()
    key = secret.encode()
    if gcm:
        nonce = os.urandom(12)
        ciphertext = AESGCM(key).encrypt(nonce, plain, None)
        tail = b"\x01"
    else:
        nonce = b"0123456789abcdef"
        pad = 16 - len(plain) % 16
        encryptor = Cipher(algorithms.AES(key), modes.CBC(nonce)).encryptor()
        ciphertext = encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()
        tail = b""
    body = (
        struct.pack(">qH", expire, len(nonce))
        + nonce
        + struct.pack(">H", len(ciphertext))
        + ciphertext
        + tail
    )
    return "04" + base64.b64encode(body).decode()

"""Payload encryption: every payload Temporal stores is AES-256-GCM ciphertext (docs/encryption.md).

The codec sits after the payload converter: each payload (workflow input, results, signals,
updates, activity arguments, memos, failure details) is serialized as a `Payload` protobuf
and sealed into a new payload with metadata ``encoding: binary/encrypted`` and
``encryption-key-id: <id>``; its data is ``nonce (12 bytes) || ciphertext+tag``.

Keys form a keyring: new payloads use the active key id, every key in the ring decrypts.
Payloads that are not ``binary/encrypted`` pass through unchanged, so histories recorded
before encryption (running cases, tests/histories/) still decode and replay. A payload
sealed with a key id that is not in the ring fails with a clear error naming the key id.
Error messages never hold payload data or key material.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

if TYPE_CHECKING:
    from settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32


class PayloadKeyError(Exception):
    """A keyring that cannot work, or a payload no key in the ring opens (no data in it).

    Not a ValueError: raised inside the settings' validators it passes pydantic unwrapped
    (pydantic's own error text would repeat the input, i.e. the keys)."""


def decode_key(key_id: str, encoded: str) -> bytes:
    """The 32-byte key from its base64 text; a clear error naming *key_id* (never the key)."""
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise PayloadKeyError(f"Payload key {key_id!r} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise PayloadKeyError(
            f"Payload key {key_id!r} must be {KEY_BYTES} bytes (base64), not {len(key)}"
        )
    return key


def new_key() -> str:
    """A fresh random key as base64 (for an operator adding a key to the ring)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


class PayloadEncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads, with a keyring (*key_id* seals, every key opens)."""

    def __init__(self, key_id: str, keys: Mapping[str, bytes]) -> None:
        super().__init__()
        if not keys:
            raise PayloadKeyError("The payload keyring is empty")
        if key_id not in keys:
            raise PayloadKeyError(f"The active payload key id {key_id!r} is not in the keyring")
        for kid, key in keys.items():
            if not kid or len(key) != KEY_BYTES:
                raise PayloadKeyError(f"Payload key {kid!r} must be {KEY_BYTES} bytes")
        self.key_id = key_id
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.items()}

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._ciphers)

    async def encode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.key_id].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: self.key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption (or by a process without it)
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(
                f"Payload encrypted with key id {key_id!r}, which is not in the keyring "
                f"(known: {', '.join(self.key_ids)}); add that key to ERHVERV_PAYLOAD_KEYS"
            )
        data = payload.data
        try:
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None)
        except InvalidTag:
            raise PayloadKeyError(
                f"Payload encrypted with key id {key_id!r} does not authenticate "
                "(tampered, or a different key under the same id)"
            ) from None
        return Payload.FromString(plain)


def keyring_from_settings(settings: Settings) -> dict[str, bytes]:
    return {
        kid: decode_key(kid, secret.get_secret_value())
        for kid, secret in settings.payload_keys.items()
    }


def codec_from_settings(settings: Settings) -> PayloadEncryptionCodec:
    """The codec for *settings*' keyring (``payload_keys``) and active ``payload_key_id``."""
    return PayloadEncryptionCodec(settings.payload_key_id, keyring_from_settings(settings))

"""Sealed personal fields: one value encrypted with its case's data key (no I/O here).

Groundwork for erasure by crypto-shredding (issue 10, item 3; docs/encryption.md "Groundwork
for erasure"). A personal field (a contact's name, e-mail, phone, a free text) is stored as

    sealed:v1:<base64url(nonce || ciphertext+tag)>      (unpadded base64url)

AES-256-GCM under the case's 32-byte data key, with the case id as associated data, so a
sealed value opens only as a value of the case it was sealed for. The data key lives in
Postgres, wrapped by the payload keyring (`personal.py`); erasing a case destroys it, and
every sealed value of that case becomes unreadable for good.

This module is pure (no database, no settings), so workflow input types can accept "a plain
string or a well-formed sealed string" (`SealedOrPlain`) without opening anything: plain
values are those of cases started before sealing (old histories).

Checking the shape (`is_sealed`, `SealedOrPlain`) imports no cryptography (it is imported
when a value is sealed or opened), so workflow code can use it freely.

Error messages never hold the value, the plain text or key material.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sealed:"
PREFIX_V1 = "sealed:v1:"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
ERASED_PLACEHOLDER = "[slettet]"  # what an erased case's personal fields read as (Danish)

_BODY = re.compile(r"[A-Za-z0-9_-]+")
# The shortest body: a nonce and a tag around an empty text (28 bytes -> 38 characters).
_MIN_BODY_BYTES = NONCE_BYTES + TAG_BYTES


class SealedValueError(Exception):
    """A sealed value that is malformed, or does not open (tampered, another case, another
    key). Never holds the value, the text or the key. Not a ValueError: it must not be
    turned into a pydantic error that repeats its input."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(body: str) -> bytes | None:
    if not _BODY.fullmatch(body) or len(body) % 4 == 1:
        return None
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return None


def _check_key(key: bytes) -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # only to seal or open

    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        raise SealedValueError(f"A case data key must be {KEY_BYTES} bytes")
    return AESGCM(bytes(key))


def _associated_data(case_id: str) -> bytes:
    if not isinstance(case_id, str) or not case_id:
        raise SealedValueError("A sealed value needs the id of its case")
    return case_id.encode("utf-8")


def looks_sealed(value: object) -> bool:
    """True for any string that claims to be sealed (starts with ``sealed:``), well-formed
    or not; such a string is never taken as a plain value."""
    return isinstance(value, str) and value.startswith(PREFIX)


def sealed_bytes(value: str) -> bytes | None:
    """nonce || ciphertext+tag of a well-formed ``sealed:v1:`` value, else None."""
    if not isinstance(value, str) or not value.startswith(PREFIX_V1):
        return None
    raw = _b64decode(value[len(PREFIX_V1) :])
    if raw is None or len(raw) < _MIN_BODY_BYTES:
        return None
    return raw


def is_sealed(value: object) -> bool:
    """True for a well-formed sealed value (version 1, base64url body long enough for a
    nonce and a tag). Says nothing about whether it opens."""
    return isinstance(value, str) and sealed_bytes(value) is not None


def seal(key: bytes, case_id: str, text: str) -> str:
    """*text* sealed under the case's data *key*, bound to *case_id* (associated data)."""
    if not isinstance(text, str):
        raise SealedValueError("Only text can be sealed")
    cipher = _check_key(key)
    nonce = os.urandom(NONCE_BYTES)
    sealed = cipher.encrypt(nonce, text.encode("utf-8"), _associated_data(case_id))
    return PREFIX_V1 + _b64encode(nonce + sealed)


def open_with_key(key: bytes, case_id: str, value: str) -> str:
    """The text of the sealed *value* of *case_id*, opened with the case's data *key*.

    A malformed value, or one that does not authenticate (tampered, sealed for another case
    or under another key), is a SealedValueError naming only the case id."""
    from cryptography.exceptions import InvalidTag

    cipher = _check_key(key)
    associated = _associated_data(case_id)
    raw = sealed_bytes(value)
    if raw is None:
        raise SealedValueError(f"A value of case {case_id!r} is not a well-formed sealed value")
    try:
        plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated)
    except InvalidTag:
        raise SealedValueError(
            f"A sealed value of case {case_id!r} does not open with its key "
            "(tampered, or sealed for another case)"
        ) from None
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:  # authenticated, so only a sealer that did not use seal()
        raise SealedValueError(f"A sealed value of case {case_id!r} is not text") from None


def _sealed_or_plain(value: str) -> str:
    if looks_sealed(value) and not is_sealed(value):
        # A fixed message; pydantic adds the input to its error text, so models holding
        # personal fields set hide_input_in_errors (the input here is not a plain value).
        raise PydanticCustomError(
            "sealed_value", "a value starting with 'sealed:' must be a well-formed sealed value"
        )
    return value


SealedOrPlain = Annotated[str, AfterValidator(_sealed_or_plain)]
"""A personal text field: a plain string (cases started before sealing) or a well-formed
``sealed:v1:`` value. Validates the shape only; nothing is opened (no key, no I/O)."""


# A sealed value inside a longer text (e.g. a reason the workflow wrote around the company's
# own words): the body is base64url, so a token ends at the first other character.
SEALED_TOKEN = re.compile(r"sealed:v1:[A-Za-z0-9_-]+")


def sealed_tokens(text: str) -> list[str]:
    """The well-formed sealed values inside *text*, in order (duplicates kept)."""
    return [t for t in SEALED_TOKEN.findall(text) if is_sealed(t)]


def _personal(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A sealed value (shape only) or the erased placeholder passes; anything else is the
    plain field, checked by its own rules (a case started before sealing, or a door's input
    before it is sealed)."""
    if isinstance(value, str):
        if looks_sealed(value):
            return _sealed_or_plain(value)
        if value == ERASED_PLACEHOLDER:
            return value
    return handler(value)


class Personal:
    """``Personal[Email]``: a personal field that is either its plain type, a well-formed
    sealed value, or the erased placeholder. Validating it opens nothing."""

    def __class_getitem__(cls, plain: Any) -> Any:
        return Annotated[plain, WrapValidator(_personal)]

"""The seam for personal fields: per-case data keys in Postgres and erasure by crypto-shredding.

Groundwork for issue 10, item 3 (docs/encryption.md "Groundwork for erasure"); nothing calls
it yet. Each case gets a data key (32 random bytes) on first use, stored in
``case_data_keys`` wrapped (AES-256-GCM, nonce included, the case id as associated data)
under the payload keyring's active key (``settings.payload_key_id``), with that key's id
(``kek_id``). Personal fields are sealed with it (`schemas.sealed`). Erasing a case empties
the wrapped key and records who and why in ``erasures``, in one transaction; from then on
every sealed value of the case opens as "[slettet]".

Rotation of the keyring: a wrapped key opens with whichever keyring key its ``kek_id``
names; `rewrap_case_keys` wraps all of them under the active key, after which the old
keyring key can go (once no payload in a kept history needs it either).

Errors name case ids and key ids only: never a value, a text or key material.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.personal_models import WRAPPED_KEY_BYTES, CaseDataKey, Erasure
from schemas.codec import keyring_from_settings
from schemas.sealed import (
    ERASED_PLACEHOLDER,
    KEY_BYTES,
    NONCE_BYTES,
    SealedValueError,
    is_sealed,
    looks_sealed,
    open_with_key,
    seal,
)

if TYPE_CHECKING:
    from settings import Settings

__all__ = [
    "ERASED_PLACEHOLDER",
    "CaseKeyErased",
    "CaseKeyError",
    "ErasureRequestError",
    "SealedValueError",
    "data_key",
    "erase_case_key",
    "is_sealed",
    "open_sealed",
    "opening_key",
    "rewrap_case_keys",
    "seal",
]

REWRAP_BATCH = 500
_CASE_ID = re.compile(r"[\x21-\x7e]{1,80}")  # printable ASCII, as workflow ids are
_ERASED_BY = re.compile(r"[a-z0-9][a-z0-9._:-]{1,63}")  # 'mkj'; later e.g. 'system:retention'
# A reason is one line: no control characters (C0, DEL, C1), line/paragraph separators, bidi
# controls or lone surrogates (as schemas.fields' single-line fields).
_NOT_IN_REASON = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
REASON_MIN, REASON_MAX = 3, 200


class CaseKeyError(Exception):
    """A case's data key cannot be had: its keyring key is not in the ring, its wrapped key
    does not open, or a sealed value's case has no key. Names ids only."""


class CaseKeyErased(CaseKeyError):
    """The case's data key was erased: nothing can be sealed for the case any more."""


class ErasureRequestError(Exception):
    """An erasure request that cannot be recorded (the message never repeats the reason)."""


def _check_case_id(case_id: str) -> str:
    if not isinstance(case_id, str) or not _CASE_ID.fullmatch(case_id):
        raise CaseKeyError("A case id is 1-80 printable ASCII characters")
    return case_id


def _wrap_associated_data(case_id: str) -> bytes:
    return b"case-data-key:" + case_id.encode("ascii")


def _cipher(settings: Settings, kek_id: str, case_id: str) -> AESGCM:
    keyring = keyring_from_settings(settings)
    kek = keyring.get(kek_id)
    if kek is None:
        raise CaseKeyError(
            f"The data key of case {case_id!r} is wrapped with keyring key {kek_id!r}, which "
            f"is not in the keyring (known: {', '.join(sorted(keyring))}); add that key to "
            "ERHVERV_PAYLOAD_KEYS"
        )
    return AESGCM(kek)


def _wrap(settings: Settings, case_id: str, key: bytes) -> tuple[bytes, str]:
    kek_id = settings.payload_key_id
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(settings, kek_id, case_id).encrypt(nonce, key, _wrap_associated_data(case_id))
    return nonce + sealed, kek_id


def _unwrap(settings: Settings, row: CaseDataKey) -> bytes:
    cipher = _cipher(settings, row.kek_id, row.case_id)
    wrapped = row.wrapped_key
    try:
        key = cipher.decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_associated_data(row.case_id)
        )
    except InvalidTag:
        raise CaseKeyError(
            f"The data key of case {row.case_id!r} does not open with keyring key "
            f"{row.kek_id!r} (tampered, or another key under the same id)"
        ) from None
    if len(key) != KEY_BYTES:
        raise CaseKeyError(f"The data key of case {row.case_id!r} is not {KEY_BYTES} bytes")
    return key


async def _row(session: AsyncSession, case_id: str, *, lock: bool = False) -> CaseDataKey | None:
    query = select(CaseDataKey).where(CaseDataKey.case_id == case_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query.execution_options(populate_existing=True))).first()


async def data_key(sessions: async_sessionmaker, settings: Settings, case_id: str) -> bytes:
    """The 32-byte data key of *case_id*, made (and stored wrapped) on first use.

    Insert-or-get: callers racing on a new case all get the one key that was stored. An
    erased case raises CaseKeyErased (its key is never made again); a key wrapped with a
    keyring key not in the ring raises CaseKeyError naming that key id."""
    _check_case_id(case_id)
    async with sessions() as session, session.begin():
        # Insert first: a new case (the door's intake) costs one statement.
        key = os.urandom(KEY_BYTES)
        wrapped, kek_id = _wrap(settings, case_id, key)
        stored = await session.scalar(
            insert(CaseDataKey)
            .values(case_id=case_id, wrapped_key=wrapped, kek_id=kek_id)
            .on_conflict_do_nothing(index_elements=[CaseDataKey.case_id])
            .returning(CaseDataKey.case_id)
        )
        if stored is not None:
            return key  # committed as the block ends
        # The case has its key (or another caller stored it first: its insert committed
        # before ours gave way, and this new statement, read committed, sees it).
        row = await _row(session, case_id)
        if row is None:  # pragma: no cover - rows are never deleted
            raise CaseKeyError(f"The data key of case {case_id!r} vanished while made")
    if row.erased_at is not None:
        raise CaseKeyErased(f"The personal data of case {case_id!r} is erased")
    return _unwrap(settings, row)


async def opening_key(
    sessions: async_sessionmaker, settings: Settings, case_id: str
) -> bytes | None:
    """The data key to open *case_id*'s sealed values with; None once the case is erased.

    Opening never makes a key: a case with sealed values but no key raises CaseKeyError."""
    _check_case_id(case_id)
    async with sessions() as session:
        row = await _row(session, case_id)
    return opening_key_of(settings, case_id, row)


async def case_key_row(session: AsyncSession, case_id: str) -> CaseDataKey | None:
    """The key row of *case_id* read in the caller's *session* (None: no key made yet)."""
    _check_case_id(case_id)
    return await _row(session, case_id)


def opening_key_of(settings: Settings, case_id: str, row: CaseDataKey | None) -> bytes | None:
    """The opening key held by *row* (see `opening_key`): None once erased; no row is a
    CaseKeyError (a sealed value without a key)."""
    if row is None:
        raise CaseKeyError(f"Case {case_id!r} has a sealed value but no data key")
    if row.erased_at is not None:
        return None
    return _unwrap(settings, row)


async def open_sealed(
    sessions: async_sessionmaker, settings: Settings, case_id: str, value: str
) -> str:
    """The text of *value*, a personal field of *case_id*.

    A plain value (a case started before sealing) is returned as it is; a sealed value of an
    erased case reads "[slettet]"; a malformed or tampered sealed value, or one sealed for
    another case, raises SealedValueError; a sealed value whose case has no key raises
    CaseKeyError. Opening never makes a key."""
    if not looks_sealed(value):
        return value
    _check_case_id(case_id)
    if not is_sealed(value):
        raise SealedValueError(f"A value of case {case_id!r} is not a well-formed sealed value")
    async with sessions() as session:
        row = await _row(session, case_id)
    if row is None:
        raise CaseKeyError(f"Case {case_id!r} has a sealed value but no data key")
    if row.erased_at is not None:
        return ERASED_PLACEHOLDER
    return open_with_key(_unwrap(settings, row), case_id, value)


def _check_erasure(erased_by: str, reason: str) -> tuple[str, str]:
    if not isinstance(erased_by, str) or not _ERASED_BY.fullmatch(erased_by.strip().lower()):
        raise ErasureRequestError(
            "Who erases is a caseworker id (2-64 of a-z, 0-9, '.', '_', ':' and '-')"
        )
    if not isinstance(reason, str):
        raise ErasureRequestError("The reason for an erasure is text")
    reason = reason.strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise ErasureRequestError(
            f"The reason for an erasure is {REASON_MIN}-{REASON_MAX} characters, not {len(reason)}"
        )
    bad = _NOT_IN_REASON.search(reason)
    if bad is not None:
        raise ErasureRequestError(
            f"The reason for an erasure is one line without control characters "
            f"(U+{ord(bad.group()):04X} at position {bad.start() + 1})"
        )
    return erased_by.strip().lower(), reason


async def erase_case_key(
    sessions: async_sessionmaker, case_id: str, erased_by: str, reason: str
) -> bool:
    """Destroy *case_id*'s data key and record the erasure (who, why), in one transaction.

    True when this call erased it; False when it was already erased (nothing recorded). A
    case that never had a key gets an erased row all the same, so no key is made for it
    later. *reason* is short text without personal data (3-200 characters, one line).
    Whether the case may be erased (closed, retention) is the caller's rule."""
    _check_case_id(case_id)
    erased_by, reason = _check_erasure(erased_by, reason)
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        tombstone = await session.scalar(
            insert(CaseDataKey)
            .values(case_id=case_id, wrapped_key=b"", kek_id="", erased_at=now)
            .on_conflict_do_nothing(index_elements=[CaseDataKey.case_id])
            .returning(CaseDataKey.case_id)
        )
        if tombstone is None:
            row = await _row(session, case_id, lock=True)
            if row is None or row.erased_at is not None:
                return False
            await session.execute(
                update(CaseDataKey)
                .where(CaseDataKey.case_id == case_id)
                .values(wrapped_key=b"", erased_at=now)
            )
        session.add(Erasure(case_id=case_id, erased_at=now, erased_by=erased_by, reason=reason))
    return True


async def rewrap_case_keys(sessions: async_sessionmaker, settings: Settings) -> int:
    """Wrap every case's data key under the keyring's active key; the number rewrapped.

    Idempotent (keys already under the active key are left alone, a second run returns 0)
    and safe beside erasures and new keys (rows are locked in batches; an erased row is
    skipped). A key wrapped with a
    keyring key not in the ring stops it with CaseKeyError naming that key id."""
    active = settings.payload_key_id
    _cipher(settings, active, "-")  # the active key is in the ring (settings check it too)
    done = 0
    while True:
        async with sessions() as session, session.begin():
            rows = (
                await session.scalars(
                    select(CaseDataKey)
                    .where(CaseDataKey.erased_at.is_(None), CaseDataKey.kek_id != active)
                    .order_by(CaseDataKey.case_id)
                    .limit(REWRAP_BATCH)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            ).all()
            for row in rows:
                wrapped, kek_id = _wrap(settings, row.case_id, _unwrap(settings, row))
                if len(wrapped) != WRAPPED_KEY_BYTES:  # pragma: no cover - AES-GCM sizes
                    raise CaseKeyError(f"Rewrapping the key of case {row.case_id!r} failed")
                row.wrapped_key, row.kek_id = wrapped, kek_id
        done += len(rows)
        if len(rows) < REWRAP_BATCH:
            return done

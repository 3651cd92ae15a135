"""Access for case systems: API keys, and who started which case (with the idempotency store
of ``POST /api/v1/cases``). Both doors use it: `starter.py api-key ...` creates and revokes
keys, the web service verifies them and remembers requests. Postgres holds the state (tables
``api_keys``, ``case_requests`` and ``case_owners``, migration 0003).

Keys. A key is ``ek_`` and 32 random bytes (``secrets.token_urlsafe(32)``), shown once and
stored only as its SHA-256. A slow hash (scrypt, bcrypt) protects passwords, which are
guessable; a 256-bit random key is not, so SHA-256 is as safe here and lets a request's key
be found by an index lookup (a salted slow hash would need a key id in the key and cost tens
of milliseconds per request). Nothing here logs a key.

Requests and owners. ``case_requests`` is the idempotency store of ``POST /api/v1/cases``:
per (case system, Idempotency-Key) the first request's fingerprint and reference
(`remember_request`). ``case_owners`` is the one source for who started a case
(`owner_of`, `references_of`), written by `record_owner` only after a start succeeded, with
or without a key: a request that Temporal refused (the reference exists, perhaps started by
the CLI or another case system) never makes its sender an owner. A case started by the CLI
has no owner.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker

from db.models import ApiKey, CaseOwner, CaseRequest
from schemas.fields import REFERENCE_PATTERN

KEY_PREFIX = "ek_"
_NAME = re.compile(r"[a-z0-9._-]{2,64}")
_KEY = re.compile(r"ek_[A-Za-z0-9_-]{43}")
_IDEMPOTENCY_KEY = re.compile(r"[\x20-\x7e]{1,255}")
_FINGERPRINT = re.compile(r"[\x21-\x7e]{1,128}")
_REFERENCE = re.compile(REFERENCE_PATTERN)
ATTEMPTS = 3  # remember_request: a row removed between the insert and the read is retried


class AccessError(Exception):
    """A refusal the caller can act on; str(error) is the message to show (never a key).

    *kind* names it for a door that reacts without reading the text: ``InvalidInput`` (a
    name, Idempotency-Key, fingerprint or reference of the wrong shape), ``KeyExists``,
    ``NoActiveKey``, ``Busy`` (send it again)."""

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class RememberedRequest:
    """The stored request for a (caller, Idempotency-Key): *first* is True for the call that
    stored it, False for every later one (then *reference* and *fingerprint* are the first
    request's)."""

    reference: str
    fingerprint: str
    first: bool


def hash_key(key: str) -> str:
    """The stored form of an API key: SHA-256, hex (see the module's note)."""
    return hashlib.sha256(key.encode()).hexdigest()


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise AccessError(
            "NAME: give the case system's name as 2-64 characters of a-z, 0-9, '.', '_' and "
            "'-', e.g. byg-esdh.",
            kind="InvalidInput",
        )
    return name


def _check_request(caller: str, key: str, fingerprint: str, reference: str) -> None:
    check_name(caller)
    if not isinstance(key, str) or not _IDEMPOTENCY_KEY.fullmatch(key):
        raise AccessError(
            "Idempotency-Key: give 1-255 printable ASCII characters, e.g. a UUID.",
            kind="InvalidInput",
        )
    if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
        raise AccessError(
            "fingerprint: 1-128 printable ASCII characters without spaces, e.g. a SHA-256 in hex.",
            kind="InvalidInput",
        )
    _check_reference(reference)


def _check_reference(reference: str) -> None:
    if not isinstance(reference, str) or not _REFERENCE.fullmatch(reference):
        raise AccessError(
            "reference: 1-64 characters of letters, digits, '.', '_' and '-', beginning with "
            "a letter or digit.",
            kind="InvalidInput",
        )


# ------------------------------------------------------------------ API keys
async def create_api_key(sessions: async_sessionmaker, name: str) -> str:
    """A new API key for the case system *name*, returned once (only its hash is stored).
    A name with an active key is refused: revoke that key first."""
    check_name(name)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    stmt = (
        insert(ApiKey)
        .values(name=name, key_hash=hash_key(key))
        .on_conflict_do_nothing(
            index_elements=[ApiKey.name], index_where=ApiKey.revoked_at.is_(None)
        )
        .returning(ApiKey.id)
    )
    async with sessions.begin() as session:
        if (await session.execute(stmt)).first() is None:
            raise AccessError(f"a key for {name} exists; revoke it first", kind="KeyExists")
    return key


async def revoke_api_key(sessions: async_sessionmaker, name: str) -> None:
    """Revoke the active key of case system *name* (the row stays, with ``revoked_at``)."""
    check_name(name)
    async with sessions.begin() as session:
        revoked = (
            await session.execute(
                update(ApiKey)
                .where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
                .values(revoked_at=func.now())
                .returning(ApiKey.id)
            )
        ).first()
        if revoked is not None:
            return
        last = await session.scalar(select(func.max(ApiKey.revoked_at)).where(ApiKey.name == name))
    if last is None:
        raise AccessError(
            f"no API key for {name} exists; check the name (nothing was revoked).",
            kind="NoActiveKey",
        )
    raise AccessError(
        f"the API key for {name} was already revoked ({last.astimezone(UTC):%Y-%m-%d %H:%M} "
        "UTC); nothing was changed.",
        kind="NoActiveKey",
    )


async def verify_api_key(sessions: async_sessionmaker, key: str) -> str | None:
    """The name of the case system whose active key *key* is; None for anything else (an
    unknown, revoked or malformed key). Found by its hash, so no key is compared in time
    that depends on it."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        return None
    async with sessions() as session:
        return await session.scalar(
            select(ApiKey.name).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
        )


# ------------------------------------------------------------- who started a case
async def remember_request(
    sessions: async_sessionmaker, caller: str, key: str, fingerprint: str, reference: str
) -> RememberedRequest:
    """The idempotency store of ``POST /api/v1/cases``: the first call for (*caller*, *key*)
    stores the request and returns ``first=True``; every later one returns the stored
    request with ``first=False``, also when many arrive at once (insert-or-ignore, then
    read). It says nothing about who owns the case: see `record_owner`."""
    _check_request(caller, key, fingerprint, reference)
    store = (
        insert(CaseRequest)
        .values(caller=caller, idempotency_key=key, fingerprint=fingerprint, reference=reference)
        .on_conflict_do_nothing(index_elements=[CaseRequest.caller, CaseRequest.idempotency_key])
        .returning(CaseRequest.reference)
    )
    stored = select(CaseRequest.reference, CaseRequest.fingerprint).where(
        CaseRequest.caller == caller, CaseRequest.idempotency_key == key
    )
    for _ in range(ATTEMPTS):
        async with sessions.begin() as session:
            if (await session.execute(store)).first() is not None:
                return RememberedRequest(reference, fingerprint, first=True)
            # The conflicting row is committed (the insert waited for it): read it.
            row = (await session.execute(stored)).first()
            if row is not None:
                return RememberedRequest(row.reference, row.fingerprint, first=False)
        # Removed between the insert and the read (nothing here removes rows): try again.
    raise AccessError(
        "The request could not be stored (it kept changing underneath); send it again.",
        kind="Busy",
    )


async def record_owner(sessions: async_sessionmaker, caller: str, reference: str) -> None:
    """Record that *caller* started case *reference*: call it after EVERY start that
    succeeded, with or without an Idempotency-Key, and never before. Temporal starts a
    reference once, so the first record stays (insert-or-ignore); a repeat changes nothing."""
    check_name(caller)
    _check_reference(reference)
    async with sessions.begin() as session:
        await session.execute(
            insert(CaseOwner)
            .values(reference=reference, caller=caller)
            .on_conflict_do_nothing(index_elements=[CaseOwner.reference])
        )


async def owner_of(sessions: async_sessionmaker, reference: str) -> str | None:
    """The case system that started case *reference*; None if the CLI did, or no one."""
    async with sessions() as session:
        return await session.scalar(
            select(CaseOwner.caller).where(CaseOwner.reference == reference)
        )


async def references_of(sessions: async_sessionmaker, caller: str) -> list[str]:
    """The references of the cases *caller* started, oldest first (for its case list)."""
    async with sessions() as session:
        rows = await session.scalars(
            select(CaseOwner.reference)
            .where(CaseOwner.caller == caller)
            .order_by(CaseOwner.started_at, CaseOwner.reference)
        )
        return list(rows.all())

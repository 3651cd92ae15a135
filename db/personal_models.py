"""Tables of erasure by crypto-shredding (issue 10, item 3; migration 0008): each case's data
key, wrapped by the payload keyring, and the audit of erasures. Groundwork: `personal.py`
reads and writes them; no workflow, activity or door uses them yet.

Neither table holds personal data: a wrapped key is ciphertext, an erasure names the case,
the caseworker who erased it and a short reason without personal data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Identity, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from db.models import TS, Base

WRAPPED_KEY_BYTES = 12 + 32 + 16  # nonce || the 32-byte data key sealed (+ GCM tag)


class CaseDataKey(Base):
    """One case's data key: 32 random bytes sealed (AES-256-GCM) under the keyring key
    *kek_id*. Erasing empties *wrapped_key* and sets *erased_at*; the row stays, so the key
    is never made again and the case reads as erased."""

    __tablename__ = "case_data_keys"
    __table_args__ = (
        CheckConstraint(
            f"(erased_at IS NULL AND length(wrapped_key) = {WRAPPED_KEY_BYTES})"
            " OR (erased_at IS NOT NULL AND length(wrapped_key) = 0)",
            name="ck_case_data_keys_key_or_erased",
        ),
    )

    case_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    kek_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    erased_at: Mapped[datetime | None] = mapped_column(TS)


class Erasure(Base):
    """One erasure of a case's personal data: when, by whom (a caseworker id, later also
    the retention rule's own id) and why (short text, no personal data)."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(80), unique=True)  # one erasure per case
    erased_at: Mapped[datetime] = mapped_column(TS)
    erased_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))

"""SQLAlchemy models: the projection of every case, its audit trail, the letter outbox and the
caseworker directory. The workflow is the source of truth; these tables are written by
idempotent activities and read by lists, reports and people."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


TS = DateTime(timezone=True)


class Case(Base):
    __tablename__ = "cases"

    case_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    case_type: Mapped[str] = mapped_column(String(40), index=True)
    departments: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    status: Mapped[str] = mapped_column(String(40), index=True)
    company_cvr: Mapped[str] = mapped_column(String(8), index=True)
    company_name: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(TS)
    contact_deadline: Mapped[datetime] = mapped_column(TS)
    caseworker_id: Mapped[str | None] = mapped_column(String(16))
    contacted_at: Mapped[datetime | None] = mapped_column(TS)
    contact_breached: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(TS)
    # issue 4: the case's life (migration 0002)
    sustainability_level: Mapped[int | None] = mapped_column(Integer)
    missing_material: Mapped[list[str]] = mapped_column(ARRAY(String(80)), default=list)
    complete_at: Mapped[datetime | None] = mapped_column(TS)
    agreed_date: Mapped[date | None] = mapped_column(Date)
    clock: Mapped[list] = mapped_column(JSONB, default=list)
    pre_dialogues: Mapped[list] = mapped_column(JSONB, default=list)
    nbe_offer_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    nbe_accepted: Mapped[bool | None] = mapped_column(Boolean)
    reviews: Mapped[list] = mapped_column(JSONB, default=list)
    late_reviews: Mapped[int] = mapped_column(Integer, default=0)
    decided_at: Mapped[datetime | None] = mapped_column(TS)
    decided_on_time: Mapped[bool | None] = mapped_column(Boolean)
    closing_reason: Mapped[str | None] = mapped_column(String(40), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(TS)
    gross_working_days: Mapped[int | None] = mapped_column(Integer)
    net_processing_days: Mapped[float | None] = mapped_column(Float)
    waiting_days: Mapped[float | None] = mapped_column(Float)
    survey_sent: Mapped[bool] = mapped_column(Boolean, default=False)


class CaseEvent(Base):
    __tablename__ = "case_events"

    case_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60), index=True)
    at: Mapped[datetime] = mapped_column(TS)
    data: Mapped[dict] = mapped_column(JSONB)
    recorded_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class OutboxLetter(Base):
    __tablename__ = "outbox"

    case_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    letter_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipients: Mapped[list[str]] = mapped_column(ARRAY(Text))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(TS)
    send_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # booking (issue 8, migration 0005): a calendar invitation (.ics text) sent with the letter
    calendar: Mapped[str | None] = mapped_column(Text)


class CaseworkerRow(Base):
    __tablename__ = "caseworkers"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str] = mapped_column(String(20))
    departments: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    # booking (issue 8, migration 0005): weekly hours offered for pre-dialogues
    offered_hours: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")


# issue 8: the access seam (access.py, migration 0003)
class ApiKey(Base):
    """A case system's API key, stored only as the SHA-256 of the key. Revoking keeps the row
    (``revoked_at``); a name has at most one active key (a partial unique index)."""

    __tablename__ = "api_keys"
    __table_args__ = (
        Index(
            "uq_api_keys_active_name",
            "name",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(TS)


class CaseRequest(Base):
    """The idempotency store of ``POST /api/v1/cases``: the first request a case system sent
    with an ``Idempotency-Key`` (a fingerprint of its body and the case's reference), so a
    repeat is answered as the first was and another body under the same key is refused."""

    __tablename__ = "case_requests"

    caller: Mapped[str] = mapped_column(String(64), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(128))
    reference: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class CaseOwner(Base):
    """Who started each case: the one source for "a case system reads only the cases it
    started". Written only after a start succeeded; a case started by the CLI has no row."""

    __tablename__ = "case_owners"

    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    caller: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())

"""The pre-dialogue bookings (issue 8, migration 0005).

One row per booking. The partial unique index on (caseworker_id, starts_at) over the active
bookings (``cancelled_at IS NULL``) is the one-winner claim: of two companies picking the same
slot at the same moment, one insert wins and the other meets the index. ``request_id`` makes a
repeated form post find the first booking instead of making a second."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models import TS, Base

ACTIVE_SLOT_INDEX = "uq_pre_dialogue_bookings_active_slot"


class PreDialogueBooking(Base):
    __tablename__ = "pre_dialogue_bookings"
    __table_args__ = (
        Index(
            ACTIVE_SLOT_INDEX,
            "caseworker_id",
            "starts_at",
            unique=True,
            postgresql_where=text("cancelled_at IS NULL"),
        ),
    )

    booking_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(80), unique=True)
    caseworker_id: Mapped[str] = mapped_column(String(16), index=True)
    caseworker_name: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(TS)
    ends_at: Mapped[datetime] = mapped_column(TS)
    place: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(String(40))
    departments: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    company_cvr: Mapped[str] = mapped_column(String(8), index=True)
    company_name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320))
    contact_phone: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    case_reference: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    cancelled_at: Mapped[datetime | None] = mapped_column(TS)
    held_at: Mapped[datetime | None] = mapped_column(TS)

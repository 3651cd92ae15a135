"""The pre-dialogue booking's contract (issue 8, commitment 3): a company books a meeting with a
caseworker before any application exists.

The booking id (``FD-`` and 8 random characters) is the booking number the company sees and
part of the workflow id ``pre-dialogue-<booking id>``: random, so no personal data reaches an
id. The company's name and contact live in the workflow's input and state and in Postgres,
never in ids, search attributes or logs.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from schemas.case import Caseworker
from schemas.fields import Name, Note, Place, Reference
from schemas.intake import Cvr, Departments, Email, Phone
from schemas.life import PreDialogueTopic

STRICT = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True)

BOOKING_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
BOOKING_ID_PATTERN = r"^FD-[0-9A-HJKMNP-TV-Z]{8}$"
_BOOKING_ID = re.compile(BOOKING_ID_PATTERN)


def check_booking_id(value: str) -> str:
    value = value.strip().upper()
    if not _BOOKING_ID.fullmatch(value):
        raise ValueError("a booking number is FD- and 8 letters or digits, e.g. FD-7K2M9Q4X")
    return value


BookingId = Annotated[
    str,
    AfterValidator(check_booking_id),
    Field(description="a pre-dialogue booking number, e.g. FD-7K2M9Q4X"),
]


def booking_workflow_id(booking_id: str) -> str:
    return f"pre-dialogue-{booking_id}"


class BookingRequest(BaseModel):
    """What the company tells when it books (the public form, or an API client)."""

    model_config = STRICT

    cvr: Cvr
    company_name: Name
    contact_name: Name
    email: Email
    phone: Phone
    topic: PreDialogueTopic = PreDialogueTopic.general
    departments: Departments
    note: Note = ""


class Slot(BaseModel):
    """One offered meeting time with one caseworker."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    caseworker_id: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class BookingStatus(StrEnum):
    booked = "booked"
    held = "held"
    cancelled = "cancelled"
    lapsed = "lapsed"  # the meeting passed long ago and nobody recorded it held


Actor = Literal["company", "caseworker"]


class BookingStart(BaseModel):
    """The pre-dialogue workflow's input."""

    model_config = STRICT

    booking_id: BookingId
    request: BookingRequest
    caseworker: Caseworker
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    place: Place
    municipality_name: str
    closing_days: list[date] = Field(default_factory=list)


class MoveBooking(BaseModel):
    """Move the meeting to another offered slot (the slot is claimed by the seam first)."""

    model_config = STRICT

    caseworker: Caseworker
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    by: Actor


class CancelBooking(BaseModel):
    model_config = STRICT

    by: Actor
    reason: Note = ""


class BookingHeld(BaseModel):
    model_config = STRICT

    note: Note = ""


class LinkCase(BaseModel):
    """A case started naming this booking (its intake's ``pre_dialogue_booking``)."""

    model_config = STRICT

    reference: Reference


class BookingState(BaseModel):
    """Everything the pre-dialogue workflow knows (the `state` query)."""

    model_config = STRICT

    booking_id: str
    request: BookingRequest
    caseworker: Caseworker
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    place: str
    municipality_name: str
    status: BookingStatus = BookingStatus.booked
    sequence: int = 0  # the calendar invitation's SEQUENCE: bumped on every move
    changed_at: AwareDatetime
    reminded_sequence: int = -1
    cancelled_by: Actor | None = None
    cancel_reason: str = ""
    moved_by: Actor | None = None
    case_reference: str | None = None
    letters_sent: list[str] = Field(default_factory=list)


class BookingLetterKind(StrEnum):
    confirmed = "confirmed"
    moved = "moved"
    reminder = "reminder"
    cancelled = "cancelled"


class BookingLetter(BaseModel):
    """One letter of a booking, to one side (the company or the caseworker)."""

    model_config = STRICT

    letter_key: str
    kind: BookingLetterKind
    to: Literal["company", "caseworker"]
    state: BookingState


class BookingView(BaseModel):
    """A booking as the doors show it (from Postgres)."""

    model_config = STRICT

    booking_id: str
    status: BookingStatus
    topic: PreDialogueTopic
    departments: list[str]
    company_name: str
    cvr: str
    contact_name: str
    contact_email: EmailStr
    caseworker_id: str
    caseworker_name: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    place: str
    sequence: int
    case_reference: str | None = None


class CaseBookingLink(BaseModel):
    """A case starts naming a booking: the activity links them and returns the meeting."""

    model_config = STRICT

    booking_id: BookingId
    reference: Reference


class LinkedBooking(BaseModel):
    """What a case keeps on record of the pre-dialogue its intake named."""

    model_config = STRICT

    booking_id: str
    topic: PreDialogueTopic
    starts_at: AwareDatetime
    place: str
    held: bool
    open: bool  # still booked: the booking workflow is told of the case

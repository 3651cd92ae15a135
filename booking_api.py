"""The Python interface for pre-dialogue bookings before any application (commitment 3).

Like `case_api.py`, the seam both doors use (the web's booking pages and staff API, the CLI):
no door reads the database behind it. Every action takes a request id: a repeated form post
or a retried API call acts once.

The slot is claimed in Postgres first (the partial unique index on the active bookings'
(caseworker, start) lets one of two simultaneous claims win); then the pre-dialogue workflow
(`workflows/pre_dialogue.py`) is started or updated, and sends the letters with their
calendar invitations. Offered times: `domain/slots.py` over the caseworker directory, minus
the active bookings and the meetings booked inside open cases (one hour each).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

import case_api
from activities.booking import (
    UnknownBooking,
    active_booking,
    booking_of_token,
    booking_token,
    manage_url,
)
from db.booking_models import PreDialogueBooking
from db.models import Case, CaseworkerRow
from domain import slots as slot_rules
from schemas.booking import (
    BOOKING_ID_ALPHABET,
    BookingHeld,
    BookingRequest,
    BookingStart,
    BookingState,
    BookingStatus,
    BookingView,
    CancelBooking,
    MoveBooking,
    Slot,
    booking_workflow_id,
    check_booking_id,
)
from schemas.case import Caseworker
from schemas.intake import CaseIntake, Department
from schemas.life import PreDialogueTopic
from settings import Settings
from workflows.pre_dialogue import PreDialogueWorkflow

__all__ = [
    "BookingError",
    "book",
    "booking_of_token",
    "booking_token",
    "cancel",
    "check_intake_booking",
    "get_booking",
    "manage_url",
    "move",
    "offered_slots",
    "record_held",
]

CASE_MEETING_LENGTH = timedelta(hours=1)


class BookingError(Exception):
    """A booking action refused; *kind* names why (SlotTaken, NotOffered, UnknownBooking,
    BookingClosed, InvalidTime, SameTime, MeetingBegun, NotYetHeld, Unavailable)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def new_booking_id() -> str:
    return "FD-" + "".join(secrets.choice(BOOKING_ID_ALPHABET) for _ in range(8))


def place_of(settings: Settings) -> str:
    return f"Erhvervsservice, {settings.municipality_name}"


def _person(row: CaseworkerRow) -> Caseworker:
    return Caseworker.model_validate(
        {f: getattr(row, f) for f in Caseworker.model_fields}, strict=False
    )


async def directory(sessions: async_sessionmaker) -> list[Caseworker]:
    async with sessions() as session:
        rows = (await session.scalars(select(CaseworkerRow).where(CaseworkerRow.active))).all()
    return [_person(r) for r in rows]


async def busy_times(
    sessions: async_sessionmaker, since: datetime
) -> list[tuple[str, datetime, datetime]]:
    """(caseworker, start, end) of the meetings caseworkers already have: active bookings and
    the pre-dialogues booked inside open cases (from the projection; one hour each)."""
    out: list[tuple[str, datetime, datetime]] = []
    async with sessions() as session:
        bookings = await session.execute(
            select(
                PreDialogueBooking.caseworker_id,
                PreDialogueBooking.starts_at,
                PreDialogueBooking.ends_at,
            ).where(PreDialogueBooking.cancelled_at.is_(None), PreDialogueBooking.ends_at > since)
        )
        out.extend((c, s, e) for c, s, e in bookings.all())
        cases = await session.execute(
            select(Case.caseworker_id, Case.pre_dialogues).where(
                Case.closing_reason.is_(None), Case.caseworker_id.is_not(None)
            )
        )
        for caseworker_id, meetings in cases.all():
            for meeting in meetings or []:
                if not meeting.get("at") or meeting.get("cancelled") or meeting.get("held"):
                    continue
                try:
                    at = datetime.fromisoformat(meeting["at"])
                except (TypeError, ValueError):
                    continue
                if at + CASE_MEETING_LENGTH > since:
                    out.append((caseworker_id, at, at + CASE_MEETING_LENGTH))
    return out


async def offered_slots(
    sessions: async_sessionmaker,
    departments: Iterable[Department],
    closing_days: Iterable[date] = (),
    now: datetime | None = None,
) -> list[Slot]:
    """The times a company may book now for *departments*."""
    now = now or datetime.now(UTC)
    return slot_rules.offered_slots(
        await directory(sessions),
        list(departments),
        now,
        busy=await busy_times(sessions, now),
        closing_days=closing_days,
    )


def _view(row: PreDialogueBooking) -> BookingView:
    status = (
        BookingStatus.cancelled
        if row.cancelled_at
        else BookingStatus.held
        if row.held_at
        else BookingStatus.booked
    )
    return BookingView(
        booking_id=row.booking_id,
        status=status,
        topic=PreDialogueTopic(row.topic),
        departments=list(row.departments),
        company_name=row.company_name,
        cvr=row.company_cvr,
        contact_name=row.contact_name,
        contact_email=row.contact_email,
        caseworker_id=row.caseworker_id,
        caseworker_name=row.caseworker_name,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        place=row.place,
        sequence=row.sequence,
        case_reference=row.case_reference,
    )


async def get_booking(sessions: async_sessionmaker, booking_id: str) -> BookingView | None:
    try:
        booking_id = check_booking_id(booking_id)
    except ValueError:
        return None
    async with sessions() as session:
        row = await session.get(PreDialogueBooking, booking_id)
    return _view(row) if row is not None else None


async def _row_by_request(sessions: async_sessionmaker, request_id: str):
    async with sessions() as session:
        return await session.scalar(
            select(PreDialogueBooking).where(PreDialogueBooking.request_id == request_id)
        )


def _handle(client: Client, booking_id: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(PreDialogueWorkflow.run, booking_workflow_id(booking_id))


async def _start(client: Client, settings: Settings, row: PreDialogueBooking, person) -> None:
    request = BookingRequest.model_validate(
        {
            "cvr": row.company_cvr,
            "company_name": row.company_name,
            "contact_name": row.contact_name,
            "email": row.contact_email,
            "phone": row.contact_phone,
            "topic": row.topic,
            "departments": list(row.departments),
            "note": row.note,
        },
        strict=False,
    )
    start = BookingStart(
        booking_id=row.booking_id,
        request=request,
        caseworker=person,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        place=row.place,
        municipality_name=settings.municipality_name,
        closing_days=list(settings.closing_days),
    )
    try:
        await client.start_workflow(
            PreDialogueWorkflow.run,
            start,
            id=booking_workflow_id(row.booking_id),
            task_queue=settings.temporal_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary="pre-dialogue · " + ", ".join(row.departments),
        )
    except WorkflowAlreadyStartedError:
        pass  # a retry of the same request: the workflow runs already


def _chosen(slot: Slot, offered: list[Slot]) -> Slot:
    for s in offered:
        if s.caseworker_id == slot.caseworker_id and s.starts_at == slot.starts_at:
            return s
    raise BookingError("That time is no longer offered; choose another.", kind="NotOffered")


async def book(
    client: Client,
    sessions: async_sessionmaker,
    settings: Settings,
    request: BookingRequest,
    slot: Slot,
    request_id: str,
    now: datetime | None = None,
) -> BookingView:
    """Book *slot* for the company; a repeat of *request_id* returns the first booking."""
    first = await _row_by_request(sessions, request_id)
    if first is None:
        offered = await offered_slots(sessions, request.departments, settings.closing_days, now)
        chosen = _chosen(slot, offered)
        people = {p.id: p for p in await directory(sessions)}
        person = people[chosen.caseworker_id]
        row = PreDialogueBooking(
            booking_id=new_booking_id(),
            request_id=request_id,
            caseworker_id=person.id,
            caseworker_name=person.name,
            starts_at=chosen.starts_at,
            ends_at=chosen.ends_at,
            place=place_of(settings),
            topic=request.topic.value,
            departments=[d.value for d in request.departments],
            company_cvr=request.cvr,
            company_name=request.company_name,
            contact_name=request.contact_name,
            contact_email=str(request.email),
            contact_phone=request.phone,
            note=request.note,
            sequence=0,
        )
        try:
            async with sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            first = await _row_by_request(sessions, request_id)
            if first is None:
                raise BookingError(
                    "Another company booked that time a moment ago; choose another.",
                    kind="SlotTaken",
                ) from None
        else:
            first = row
    person = next((p for p in await directory(sessions) if p.id == first.caseworker_id), None)
    if person is None:
        raise BookingError("The caseworker is no longer in the directory.", kind="NotOffered")
    try:
        await _start(client, settings, first, person)
    except Exception:
        if first.request_id == request_id and first.sequence == 0:
            async with sessions.begin() as session:  # free the slot: the booking never began
                await session.execute(
                    update(PreDialogueBooking)
                    .where(PreDialogueBooking.booking_id == first.booking_id)
                    .values(cancelled_at=datetime.now(UTC))
                )
        raise
    return _view(first)


async def _active(sessions: async_sessionmaker, booking_id: str) -> PreDialogueBooking:
    try:
        return await active_booking(sessions, check_booking_id(booking_id))
    except (UnknownBooking, ValueError):
        raise BookingError(
            f"There is no active pre-dialogue booking {booking_id}.", kind="UnknownBooking"
        ) from None


async def _update(client: Client, booking_id: str, update_fn, arg, what: str, request_id: str):
    try:
        return await case_api._update(_handle(client, booking_id), update_fn, arg, what, request_id)
    except case_api.CaseError as err:
        raise BookingError(str(err), kind=err.kind or "BookingClosed") from None


async def move(
    client: Client,
    sessions: async_sessionmaker,
    settings: Settings,
    booking_id: str,
    slot: Slot,
    by: str,
    request_id: str,
    now: datetime | None = None,
) -> BookingView:
    """Move the meeting to another offered slot (any caseworker of its departments)."""
    row = await _active(sessions, booking_id)
    if row.held_at is not None:
        raise BookingError("The meeting is recorded as held.", kind="BookingClosed")
    people = {p.id: p for p in await directory(sessions)}
    already = row.caseworker_id == slot.caseworker_id and row.starts_at == slot.starts_at
    chosen = slot
    if not already:
        departments = [Department(d) for d in row.departments]
        chosen = _chosen(
            slot, await offered_slots(sessions, departments, settings.closing_days, now)
        )
    person = people.get(chosen.caseworker_id)
    if person is None:
        raise BookingError("That caseworker is not in the directory.", kind="NotOffered")
    change = MoveBooking(
        caseworker=person, starts_at=chosen.starts_at, ends_at=chosen.ends_at, by=by
    )
    try:
        async with sessions.begin() as session:
            await session.execute(
                update(PreDialogueBooking)
                .where(
                    PreDialogueBooking.booking_id == row.booking_id,
                    PreDialogueBooking.cancelled_at.is_(None),
                )
                .values(
                    caseworker_id=person.id,
                    caseworker_name=person.name,
                    starts_at=chosen.starts_at,
                    ends_at=chosen.ends_at,
                    updated_at=datetime.now(UTC),
                )
            )
            await session.flush()
            state: BookingState = await _update(
                client, row.booking_id, PreDialogueWorkflow.move, change, "Move", request_id
            )
            await session.execute(
                update(PreDialogueBooking)
                .where(PreDialogueBooking.booking_id == row.booking_id)
                .values(sequence=state.sequence)
            )
    except IntegrityError:
        raise BookingError(
            "Another company booked that time a moment ago; choose another.", kind="SlotTaken"
        ) from None
    return await _must(sessions, row.booking_id)


async def _must(sessions: async_sessionmaker, booking_id: str) -> BookingView:
    view = await get_booking(sessions, booking_id)
    assert view is not None
    return view


async def cancel(
    client: Client,
    sessions: async_sessionmaker,
    booking_id: str,
    by: str,
    request_id: str,
    reason: str = "",
) -> BookingView:
    """Cancel the meeting (frees the slot at once); cancelling a cancelled one changes nothing."""
    try:
        booking_id = check_booking_id(booking_id)
        change = CancelBooking(by=by, reason=reason)
    except (ValueError, ValidationError):
        raise BookingError(
            "Give a booking number and, if any, a short reason.", "InvalidInput"
        ) from None
    view = await get_booking(sessions, booking_id)
    if view is None:
        raise BookingError(f"There is no pre-dialogue booking {booking_id}.", "UnknownBooking")
    if view.status == BookingStatus.cancelled:
        return view
    async with sessions.begin() as session:
        await session.execute(
            update(PreDialogueBooking)
            .where(
                PreDialogueBooking.booking_id == booking_id,
                PreDialogueBooking.cancelled_at.is_(None),
            )
            .values(cancelled_at=datetime.now(UTC), updated_at=datetime.now(UTC))
        )
        await _update(client, booking_id, PreDialogueWorkflow.cancel, change, "Cancel", request_id)
    return await _must(sessions, booking_id)


async def record_held(
    client: Client, sessions: async_sessionmaker, booking_id: str, request_id: str, note: str = ""
) -> BookingView:
    """The caseworker records that the meeting took place."""
    row = await _active(sessions, booking_id)
    if row.held_at is not None:
        return _view(row)
    await _update(
        client,
        row.booking_id,
        PreDialogueWorkflow.record_held,
        BookingHeld(note=note),
        "Held",
        request_id,
    )
    async with sessions.begin() as session:
        await session.execute(
            update(PreDialogueBooking)
            .where(
                PreDialogueBooking.booking_id == row.booking_id,
                PreDialogueBooking.held_at.is_(None),
            )
            .values(held_at=datetime.now(UTC), updated_at=datetime.now(UTC))
        )
    return await _must(sessions, row.booking_id)


async def booking_state(client: Client, booking_id: str) -> BookingState:
    """The workflow's live state (for staff and tests)."""
    return await _handle(client, check_booking_id(booking_id)).query(PreDialogueWorkflow.get_state)


async def check_intake_booking(sessions: async_sessionmaker, intake: CaseIntake) -> None:
    """An intake naming a booking must name an active one; else a CaseError (InvalidInput)
    and nothing is started. Call before `case_api.start_case`."""
    booking_id = getattr(intake, "pre_dialogue_booking", None)
    if not booking_id:
        return
    try:
        await active_booking(sessions, booking_id)
    except UnknownBooking:
        reason = "names no active pre-dialogue booking (unknown or cancelled)"
        raise case_api.CaseError(
            f"The case was not started; the intake has errors:\npre_dialogue_booking: {reason}",
            kind="InvalidInput",
            errors=[{"field": "pre_dialogue_booking", "reason": reason}],
        ) from None


def new_request_id() -> str:
    return case_api.new_request_id()

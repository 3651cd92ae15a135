"""The pre-dialogue booked before any application, on the time-skipping server with the real
activities: Postgres (migrated, seeded) and the SMTP sink of the e2e stack, letters parsed
back with their calendar invitations (icalendar).

Pinned instants: the week before Christmas of next year (the reminder of a meeting after
Christmas goes out on the working day before it, not on a holiday)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
import pytest_asyncio
from icalendar import Calendar

import booking_api
from domain import calendar
from domain.deadlines import pre_dialogue_reminder_at
from schemas.booking import BookingRequest, BookingStatus
from schemas.intake import Department
from stack.smtp_sink import read_mails
from tests.conftest import (
    START_INSTANTS,
    sleep_until,
    time_skipping_product,
)
from tests.test_e2e import stack  # noqa: F401 - Postgres and the SMTP sink
from workflows.pre_dialogue import PreDialogueWorkflow

pytestmark = pytest.mark.e2e
PINNED = START_INSTANTS["christmas"]  # 17 December next year, 10:00 Copenhagen


@pytest_asyncio.fixture
async def booking_env(stack):  # noqa: F811
    async with time_skipping_product(stack, "booking") as (env, settings, sessions):
        await sleep_until(env, PINNED)
        yield env, settings, sessions


def request_for(email: str, departments=("building",)) -> BookingRequest:
    return BookingRequest.model_validate(
        {
            "cvr": "29189420",
            "company_name": "Nordjysk Stål ApS",
            "contact_name": "Søren Ærø Østergård",
            "email": email,
            "phone": "98123456",
            "departments": list(departments),
            "note": "Vi overvejer en ny lagerhal.",
        },
        strict=False,
    )


async def letters_to(mail_dir, address: str, count: int, timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        mails = sorted(
            (m for m in read_mails(mail_dir) if address in m.to), key=lambda m: m.received_at
        )
        if len(mails) >= count or asyncio.get_running_loop().time() > deadline:
            return mails
        await asyncio.sleep(0.1)


def invitation(mail) -> Calendar:
    parts = [p for p in mail.message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, mail.subject
    assert parts[0].get_filename() == "invitation.ics"
    return Calendar.from_ical(parts[0].get_payload(decode=True))


def event_of(cal: Calendar):
    return next(iter(cal.walk("VEVENT")))


async def test_book_confirm_move_remind_hold(stack, booking_env):  # noqa: F811
    env, settings, sessions = booking_env
    now = await env.get_current_time()
    email = f"fd-{uuid.uuid4().hex[:8]}@nordjysk-staal.dk"
    offered = await booking_api.offered_slots(
        sessions, [Department.building], settings.closing_days, now
    )
    after_christmas = calendar.add_working_days(PINNED.date().replace(day=24), 1)
    slot = next(s for s in offered if calendar.local_date(s.starts_at) >= after_christmas)
    booked = await booking_api.book(
        env.client, sessions, settings, request_for(email), slot, "req-book-1", now=now
    )
    again = await booking_api.book(
        env.client, sessions, settings, request_for(email), slot, "req-book-1", now=now
    )
    assert again.booking_id == booked.booking_id and booked.status == BookingStatus.booked
    assert booked.booking_id.startswith("FD-")

    confirmed = await letters_to(stack.mail_dir, email, 1)
    mail = confirmed[-1]
    assert mail.subject.startswith("Bekræftelse af forhåndsdialog")
    assert "Kære Søren Ærø Østergård" in mail.body and booked.booking_id in mail.body
    assert f"/forhaandsdialog/{booked.booking_id}?t=" in mail.body
    cal = invitation(mail)
    event = event_of(cal)
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"{booked.booking_id}@{settings.message_id_domain}"
    assert int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == slot.starts_at and event.decoded("DTEND") == slot.ends_at
    assert "mailto:erhvervsservice@kommune.example" in str(event["ORGANIZER"])
    staff = [
        m
        for m in await letters_to(stack.mail_dir, f"{booked.caseworker_id}@kommune.example", 1)
        if booked.booking_id in m.subject
    ]
    caseworker_mail = staff[-1]
    assert "Nordjysk Stål ApS" in caseworker_mail.body and email in caseworker_mail.body

    # Not offered any more while booked.
    fresh = await booking_api.offered_slots(
        sessions, [Department.building], settings.closing_days, now
    )
    assert slot not in fresh
    # Move to a later time: same UID, SEQUENCE + 1.
    later = next(s for s in fresh if s.starts_at > slot.starts_at + timedelta(hours=20))
    moved = await booking_api.move(
        env.client, sessions, settings, booked.booking_id, later, "company", "req-move-1", now=now
    )
    assert moved.starts_at == later.starts_at and moved.sequence == 1
    move_mail = (await letters_to(stack.mail_dir, email, 2))[-1]
    assert "flyttet" in move_mail.subject
    event = event_of(invitation(move_mail))
    assert int(event["SEQUENCE"]) == 1
    assert str(event["UID"]) == f"{booked.booking_id}@{settings.message_id_domain}"
    assert event.decoded("DTSTART") == later.starts_at

    # The reminder: 09:00 on the working day before the meeting, not before.
    reminder_at = pre_dialogue_reminder_at(later.starts_at, settings.closing_days)
    assert calendar.is_working_day(calendar.local_date(reminder_at))
    await sleep_until(env, reminder_at - timedelta(minutes=5))
    await asyncio.sleep(1)
    assert len(await letters_to(stack.mail_dir, email, 3, timeout=1)) == 2
    await sleep_until(env, reminder_at + timedelta(minutes=5))
    reminder = (await letters_to(stack.mail_dir, email, 3))[-1]
    assert reminder.subject.startswith("Påmindelse: forhåndsdialog")

    # Held: refused before the meeting, recorded after it began; the workflow ends.
    with pytest.raises(booking_api.BookingError) as early:
        await booking_api.record_held(env.client, sessions, booked.booking_id, "req-held-0")
    assert early.value.kind == "NotYetHeld"
    await sleep_until(env, later.starts_at + timedelta(minutes=10))
    held = await booking_api.record_held(env.client, sessions, booked.booking_id, "req-held-1")
    assert held.status == BookingStatus.held
    result = await env.client.get_workflow_handle_for(
        PreDialogueWorkflow.run, f"pre-dialogue-{booked.booking_id}"
    ).result()
    assert result.status == BookingStatus.held and result.sequence == 1
    assert {
        "confirmed-0-company",
        "confirmed-0-caseworker",
        "moved-1-company",
        "moved-1-caseworker",
        "reminder-1-company",
        "reminder-1-caseworker",
    } <= set(result.letters_sent)


async def test_cancel_sends_method_cancel_and_frees_the_slot(stack, booking_env):  # noqa: F811
    env, settings, sessions = booking_env
    now = await env.get_current_time()
    email = f"fd-{uuid.uuid4().hex[:8]}@firma.dk"
    offered = await booking_api.offered_slots(sessions, [Department.fire], (), now)
    slot = offered[0]
    booked = await booking_api.book(
        env.client, sessions, settings, request_for(email, ["fire"]), slot, "c-1", now=now
    )
    await letters_to(stack.mail_dir, email, 1)
    cancelled = await booking_api.cancel(
        env.client,
        sessions,
        booked.booking_id,
        "company",
        "c-2",
        reason="Vi har udskudt projektet.",
    )
    assert cancelled.status == BookingStatus.cancelled
    mail = (await letters_to(stack.mail_dir, email, 2))[-1]
    assert mail.subject.startswith("Aflyst:") and "Som I har ønsket" in mail.body
    cal = invitation(mail)
    event = event_of(cal)
    assert str(cal["METHOD"]) == "CANCEL" and int(event["SEQUENCE"]) == 1
    assert str(event["STATUS"]) == "CANCELLED"
    again = await booking_api.offered_slots(sessions, [Department.fire], (), now)
    assert slot in again
    with pytest.raises(booking_api.BookingError) as closed:
        await booking_api.move(
            env.client, sessions, settings, booked.booking_id, again[1], "company", "c-3", now=now
        )
    assert closed.value.kind == "UnknownBooking"

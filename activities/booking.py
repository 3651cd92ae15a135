"""The pre-dialogue booking's activities: its letters (each with a calendar invitation) sent
exactly once in effect, its Postgres row kept up to date, and a case's link to a booking.

Letters follow the outbox pattern of `activities/letters.py`: the row keyed by (booking id,
letter key) is written first with the rendered text *and* the .ics text, then sent under the
row's lock unless already sent; a retry sends the stored bytes again, never new ones. The
Message-ID is deterministic (``<booking id.letter key@domain>``).

The company's letters carry a signed link to its booking page (``/forhaandsdialog/<id>?t=``;
itsdangerous, the web secret, salt "booking"). The token rides in the query string, which the
access log leaves out. It is made here, in the activity, so it never enters workflow history.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path

from icalendar import Calendar, Event, vCalAddress, vText
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import refused_data_is_permanent
from db.booking_models import PreDialogueBooking
from db.models import OutboxLetter
from domain.texts import TOPIC_NAMES, danish_datetime, department_list
from mail.channel import Attachment, LetterChannel, OutgoingLetter, RecipientRefused
from schemas.booking import (
    BookingLetter,
    BookingLetterKind,
    BookingState,
    BookingStatus,
    CaseBookingLink,
    LinkedBooking,
)
from schemas.intake import Department
from schemas.life import PreDialogueTopic
from settings import Settings

TEMPLATES = Path(__file__).resolve().parent.parent / "mail" / "templates"
SALT = "booking"
ICS_NAME = "invitation.ics"


# ------------------------------------------------------------------------ signed links
def booking_token(secret: str, booking_id: str) -> str:
    """The company's capability for its booking page (stable per booking)."""
    return URLSafeSerializer(secret, salt=SALT).dumps(booking_id)


def booking_of_token(secret: str, token: str) -> str | None:
    """The booking id a token was signed for, or None for anything else."""
    try:
        value = URLSafeSerializer(secret, salt=SALT).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def manage_url(settings: Settings, booking_id: str) -> str:
    token = booking_token(settings.web_secret.get_secret_value(), booking_id)
    return f"{settings.public_base_url.rstrip('/')}/forhaandsdialog/{booking_id}?t={token}"


# ---------------------------------------------------------------------------- the .ics
def calendar_of(state: BookingState, organizer: str, domain: str, cancel: bool) -> str:
    """The invitation: METHOD:REQUEST (or CANCEL), a UID stable per booking, SEQUENCE bumped on
    every move, times in UTC, the municipality as organizer, both sides as attendees."""
    cal = Calendar()
    cal.add("prodid", "-//Erhvervsservice – Én indgang//Forhåndsdialog//DA")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancel else "REQUEST")
    event = Event()
    event.add("uid", f"{state.booking_id}@{domain}")
    event.add("sequence", state.sequence)
    event.add("dtstamp", state.changed_at.astimezone(UTC))
    event.add("dtstart", state.starts_at.astimezone(UTC))
    event.add("dtend", state.ends_at.astimezone(UTC))
    topic = TOPIC_NAMES[state.request.topic]
    event.add("summary", f"{topic[:1].upper()}{topic[1:]} – {state.municipality_name}")
    event.add("location", state.place)
    event.add(
        "description",
        f"Booking-nummer {state.booking_id}. {state.request.company_name} "
        f"(CVR {state.request.cvr}) og {state.caseworker.name}, {state.municipality_name}.",
    )
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    name, address = parseaddr(organizer)
    boss = vCalAddress(f"mailto:{address}")
    boss.params["cn"] = vText(name or state.municipality_name)
    event.add("organizer", boss)
    for who, email in (
        (state.request.contact_name, state.request.email),
        (state.caseworker.name, state.caseworker.email),
    ):
        attendee = vCalAddress(f"mailto:{email}")
        attendee.params["cn"] = vText(who)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=0)
    cal.add_component(event)
    return cal.to_ical().decode()


# ------------------------------------------------------------------------ the letters
def _clock(value: datetime) -> str:
    from domain.calendar import COPENHAGEN

    return f"{value.astimezone(COPENHAGEN):%H.%M}"


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # plain-text letters
    )
    env.filters["danish_datetime"] = danish_datetime
    env.filters["clock"] = _clock
    env.filters["topic"] = lambda t: TOPIC_NAMES[PreDialogueTopic(t)]
    env.filters["departments"] = lambda ds: department_list([Department(d) for d in ds])
    return env


def render_booking_letter(letter: BookingLetter, settings: Settings) -> tuple[str, str]:
    """(subject, body) of one booking letter, in Danish."""
    text = (
        _env()
        .get_template(f"booking_{letter.kind.value}.txt.j2")
        .render(
            s=letter.state,
            to=letter.to,
            manage_url=manage_url(settings, letter.state.booking_id),
            book_url=f"{settings.public_base_url.rstrip('/')}/forhaandsdialog",
        )
    )
    first, _, rest = text.partition("\n")
    subject = first.removeprefix("Emne: ").strip()
    body = "\n".join(line.rstrip() for line in rest.strip().splitlines())
    while "\n\n\n" in body:
        body = body.replace("\n\n\n", "\n\n")
    return subject, body + "\n"


def recipient_of(letter: BookingLetter) -> str:
    s = letter.state
    return str(s.request.email if letter.to == "company" else s.caseworker.email)


class UnknownBooking(Exception):
    """No active booking with that number (never booked, or cancelled)."""


async def active_booking(sessions: async_sessionmaker, booking_id: str) -> PreDialogueBooking:
    """The booking, if it exists and is not cancelled; else `UnknownBooking`."""
    async with sessions() as session:
        row = await session.get(PreDialogueBooking, booking_id)
    if row is None or row.cancelled_at is not None:
        raise UnknownBooking(booking_id)
    return row


class BookingActivities:
    def __init__(self, sessions: async_sessionmaker, channel: LetterChannel, settings: Settings):
        self.sessions = sessions
        self.channel = channel
        self.settings = settings

    @activity.defn(name="send_booking_letter")
    async def send_booking_letter(self, letter: BookingLetter) -> str:
        """Send one booking letter once; returns its Message-ID."""
        booking_id = letter.state.booking_id
        try:
            subject, body = render_booking_letter(letter, self.settings)
        except (ValueError, KeyError, TypeError) as err:
            raise ApplicationError(
                f"booking letter {letter.letter_key} cannot be rendered ({type(err).__name__}).",
                type="LetterNotRenderable",
                non_retryable=True,
            ) from None
        ics = calendar_of(
            letter.state,
            self.settings.mail_from,
            self.settings.message_id_domain,
            cancel=letter.kind == BookingLetterKind.cancelled,
        )
        message_id = f"<{booking_id}.{letter.letter_key}@{self.settings.message_id_domain}>"
        with refused_data_is_permanent(f"booking letter {letter.letter_key}"):
            async with self.sessions.begin() as session:
                await session.execute(
                    insert(OutboxLetter)
                    .values(
                        case_id=booking_id,
                        letter_key=letter.letter_key,
                        kind=f"booking_{letter.kind.value}",
                        recipients=[recipient_of(letter)],
                        subject=subject,
                        body=body,
                        message_id=message_id,
                        send_attempts=0,
                        calendar=ics,
                    )
                    .on_conflict_do_nothing(
                        index_elements=[OutboxLetter.case_id, OutboxLetter.letter_key]
                    )
                )
        key = (OutboxLetter.case_id == booking_id) & (OutboxLetter.letter_key == letter.letter_key)
        async with self.sessions.begin() as session:
            row = (await session.scalars(select(OutboxLetter).where(key).with_for_update())).one()
            log = {"booking_id": booking_id, "letter_key": letter.letter_key}
            if row.sent_at is not None:
                activity.logger.info("booking letter already sent", extra=log)
                return row.message_id
            row.send_attempts += 1
            method = "CANCEL" if letter.kind == BookingLetterKind.cancelled else "REQUEST"
            attachments = (
                (
                    Attachment(
                        ICS_NAME,
                        "text/calendar",
                        row.calendar.encode(),
                        (("method", method), ("charset", "utf-8")),
                    ),
                )
                if row.calendar
                else ()
            )
            outgoing = OutgoingLetter(
                row.message_id, list(row.recipients), row.subject, row.body, attachments
            )
            try:
                await self.channel.deliver(outgoing)
            except RecipientRefused as exc:
                raise ApplicationError(
                    f"booking letter {letter.letter_key} was refused by the mail server: {exc}",
                    type="RecipientRefused",
                    non_retryable=True,
                ) from exc
            row.sent_at = datetime.now(UTC)
            activity.logger.info("booking letter sent", extra=log)
            return row.message_id

    @activity.defn(name="record_booking")
    async def record_booking(self, state: BookingState) -> None:
        """The booking's row follows the workflow: sequence, held, cancelled, its case. Only
        ever forward (a late retry cannot undo a later write)."""
        now = datetime.now(UTC)
        values: dict = {"updated_at": now}
        if state.status == BookingStatus.held:
            values["held_at"] = now
        if state.status == BookingStatus.cancelled:
            values["cancelled_at"] = now
        if state.case_reference:
            values["case_reference"] = state.case_reference
        row = PreDialogueBooking
        with refused_data_is_permanent(f"booking {state.booking_id}"):
            async with self.sessions.begin() as session:
                await session.execute(
                    update(row)
                    .where(row.booking_id == state.booking_id, row.sequence <= state.sequence)
                    .values(sequence=state.sequence)
                )
                for column, value in values.items():
                    column_attr = getattr(row, column)
                    stmt = update(row).where(row.booking_id == state.booking_id)
                    if column in ("held_at", "cancelled_at"):
                        stmt = stmt.where(column_attr.is_(None))
                    await session.execute(stmt.values({column: value}))

    @activity.defn(name="link_booking_to_case")
    async def link_booking_to_case(self, link: CaseBookingLink) -> LinkedBooking:
        """A case started naming a booking: the booking's row learns the case, the case gets
        the meeting for its record. Unknown or cancelled: a non-retryable `UnknownBooking`."""
        try:
            row = await active_booking(self.sessions, link.booking_id)
        except UnknownBooking:
            raise ApplicationError(
                f"There is no active pre-dialogue booking {link.booking_id}.",
                type="UnknownBooking",
                non_retryable=True,
            ) from None
        async with self.sessions.begin() as session:
            await session.execute(
                update(PreDialogueBooking)
                .where(
                    PreDialogueBooking.booking_id == link.booking_id,
                    PreDialogueBooking.case_reference.is_(None),
                )
                .values(case_reference=link.reference, updated_at=datetime.now(UTC))
            )
        return LinkedBooking(
            booking_id=row.booking_id,
            topic=PreDialogueTopic(row.topic),
            starts_at=row.starts_at,
            place=row.place,
            held=row.held_at is not None,
            open=row.held_at is None,
        )

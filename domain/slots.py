"""Offered pre-dialogue times (commitment 3): pure rules, no I/O, no clock.

A slot is one meeting of ``slot_minutes`` with one caseworker, cut from the caseworker's weekly
hours in the directory (``Caseworker.offered_hours``: ISO weekday, start and end in Copenhagen
wall-clock time). Offered are the slots

- of active caseworkers of at least one of the chosen departments,
- on working days (``domain.calendar``: no weekends, public holidays, the days closed by Danish
  practice or the municipality's closing days),
- from the ``lead_working_days``-th working day after *now*'s Copenhagen date (1: from the
  next working day) up to ``weeks`` weeks after that day,
- that do not overlap a meeting the caseworker already has (*busy*: the caseworker's booked
  pre-dialogues and the meetings booked inside cases).

Wall-clock times are placed on their day with ``zoneinfo``, so 09:00 is 09:00 in summer and in
winter; a time that does not exist on a spring-forward night is left out, and a slot never
spans a clock change unnoticed (its end is its start plus ``slot_minutes`` of real time).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from domain import calendar
from schemas.booking import Slot
from schemas.case import Caseworker
from schemas.intake import Department

SLOT_MINUTES = 60
LEAD_WORKING_DAYS = 1
WEEKS_AHEAD = 4


def _local(day: date, at: time) -> datetime | None:
    """*at* on *day* in Copenhagen, or None if that wall-clock time does not exist (DST)."""
    local = datetime.combine(day, at, tzinfo=calendar.COPENHAGEN)
    back = local.astimezone(UTC).astimezone(calendar.COPENHAGEN)
    if back.replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return local


def first_bookable_day(
    now: datetime, closing_days: Iterable[date] = (), lead_working_days: int = LEAD_WORKING_DAYS
) -> date:
    """The first day that may hold an offered slot."""
    return calendar.add_working_days(calendar.local_date(now), lead_working_days, closing_days)


def slots_of_day(person: Caseworker, day: date, slot_minutes: int = SLOT_MINUTES) -> list[Slot]:
    """The caseworker's slots on *day* by their weekly hours (the calendar not applied)."""
    length = timedelta(minutes=slot_minutes)
    out: list[Slot] = []
    for hours in person.offered_hours:
        if hours.weekday != day.isoweekday():
            continue
        end = _local(day, hours.end)
        cursor = datetime.combine(day, hours.start)
        last = datetime.combine(day, hours.end)
        while cursor + length <= last:
            start = _local(day, cursor.time())
            cursor += length
            if start is None:
                continue
            stop = start.astimezone(UTC) + length
            if end is not None and stop > end.astimezone(UTC):
                continue  # a clock change inside the hours: the slot would run past them
            out.append(Slot(caseworker_id=person.id, starts_at=start.astimezone(UTC), ends_at=stop))
    return out


def offered_slots(
    caseworkers: Iterable[Caseworker],
    departments: Iterable[Department],
    now: datetime,
    *,
    busy: Iterable[tuple[str, datetime, datetime]] = (),
    closing_days: Iterable[date] = (),
    lead_working_days: int = LEAD_WORKING_DAYS,
    weeks: int = WEEKS_AHEAD,
    slot_minutes: int = SLOT_MINUTES,
) -> list[Slot]:
    """Every offered slot, ordered by time and then caseworker id; times in UTC.

    *busy*: (caseworker id, start, end) of meetings the caseworker already has."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    closing = frozenset(closing_days)
    wanted = set(departments)
    people = [
        p
        for p in caseworkers
        if p.active and p.offered_hours and wanted.intersection(p.departments)
    ]
    taken: dict[str, list[tuple[datetime, datetime]]] = {}
    for caseworker_id, start, end in busy:
        taken.setdefault(caseworker_id, []).append((start, end))
    first = first_bookable_day(now, closing, lead_working_days)
    out: list[Slot] = []
    for offset in range(weeks * 7):
        day = first + timedelta(days=offset)
        if not calendar.is_working_day(day, closing):
            continue
        for person in people:
            for slot in slots_of_day(person, day, slot_minutes):
                if slot.starts_at <= now:
                    continue
                if any(
                    slot.starts_at < end and start < slot.ends_at
                    for start, end in taken.get(person.id, ())
                ):
                    continue
                out.append(slot)
    return sorted(out, key=lambda s: (s.starts_at, s.caseworker_id))


def is_offered(slot: Slot, offered: Iterable[Slot]) -> bool:
    """Is *slot* (as a form sent it back) one of the offered ones?"""
    return any(
        s.caseworker_id == slot.caseworker_id and s.starts_at == slot.starts_at for s in offered
    )


def by_day(slots: Iterable[Slot]) -> list[tuple[date, list[Slot]]]:
    """The slots grouped by their Copenhagen date, in order."""
    days: dict[date, list[Slot]] = {}
    for slot in slots:
        days.setdefault(calendar.local_date(slot.starts_at), []).append(slot)
    return sorted(days.items())

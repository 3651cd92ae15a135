"""Offered pre-dialogue times (domain/slots.py) at pinned instants: a week with Christmas, the
summer-time change, closing days, lead time, departments and meetings already booked."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from domain import calendar
from domain.slots import by_day, first_bookable_day, is_offered, offered_slots, slots_of_day
from schemas.case import Caseworker, OfferedHours
from schemas.intake import Department

CPH = ZoneInfo("Europe/Copenhagen")
B, E, F = Department.building, Department.environment, Department.fire


def person(pid: str, departments, hours, active: bool = True) -> Caseworker:
    return Caseworker.model_validate(
        {
            "id": pid,
            "name": pid.upper(),
            "email": f"{pid}@kommune.example",
            "phone": "99311111",
            "departments": list(departments),
            "active": active,
            "offered_hours": [
                {"weekday": w, "start": time.fromisoformat(s), "end": time.fromisoformat(e)}
                for w, s, e in hours
            ],
        }
    )


EVERY_WEEKDAY = [(w, "09:00", "11:00") for w in range(1, 6)]
MKJ = person("mkj", [B], EVERY_WEEKDAY)
SFL = person("sfl", [E], [(3, "13:00", "14:00")])


def local_days(slots) -> list[date]:
    return [day for day, _ in by_day(slots)]


def test_a_christmas_week_offers_only_working_days():
    now = datetime(2026, 12, 21, 10, 0, tzinfo=CPH)  # Monday before Christmas
    slots = offered_slots([MKJ], [B], now, weeks=2)
    days = local_days(slots)
    # Tue 22, Wed 23; 24-26 closed; Mon 28 - Wed 30; 31 Dec and 1 Jan closed; Mon 4 Jan.
    assert days == [
        date(2026, 12, 22),
        date(2026, 12, 23),
        date(2026, 12, 28),
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2027, 1, 4),
    ]
    assert all(calendar.is_working_day(d) for d in days)
    first = by_day(slots)[0][1]
    assert [s.starts_at.astimezone(CPH).time() for s in first] == [time(9), time(10)]
    assert all(s.ends_at - s.starts_at == timedelta(hours=1) for s in slots)


def test_lead_time_starts_at_the_next_working_day_not_today():
    friday = datetime(2027, 3, 5, 8, 0, tzinfo=CPH)
    assert first_bookable_day(friday) == date(2027, 3, 8)  # Monday, not the Friday itself
    slots = offered_slots([MKJ], [B], friday, weeks=1)
    assert local_days(slots)[0] == date(2027, 3, 8)
    assert offered_slots([MKJ], [B], friday, weeks=1, lead_working_days=2)[0].starts_at.astimezone(
        CPH
    ).date() == date(2027, 3, 9)


def test_municipal_closing_days_are_left_out():
    now = datetime(2027, 3, 5, 8, 0, tzinfo=CPH)
    closing = [date(2027, 3, 9)]
    days = local_days(offered_slots([MKJ], [B], now, weeks=1, closing_days=closing))
    assert date(2027, 3, 9) not in days and date(2027, 3, 10) in days


def test_summer_time_keeps_wall_clock_times():
    # Summer time starts Sunday 29 March 2026 (02:00 -> 03:00); Easter is a week later.
    now = datetime(2026, 3, 25, 12, 0, tzinfo=CPH)
    slots = offered_slots([MKJ], [B], now, weeks=1)
    friday = [s for s in slots if s.starts_at.astimezone(CPH).date() == date(2026, 3, 27)]
    monday = [s for s in slots if s.starts_at.astimezone(CPH).date() == date(2026, 3, 30)]
    assert friday[0].starts_at == datetime(2026, 3, 27, 8, 0, tzinfo=UTC)  # CET, +01:00
    assert monday[0].starts_at == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # CEST, +02:00
    assert {s.starts_at.astimezone(CPH).time() for s in friday + monday} == {time(9), time(10)}


def test_a_time_that_does_not_exist_on_the_spring_forward_night_is_left_out():
    night = person("nat", [B], [(7, "01:00", "04:00")])
    day = date(2026, 3, 29)
    starts = [s.starts_at.astimezone(CPH) for s in slots_of_day(night, day)]
    # 01:00 (ends 03:00 local, which is 02:00 + the hour lost) and 03:00 exist; 02:00 does not.
    assert [t.hour for t in starts] == [1, 3]
    assert all(s.ends_at - s.starts_at == timedelta(hours=1) for s in slots_of_day(night, day))


def test_departments_choose_the_caseworkers():
    now = datetime(2027, 3, 1, 8, 0, tzinfo=CPH)  # Monday
    assert {s.caseworker_id for s in offered_slots([MKJ, SFL], [E], now)} == {"sfl"}
    assert {s.caseworker_id for s in offered_slots([MKJ, SFL], [B, E], now)} == {"mkj", "sfl"}
    assert offered_slots([MKJ, SFL], [F], now) == []
    inactive = person("old", [B], EVERY_WEEKDAY, active=False)
    assert offered_slots([inactive], [B], now) == []


def test_booked_meetings_block_overlapping_slots_of_that_caseworker_only():
    now = datetime(2027, 3, 1, 8, 0, tzinfo=CPH)
    other = person("jha", [B], EVERY_WEEKDAY)
    start = datetime(2027, 3, 2, 9, 30, tzinfo=CPH)  # overlaps 09:00 and 10:00 on Tuesday
    busy = [("mkj", start, start + timedelta(hours=1))]
    slots = offered_slots([MKJ, other], [B], now, busy=busy, weeks=1)
    tuesday = [s for s in slots if s.starts_at.astimezone(CPH).date() == date(2027, 3, 2)]
    assert {s.caseworker_id for s in tuesday} == {"jha"}
    assert len(tuesday) == 2


def test_is_offered_and_ordering():
    now = datetime(2027, 3, 1, 8, 0, tzinfo=CPH)
    slots = offered_slots([SFL, MKJ], [B, E], now, weeks=1)
    assert slots == sorted(slots, key=lambda s: (s.starts_at, s.caseworker_id))
    assert is_offered(slots[3], slots)
    moved = slots[0].model_copy(update={"starts_at": slots[0].starts_at + timedelta(minutes=5)})
    assert not is_offered(moved, slots)


def test_offered_hours_are_checked():
    with pytest.raises(ValidationError):
        OfferedHours.model_validate({"weekday": 8, "start": time(9), "end": time(10)})
    with pytest.raises(ValidationError):
        OfferedHours.model_validate({"weekday": 1, "start": time(11), "end": time(10)})
    with pytest.raises(ValueError):
        offered_slots([MKJ], [B], datetime(2027, 3, 1, 8, 0))


def test_the_directory_offers_hours_for_every_department():
    from pathlib import Path

    from db.seed import load_roster

    roster = load_roster(Path(__file__).resolve().parent.parent / "config" / "caseworkers.json")
    now = datetime(2027, 3, 1, 8, 0, tzinfo=CPH)
    for department in Department:
        assert offered_slots(roster, [department], now), department

"""Tests for the Danish working-day calendar (domain.calendar)."""

from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest

from domain.calendar import (
    COPENHAGEN,
    add_working_days,
    closed_days,
    contact_deadline,
    contact_reminder_at,
    end_of_day,
    is_working_day,
    local_date,
    working_days_between,
)

CPH = COPENHAGEN


def at_cph(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CPH)


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        # Plain week: Mon 2 Nov -> Tue..Fri + Mon 9 Nov.
        (at_cph(2026, 11, 2), date(2026, 11, 9)),
        # Easter: Maundy Thu 2, Good Fri 3, Easter Mon 6 Apr 2026 closed.
        (at_cph(2026, 3, 30), date(2026, 4, 9)),
        (at_cph(2026, 4, 1), date(2026, 4, 13)),
        # Ascension Thu 14 May 2026.
        (at_cph(2026, 5, 12), date(2026, 5, 20)),
        # Whit Monday 25 May 2026.
        (at_cph(2026, 5, 22), date(2026, 6, 1)),
        # Constitution Day Fri 5 Jun 2026.
        (at_cph(2026, 6, 2), date(2026, 6, 10)),
        # Christmas: 24, 25 (26 is Sat), 31 Dec and 1 Jan closed -> 23, 28, 29, 30 Dec, 4 Jan.
        (at_cph(2026, 12, 22), date(2027, 1, 4)),
        # Former Great Prayer Day (Fri 1 May 2026) is a working day; 1 May is not closed either.
        (at_cph(2026, 4, 30), date(2026, 5, 7)),
    ],
)
def test_contact_deadline(received: datetime, deadline: date) -> None:
    assert contact_deadline(received) == end_of_day(deadline)


@pytest.mark.parametrize(
    "received",
    [at_cph(2026, 11, 6, 15), at_cph(2026, 11, 7, 9), at_cph(2026, 11, 8, 22)],
    ids=["friday", "saturday", "sunday"],
)
def test_receipt_on_weekend_counts_from_next_working_day(received: datetime) -> None:
    assert contact_deadline(received) == end_of_day(date(2026, 11, 13))


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        # Good Friday: 6 Apr closed, then 7, 8, 9, 10, 13 Apr.
        (at_cph(2026, 4, 3), date(2026, 4, 13)),
        # Christmas Day: 28, 29, 30 Dec, 4, 5 Jan.
        (at_cph(2026, 12, 25), date(2027, 1, 5)),
    ],
)
def test_receipt_on_holiday(received: datetime, deadline: date) -> None:
    assert contact_deadline(received) == end_of_day(deadline)


def test_receipt_uses_copenhagen_date_not_utc_date() -> None:
    # 23:30 UTC on Fri 27 Nov is 00:30 on Sat 28 Nov in Copenhagen (CET, +01:00).
    assert local_date(datetime(2026, 11, 27, 23, 30, tzinfo=UTC)) == date(2026, 11, 28)
    # Summer: 22:30 UTC on 30 Jun is 00:30 on 1 Jul (CEST, +02:00).
    assert local_date(datetime(2026, 6, 30, 22, 30, tzinfo=UTC)) == date(2026, 7, 1)
    # 23:30 UTC Wed 25 Nov = Thu 26 Nov local: 27, 30 Nov, 1, 2, 3 Dec (UTC date would give 2 Dec).
    received = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    assert contact_deadline(received) == end_of_day(date(2026, 12, 3))


@pytest.mark.parametrize(
    ("received", "deadline", "offset", "utc_instant"),
    [
        # Spring forward Sun 29 Mar 2026: received in CET, deadline Mon 30 Mar in CEST.
        (at_cph(2026, 3, 23), date(2026, 3, 30), 2, datetime(2026, 3, 30, 21, 59, 59, 999999)),
        # Fall back Sun 25 Oct 2026: received in CEST, deadline Mon 26 Oct in CET.
        (at_cph(2026, 10, 19), date(2026, 10, 26), 1, datetime(2026, 10, 26, 22, 59, 59, 999999)),
        # Received on the switch day itself (01:30 UTC = 03:30 CEST): Easter lies ahead.
        (
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
            date(2026, 4, 8),
            2,
            datetime(2026, 4, 8, 21, 59, 59, 999999),
        ),
    ],
)
def test_deadline_across_dst(
    received: datetime, deadline: date, offset: int, utc_instant: datetime
) -> None:
    result = contact_deadline(received)
    assert result.date() == deadline
    assert result.timetz().replace(tzinfo=None) == time(23, 59, 59, 999999)
    assert result.utcoffset() == timedelta(hours=offset)
    assert result.astimezone(UTC) == utc_instant.replace(tzinfo=UTC)


def test_reminder_offsets_across_dst() -> None:
    assert contact_reminder_at(at_cph(2026, 3, 23)).utcoffset() == timedelta(hours=1)
    assert contact_reminder_at(at_cph(2026, 10, 19)).utcoffset() == timedelta(hours=2)


def test_naive_datetime_rejected() -> None:
    naive = datetime(2026, 11, 2, 10, 0)
    aware = at_cph(2026, 11, 2)
    with pytest.raises(ValueError, match="must be timezone-aware"):
        contact_deadline(naive)
    with pytest.raises(ValueError, match="must be timezone-aware"):
        contact_reminder_at(naive)
    with pytest.raises(ValueError, match="must be timezone-aware"):
        local_date(naive)
    with pytest.raises(ValueError, match="must be timezone-aware"):
        working_days_between(aware, naive)


def test_datetime_rejected_where_date_expected() -> None:
    with pytest.raises(TypeError):
        is_working_day(at_cph(2026, 4, 3))
    with pytest.raises(TypeError):
        add_working_days(at_cph(2026, 4, 3), 1)


def test_municipal_closing_day_pushes_deadline() -> None:
    received = at_cph(2026, 11, 2)
    assert contact_deadline(received, [date(2026, 11, 6)]) == end_of_day(date(2026, 11, 10))
    # Any iterable works, including a one-shot generator.
    gen = (d for d in [date(2026, 11, 4), date(2026, 11, 5)])
    assert contact_deadline(received, closing_days=gen) == end_of_day(date(2026, 11, 11))
    # A closing day on a weekend changes nothing.
    assert contact_deadline(received, [date(2026, 11, 7)]) == end_of_day(date(2026, 11, 9))


def test_custom_number_of_working_days() -> None:
    assert contact_deadline(at_cph(2026, 11, 2), working_days=1) == end_of_day(date(2026, 11, 3))


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 2), True),  # ordinary Monday
        (date(2026, 11, 7), False),  # Saturday
        (date(2026, 5, 1), True),  # would have been Great Prayer Day; 1 May is not closed
        (date(2023, 5, 5), False),  # Great Prayer Day 2023, still a holiday then
        (date(2026, 6, 5), False),  # Constitution Day
        (date(2026, 12, 24), False),  # Christmas Eve
        (date(2026, 12, 31), False),  # New Year's Eve
        (date(2027, 1, 1), False),  # New Year's Day
        (date(2026, 5, 14), False),  # Ascension Day
    ],
)
def test_is_working_day(day: date, expected: bool) -> None:
    assert is_working_day(day) is expected


def test_is_working_day_with_closing_day() -> None:
    assert not is_working_day(date(2026, 5, 15), closing_days=[date(2026, 5, 15)])


@pytest.mark.parametrize(
    ("received", "reminder", "deadline"),
    [
        (at_cph(2026, 11, 2), date(2026, 11, 6), date(2026, 11, 9)),
        (at_cph(2026, 12, 22), date(2026, 12, 30), date(2027, 1, 4)),
        (at_cph(2026, 3, 30), date(2026, 4, 8), date(2026, 4, 9)),
    ],
)
def test_reminder_is_one_working_day_before_deadline(
    received: datetime, reminder: date, deadline: date
) -> None:
    reminder_at = contact_reminder_at(received)
    assert reminder_at == end_of_day(reminder)
    assert contact_deadline(received) == end_of_day(deadline)
    assert add_working_days(local_date(reminder_at), 1) == deadline


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (date(2026, 11, 2), 0, date(2026, 11, 2)),
        (date(2026, 12, 25), 0, date(2026, 12, 25)),  # n=0 returns the day even if closed
        (date(2026, 11, 6), 1, date(2026, 11, 9)),
        (date(2026, 4, 7), -1, date(2026, 4, 1)),  # skips Easter Mon, weekend, Good Fri, Maundy Thu
        (date(2027, 1, 4), -3, date(2026, 12, 28)),  # skips 1 Jan, weekend, 31 Dec
        (date(2026, 11, 8), -1, date(2026, 11, 6)),  # from a Sunday back to Friday
    ],
)
def test_add_working_days(day: date, n: int, expected: date) -> None:
    assert add_working_days(day, n) == expected


def test_add_working_days_round_trip_from_working_day() -> None:
    start = date(2026, 12, 22)
    for n in range(1, 15):
        assert add_working_days(add_working_days(start, n), -n) == start


def test_negative_add_working_days_respects_closing_days() -> None:
    assert add_working_days(date(2026, 11, 9), -1, [date(2026, 11, 6)]) == date(2026, 11, 5)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (at_cph(2026, 12, 22), at_cph(2027, 1, 4), 5),
        (at_cph(2026, 3, 23), at_cph(2026, 3, 30, 23, 59), 5),
        (at_cph(2026, 11, 2, 8), at_cph(2026, 11, 2, 16), 0),  # same day
        (at_cph(2026, 11, 9), at_cph(2026, 11, 2), 0),  # end before start
        (at_cph(2026, 11, 6), at_cph(2026, 11, 8), 0),  # only a weekend in between
        # 23:30 UTC Sun 8 Nov is Mon 9 Nov in Copenhagen, so Monday counts.
        (at_cph(2026, 11, 6), datetime(2026, 11, 8, 23, 30, tzinfo=UTC), 1),
    ],
)
def test_working_days_between(start: datetime, end: datetime, expected: int) -> None:
    assert working_days_between(start, end) == expected


def test_working_days_between_with_closing_day() -> None:
    start, end = at_cph(2026, 11, 2), at_cph(2026, 11, 9)
    assert working_days_between(start, end, [date(2026, 11, 4)]) == 4


def test_closed_days_2026() -> None:
    assert closed_days(2026) == {
        date(2026, 1, 1): "Nytårsdag",
        date(2026, 4, 2): "Skærtorsdag",
        date(2026, 4, 3): "Langfredag",
        date(2026, 4, 6): "Anden påskedag",
        date(2026, 5, 14): "Kristi himmelfartsdag",
        date(2026, 5, 25): "Anden pinsedag",
        date(2026, 6, 5): "Grundlovsdag",
        date(2026, 12, 24): "Juleaftensdag",
        date(2026, 12, 25): "Juledag",
        date(2026, 12, 31): "Nytårsaftensdag",
    }


@pytest.mark.parametrize("year", [2020, 2023, 2024, 2026, 2027, 2030])
def test_closed_days_match_holidays_library(year: int) -> None:
    """The untranslated table must equal holidays' Danish one, plus the three practice days."""
    public = holidays.country_holidays("DK", years=year, language="da")
    expected = {d: name for d, name in public.items() if d.weekday() < 5}
    for extra, name in [
        (date(year, 6, 5), "Grundlovsdag"),
        (date(year, 12, 24), "Juleaftensdag"),
        (date(year, 12, 31), "Nytårsaftensdag"),
    ]:
        if extra.weekday() < 5:
            expected.setdefault(extra, name)
    assert closed_days(year) == dict(sorted(expected.items()))


def test_closed_days_with_municipal_days() -> None:
    configured = [
        date(2026, 5, 15),  # bridge day after Ascension
        date(2026, 5, 16),  # Saturday: not listed
        date(2026, 12, 24),  # already closed: keeps its holiday name
        date(2027, 1, 4),  # other year: not listed
    ]
    result = closed_days(2026, configured)
    assert result[date(2026, 5, 15)] == "Kommunal lukkedag"
    assert result[date(2026, 12, 24)] == "Juleaftensdag"
    assert date(2026, 5, 16) not in result
    assert len(result) == 11
    assert list(result) == sorted(result)


def test_closed_days_returns_a_fresh_dict() -> None:
    closed_days(2026).clear()
    assert date(2026, 6, 5) in closed_days(2026)
    assert is_working_day(date(2026, 6, 5)) is False


def test_end_of_day() -> None:
    result = end_of_day(date(2026, 3, 29))
    assert result == datetime(2026, 3, 29, 23, 59, 59, 999999, tzinfo=CPH)
    assert result.tzinfo is CPH
    assert result.utcoffset() == timedelta(hours=2)

"""Tests for the date rules relative to now or to another field (domain/sanity.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.sanity import (
    CLOCK_SKEW,
    SanityError,
    add_years,
    check_meeting_time,
    check_received_at,
    check_wished_decision_date,
)

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
RECEIVED = datetime(2026, 11, 24, 9, 15, tzinfo=CPH)


def test_sanity_error_names_the_field() -> None:
    error = SanityError("received_at", "lies in the future")
    assert isinstance(error, ValueError)
    assert (error.field, error.reason, str(error)) == (
        "received_at",
        "lies in the future",
        "received_at: lies in the future",
    )


# ------------------------------------------------------------------ received_at


@pytest.mark.parametrize(
    "received_at",
    [
        NOW,
        NOW + CLOCK_SKEW,  # the case system's clock may be a little ahead
        NOW - timedelta(days=3650),
        datetime(2026, 11, 24, 13, 4, tzinfo=CPH),  # 12:04 UTC
    ],
)
def test_received_at_accepted(received_at: datetime) -> None:
    check_received_at(received_at, NOW)


@pytest.mark.parametrize(
    "received_at",
    [
        NOW + CLOCK_SKEW + timedelta(microseconds=1),
        datetime(2026, 11, 24, 13, 6, tzinfo=CPH),
        datetime(2099, 12, 31, tzinfo=UTC),
    ],
)
def test_received_at_in_the_future_refused(received_at: datetime) -> None:
    with pytest.raises(SanityError) as caught:
        check_received_at(received_at, NOW)
    assert caught.value.field == "received_at"
    assert str(caught.value).startswith("received_at: lies in the future")
    assert received_at.isoformat() not in str(caught.value)


def test_naive_times_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        check_received_at(RECEIVED, datetime(2026, 11, 24, 12, 0))
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        check_meeting_time(datetime(2026, 12, 1, 10, 0), RECEIVED, NOW)


# ------------------------------------------------------------------ wished decision date


@pytest.mark.parametrize(
    ("wished", "ok"),
    [
        (date(2026, 11, 23), False),
        (date(2026, 11, 24), True),
        (date(2031, 11, 24), True),
        (date(2031, 11, 25), False),
    ],
)
def test_wished_decision_date(wished: date, ok: bool) -> None:
    if ok:
        check_wished_decision_date(wished, RECEIVED)
    else:
        with pytest.raises(SanityError) as caught:
            check_wished_decision_date(wished, RECEIVED)
        assert caught.value.field == "wished_decision_date"


def test_wished_date_counts_from_the_local_day_of_receipt() -> None:
    # 00:30 in Copenhagen is still the day before in UTC: the case system's day counts
    received = datetime(2026, 11, 24, 0, 30, tzinfo=CPH)
    check_wished_decision_date(date(2026, 11, 24), received)


# ------------------------------------------------------------------ meetings


def test_meeting_time_accepted() -> None:
    check_meeting_time(datetime(2026, 12, 3, 10, 0, tzinfo=CPH), RECEIVED, NOW)
    check_meeting_time(RECEIVED, RECEIVED, NOW)
    check_meeting_time(add_years(NOW, 3), RECEIVED, NOW)


@pytest.mark.parametrize(
    ("at", "reason"),
    [
        (RECEIVED - timedelta(seconds=1), "the meeting cannot be before the case was received"),
        (add_years(NOW, 3) + timedelta(seconds=1), "more than 3 years ahead"),
        (datetime(2099, 1, 1, tzinfo=UTC), "more than 3 years ahead"),
    ],
)
def test_meeting_time_refused(at: datetime, reason: str) -> None:
    with pytest.raises(SanityError) as caught:
        check_meeting_time(at, RECEIVED, NOW)
    assert caught.value.field == "at"
    assert reason in caught.value.reason


# ------------------------------------------------------------------ add_years


def test_add_years() -> None:
    assert add_years(date(2027, 3, 1), 5) == date(2032, 3, 1)
    assert add_years(date(2028, 2, 29), 1) == date(2029, 2, 28)
    assert add_years(date(2028, 2, 29), 4) == date(2032, 2, 29)
    moved = add_years(datetime(2028, 2, 29, 10, 0, tzinfo=CPH), 3)
    assert moved == datetime(2031, 2, 28, 10, 0, tzinfo=CPH)

"""The retention rule (domain/retention.py): erase N months after closing, in Copenhagen."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import calendar
from domain.retention import add_months, candidates_until, erase_on, is_due


def test_months_are_calendar_months_with_the_last_day_when_missing():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 26), 36) == date(2029, 11, 26)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


def test_the_day_counts_in_copenhagen():
    # 23:30 UTC on 31 December is already 1 January in Copenhagen.
    closed = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert erase_on(closed, 1) == date(2027, 2, 1)
    assert not is_due(closed, 1, datetime(2027, 1, 31, 22, 59, tzinfo=UTC))
    assert is_due(closed, 1, datetime(2027, 1, 31, 23, 0, tzinfo=UTC))


def test_retention_is_at_least_a_month():
    with pytest.raises(ValueError, match="at least 1 month"):
        erase_on(datetime(2026, 1, 1, tzinfo=UTC), 0)


@given(
    closed=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1)),
    later=st.integers(min_value=0, max_value=4000),
    months=st.integers(min_value=1, max_value=120),
)
def test_every_due_case_is_among_the_candidates(closed, later, months):
    closed_at = closed.replace(tzinfo=UTC)
    now = closed_at + timedelta(days=later)
    if is_due(closed_at, months, now):
        assert calendar.local_date(closed_at) <= candidates_until(now, months)

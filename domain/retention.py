"""When a closed case's personal data is erased: N months after it closed (pure rules).

The day is counted in Copenhagen: a case closed on 31 January with 1 month of retention is
erased on 28 (or 29) February, the month's last day when the day does not exist in it.
"""

from __future__ import annotations

import calendar as month_calendar
from datetime import date, datetime, timedelta

from domain import calendar


def add_months(day: date, months: int) -> date:
    """*day* moved *months* calendar months on (the month's last day if the day is missing)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = month_calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def erase_on(closed_at: datetime, months: int) -> date:
    """The local day from which a case closed at *closed_at* is erased."""
    if months < 1:
        raise ValueError("retention is at least 1 month")
    return add_months(calendar.local_date(closed_at), months)


def is_due(closed_at: datetime, months: int, now: datetime) -> bool:
    """True when the case's retention has run out at *now*."""
    return calendar.local_date(now) >= erase_on(closed_at, months)


def candidates_until(now: datetime, months: int) -> date:
    """A local day no due case closed after (a coarse bound for one query; check `is_due`).

    Going back *months* from today and 3 days more covers every clamped month end (a case
    closed on 31 January is due on 28 February, when going back gives 28 January)."""
    return add_months(calendar.local_date(now), -months) + timedelta(days=3)

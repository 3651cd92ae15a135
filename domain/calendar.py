"""Danish working-day calendar for case deadlines.

A working day (hverdag) is Monday to Friday in Europe/Copenhagen, minus the Danish public
holidays, minus Constitution Day, Christmas Eve and New Year's Eve (closed in Danish practice),
minus the municipality's configured closing days.

Pure, deterministic functions for workflow code. The only module state is an ``lru_cache`` of
the per-year holiday table. Temporal's sandbox proxies ``zoneinfo.ZoneInfo`` and cannot import
``holidays``, so workflow modules must import this one passed through::

    with workflow.unsafe.imports_passed_through():
        from domain import calendar
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

from holidays.countries.denmark import Denmark

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
MUNICIPAL_CLOSING_DAY = "Kommunal lukkedag"
_PRACTICE_CLOSED = ((6, 5, "Grundlovsdag"), (12, 24, "Juleaftensdag"), (12, 31, "Nytårsaftensdag"))


class _DanishHolidays(Denmark):
    """``holidays.country_holidays("DK", language="da")`` without gettext.

    The Danish names are the library's source strings, so translating is the identity; skipping
    it avoids the call-time imports (``holidays``, ``locale``) that Temporal's sandbox rejects.
    """

    def _init_translation(self) -> None:
        self.tr = str


@lru_cache(maxsize=128)
def _national_closed(year: int) -> Mapping[date, str]:
    """Public holidays (Danish names) plus the three days closed by practice, for one year."""
    days = dict(_DanishHolidays(years=year))
    for month, day, name in _PRACTICE_CLOSED:
        days.setdefault(date(year, month, day), name)
    return MappingProxyType(days)


def _check_date(day: date) -> date:
    """Reject datetimes, which compare unequal to dates and would slip past the holiday table."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"expected a date, got {type(day).__name__}; use local_date() first")
    return day


def _is_open(day: date, closing: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in _national_closed(day.year) and day not in closing


def is_working_day(day: date, closing_days: Iterable[date] = ()) -> bool:
    """True if ``day`` is a weekday that is neither a holiday nor a municipal closing day."""
    return _is_open(_check_date(day), frozenset(closing_days))


def add_working_days(day: date, n: int, closing_days: Iterable[date] = ()) -> date:
    """The ``n``-th working day after ``day`` (``day`` itself not counted).

    ``n == 0`` returns ``day`` unchanged; negative ``n`` counts backwards to the ``|n|``-th
    working day before ``day``.
    """
    closing = frozenset(closing_days)
    step = timedelta(days=1 if n >= 0 else -1)
    current, remaining = _check_date(day), abs(n)
    while remaining:
        current += step
        if _is_open(current, closing):
            remaining -= 1
    return current


def local_date(at: datetime) -> date:
    """The Copenhagen calendar date of an aware datetime."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(COPENHAGEN).date()


def end_of_day(day: date) -> datetime:
    """The last instant of ``day`` in Copenhagen, as an aware datetime."""
    return datetime.combine(_check_date(day), time(23, 59, 59, 999999), tzinfo=COPENHAGEN)


def contact_deadline(
    received_at: datetime, closing_days: Iterable[date] = (), working_days: int = 5
) -> datetime:
    """Deadline for "no later than N working days after receipt".

    The receipt day is not counted (also when it is a closed day); the deadline is the end of
    the ``working_days``-th working day after the Copenhagen date of ``received_at``.
    """
    return end_of_day(add_working_days(local_date(received_at), working_days, closing_days))


def contact_reminder_at(received_at: datetime, closing_days: Iterable[date] = ()) -> datetime:
    """Reminder instant one working day before the contact deadline (end of the 4th day)."""
    return contact_deadline(received_at, closing_days, working_days=4)


def working_days_between(start: datetime, end: datetime, closing_days: Iterable[date] = ()) -> int:
    """Count working days ``d`` with ``local_date(start) < d <= local_date(end)``."""
    first, last = local_date(start), local_date(end)
    closing = frozenset(closing_days)
    count, current = 0, first + timedelta(days=1)
    while current <= last:
        count += _is_open(current, closing)
        current += timedelta(days=1)
    return count


def closed_days(year: int, closing_days: Iterable[date] = ()) -> dict[date, str]:
    """Name of every closed Monday-to-Friday in ``year``, sorted by date.

    Holidays keep their Danish name; configured days get ``"Kommunal lukkedag"``.
    """
    days = {d: name for d, name in _national_closed(year).items() if d.weekday() < 5}
    for d in closing_days:
        if _check_date(d).year == year and d.weekday() < 5:
            days.setdefault(d, MUNICIPAL_CLOSING_DAY)
    return dict(sorted(days.items()))

"""The expected decision date (commitment 6).

Processing time in calendar days counts from the day the case is complete ("fuldt oplyst"):
the median of comparable closed cases when there are enough of them, otherwise KL's service
target. A date that falls on a closed day moves forward to the next working day.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from domain import calendar
from schemas.intake import CaseType
from schemas.life import Estimate, EstimateBasis

KL_TARGET_DAYS: dict[CaseType, int] = {
    CaseType.simple_construction: 40,
    CaseType.single_family_house: 40,
    CaseType.industry_warehouse: 50,
    CaseType.commercial_multistorey: 55,
    CaseType.residential_multistorey: 60,
    CaseType.environmental_approval_minor: 130,
    CaseType.environmental_approval_large: 200,
    # KL has no common service target for fire cases: the municipality's own target
    # (to become configurable).
    CaseType.fire_safety: 30,
}

MIN_HISTORY = 10  # closed cases needed before the median replaces the KL target


def next_working_day(day: date, closing_days: Iterable[date] = ()) -> date:
    """``day`` itself if it is a working day, else the first working day after it."""
    closing = frozenset(closing_days)
    while not calendar.is_working_day(day, closing):
        day += timedelta(days=1)
    return day


def estimate_decision_date(
    complete_on: date,
    case_type: CaseType,
    history_days: Sequence[float],
    wished: date | None,
    closing_days: Iterable[date] = (),
) -> Estimate:
    """The expected decision date for a case complete on ``complete_on``.

    ``history_days``: processing days of comparable closed cases. A wished date on or after
    the estimate becomes the decision date; an earlier one is reported as not met.
    """
    closing = frozenset(closing_days)
    if len(history_days) >= MIN_HISTORY:
        days, basis = math.ceil(statistics.median(history_days)), EstimateBasis.history
    else:
        days, basis = KL_TARGET_DAYS[case_type], EstimateBasis.kl_target
    decision = next_working_day(complete_on + timedelta(days=days), closing)
    met = None
    if wished is not None:
        met = wished >= decision
        if met:
            decision = next_working_day(wished, closing)
    return Estimate(
        decision_date=decision,
        basis=basis,
        processing_days=days,
        history_cases=len(history_days),
        wished_date=wished,
        wished_date_met=met,
    )


def move_date(current: date, working_days: int, closing_days: Iterable[date] = ()) -> date:
    """The agreed date moved ``working_days`` working days later (a department needs time)."""
    return calendar.add_working_days(current, working_days, closing_days)


def review_deadline(
    agreed: date, working_days_before: int, closing_days: Iterable[date] = ()
) -> date:
    """The departments' review deadline: ``working_days_before`` working days before the
    agreed date, leaving the coordinator time for the one decision."""
    return calendar.add_working_days(agreed, -working_days_before, closing_days)


def after_waiting(
    agreed: date, stopped_on: date, resumed_on: date, closing_days: Iterable[date] = ()
) -> tuple[date, int]:
    """The agreed date after the clock stood still from ``stopped_on`` to ``resumed_on``:
    moved by the calendar days waited (KL's clock deducts waiting), onto a working day.
    Returns (new date, days waited); the date is unchanged when no day was waited."""
    waited = (resumed_on - stopped_on).days
    if waited <= 0:
        return agreed, 0
    return next_working_day(agreed + timedelta(days=waited), closing_days), waited


def after_reopening(
    agreed: date, today: date, working_days: int, closing_days: Iterable[date] = ()
) -> date:
    """The agreed date when reviews re-open: at least ``working_days`` working days ahead."""
    return max(agreed, calendar.add_working_days(today, working_days, closing_days))

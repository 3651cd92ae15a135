"""Tests for the expected decision date (domain.estimate). Dates checked by hand against the
2026 calendar: Easter Monday is 6 April, Ascension Day 14 May."""

from datetime import date

import pytest

from domain.estimate import (
    KL_TARGET_DAYS,
    MIN_HISTORY,
    estimate_decision_date,
    move_date,
    next_working_day,
    review_deadline,
)
from schemas.intake import CaseType
from schemas.life import EstimateBasis


def test_kl_targets() -> None:
    assert set(KL_TARGET_DAYS) == set(CaseType)
    assert KL_TARGET_DAYS[CaseType.simple_construction] == 40
    assert KL_TARGET_DAYS[CaseType.single_family_house] == 40
    assert KL_TARGET_DAYS[CaseType.industry_warehouse] == 50
    assert KL_TARGET_DAYS[CaseType.commercial_multistorey] == 55
    assert KL_TARGET_DAYS[CaseType.residential_multistorey] == 60
    assert KL_TARGET_DAYS[CaseType.environmental_approval_minor] == 130
    assert KL_TARGET_DAYS[CaseType.environmental_approval_large] == 200
    assert KL_TARGET_DAYS[CaseType.fire_safety] == 30
    assert MIN_HISTORY == 10


def test_kl_target_landing_on_a_saturday_moves_to_monday() -> None:
    # Mon 2 Mar 2026 + 40 days = Sat 11 Apr -> Mon 13 Apr.
    est = estimate_decision_date(date(2026, 3, 2), CaseType.simple_construction, [], None)
    assert est.decision_date == date(2026, 4, 13)
    assert est.basis == EstimateBasis.kl_target
    assert (est.processing_days, est.history_cases) == (40, 0)
    assert est.wished_date is None and est.wished_date_met is None


def test_kl_target_landing_on_good_friday_moves_past_easter() -> None:
    # Sun 22 Feb 2026 + 40 days = Good Friday 3 Apr; Easter Monday 6 Apr -> Tue 7 Apr.
    est = estimate_decision_date(date(2026, 2, 22), CaseType.single_family_house, [], None)
    assert est.decision_date == date(2026, 4, 7)


def test_landing_on_a_working_day_stays() -> None:
    # Mon 2 Mar 2026 + 50 days = Tue 21 Apr.
    est = estimate_decision_date(date(2026, 3, 2), CaseType.industry_warehouse, [], None)
    assert est.decision_date == date(2026, 4, 21)


def test_closing_day_moves_the_date() -> None:
    est = estimate_decision_date(
        date(2026, 3, 2), CaseType.industry_warehouse, [], None, [date(2026, 4, 21)]
    )
    assert est.decision_date == date(2026, 4, 22)


def test_history_median_rounded_up_with_enough_cases() -> None:
    history = [10.0] * 5 + [31.0] * 5  # median 20.5 -> 21 days
    est = estimate_decision_date(date(2026, 6, 1), CaseType.simple_construction, history, None)
    assert est.basis == EstimateBasis.history
    assert (est.processing_days, est.history_cases) == (21, 10)
    assert est.decision_date == date(2026, 6, 22)  # Mon 1 Jun + 21 = Mon 22 Jun


def test_history_median_of_odd_count() -> None:
    history = [5.0, 50.0, 12.2, 7.0, 30.0, 9.0, 11.0, 40.0, 8.0, 100.0, 13.0]  # median 12.2
    est = estimate_decision_date(date(2026, 6, 1), CaseType.simple_construction, history, None)
    assert (est.processing_days, est.history_cases) == (13, 11)
    assert est.decision_date == date(2026, 6, 15)  # Mon 1 Jun + 13 = Sun 14 Jun -> Mon 15 Jun


def test_too_little_history_uses_the_kl_target() -> None:
    est = estimate_decision_date(date(2026, 3, 2), CaseType.simple_construction, [1.0] * 9, None)
    assert est.basis == EstimateBasis.kl_target
    assert (est.processing_days, est.history_cases) == (40, 9)
    assert est.decision_date == date(2026, 4, 13)


def test_later_wished_date_is_met_and_moved_to_a_working_day() -> None:
    # Estimate Mon 13 Apr; wished Ascension Day 14 May -> Fri 15 May.
    est = estimate_decision_date(
        date(2026, 3, 2), CaseType.simple_construction, [], date(2026, 5, 14)
    )
    assert est.decision_date == date(2026, 5, 15)
    assert est.wished_date == date(2026, 5, 14)
    assert est.wished_date_met is True
    assert est.basis == EstimateBasis.kl_target and est.processing_days == 40


def test_wished_date_equal_to_the_estimate_is_met() -> None:
    est = estimate_decision_date(
        date(2026, 3, 2), CaseType.simple_construction, [], date(2026, 4, 13)
    )
    assert est.decision_date == date(2026, 4, 13) and est.wished_date_met is True


def test_wished_saturday_after_the_moved_estimate_is_not_earlier() -> None:
    # Raw date Sat 11 Apr moves to Mon 13 Apr; a wish for Sat 11 Apr is earlier than that.
    est = estimate_decision_date(
        date(2026, 3, 2), CaseType.simple_construction, [], date(2026, 4, 11)
    )
    assert est.decision_date == date(2026, 4, 13) and est.wished_date_met is False


def test_earlier_wished_date_is_not_met_and_the_estimate_stands() -> None:
    est = estimate_decision_date(
        date(2026, 3, 2), CaseType.simple_construction, [], date(2026, 4, 1)
    )
    assert est.decision_date == date(2026, 4, 13)
    assert est.wished_date == date(2026, 4, 1) and est.wished_date_met is False


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 4, 10), date(2026, 4, 10)),  # Friday
        (date(2026, 4, 11), date(2026, 4, 13)),  # Saturday
        (date(2026, 4, 2), date(2026, 4, 7)),  # Maundy Thursday
        (date(2026, 12, 24), date(2026, 12, 28)),  # Christmas Eve (Thursday)
    ],
)
def test_next_working_day(day: date, expected: date) -> None:
    assert next_working_day(day) == expected


def test_move_date_counts_working_days_past_easter() -> None:
    # Mon 30 Mar 2026: Tue 31, Wed 1, (Easter closed 2-6 Apr), Tue 7, Wed 8, Thu 9.
    assert move_date(date(2026, 3, 30), 5) == date(2026, 4, 9)
    assert move_date(date(2026, 3, 30), 5, [date(2026, 4, 8)]) == date(2026, 4, 10)


def test_review_deadline_counts_back_working_days() -> None:
    # Thu 9 Apr 2026 back: Wed 8 (1), Tue 7 (2), Easter closed, Wed 1 Apr (3).
    assert review_deadline(date(2026, 4, 9), 3) == date(2026, 4, 1)
    assert review_deadline(date(2026, 4, 9), 3, [date(2026, 4, 1)]) == date(2026, 3, 31)
    assert review_deadline(date(2026, 4, 9), 0) == date(2026, 4, 9)


def test_after_waiting_adds_the_days_waited_onto_a_working_day() -> None:
    from domain.estimate import after_waiting

    # Agreed Mon 1 Mar 2027; waited Tue 2 Feb -> Sat 6 Feb (4 days): Fri 5 Mar 2027.
    assert after_waiting(date(2027, 3, 1), date(2027, 2, 2), date(2027, 2, 6)) == (
        date(2027, 3, 5),
        4,
    )
    # 5 days lands on Saturday 6 Mar: moved to Monday 8 Mar.
    assert after_waiting(date(2027, 3, 1), date(2027, 2, 2), date(2027, 2, 7)) == (
        date(2027, 3, 8),
        5,
    )
    assert after_waiting(date(2027, 3, 1), date(2027, 2, 2), date(2027, 2, 2)) == (
        date(2027, 3, 1),
        0,
    )


def test_after_reopening_leaves_room_for_the_reviews() -> None:
    from domain.estimate import after_reopening

    # Tue 22 Dec 2026 + 10 working days (24-27 Dec, 31 Dec-3 Jan closed): 23, 28, 29, 30 Dec,
    # 4-8 Jan, Mon 11 Jan 2027.
    assert after_reopening(date(2026, 12, 28), date(2026, 12, 22), 10) == date(2027, 1, 11)
    assert after_reopening(date(2027, 3, 1), date(2026, 12, 22), 10) == date(2027, 3, 1)

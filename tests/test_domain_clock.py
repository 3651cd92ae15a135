"""Tests for the clock ledger (domain.clock)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.calendar import COPENHAGEN
from domain.clock import (
    end,
    figures,
    is_running,
    net_processing_time,
    restart,
    start,
    started_at,
    stop,
    waiting_time,
)
from schemas.life import ClockEntry, ClockEvent


def cph(m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(2026, m, d, hh, mm, tzinfo=COPENHAGEN)


def sample() -> list[ClockEntry]:
    """Complete Mon 9 Mar 09:00, waiting Tue 10 Mar 09:00 - Thu 12 Mar 09:00, decided 20 Mar."""
    ledger = start([], cph(3, 9), "fuldt oplyst")
    ledger = stop(ledger, cph(3, 10), "waiting for the applicant")
    ledger = restart(ledger, cph(3, 12), "material received")
    return end(ledger, cph(3, 20), "decision")


def test_transitions_append_to_a_new_list() -> None:
    empty: list[ClockEntry] = []
    one = start(empty, cph(3, 9), "fuldt oplyst")
    assert empty == [] and len(one) == 1
    two = stop(one, cph(3, 10), "waiting")
    assert len(one) == 1 and [e.event for e in two] == [ClockEvent.started, ClockEvent.stopped]
    assert two[1] == ClockEntry(at=cph(3, 10), event=ClockEvent.stopped, reason="waiting")


def test_is_running_and_started_at() -> None:
    ledger: list[ClockEntry] = []
    assert not is_running(ledger) and started_at(ledger) is None
    ledger = start(ledger, cph(3, 9), "fuldt oplyst")
    assert is_running(ledger) and started_at(ledger) == cph(3, 9)
    ledger = stop(ledger, cph(3, 10), "waiting")
    assert not is_running(ledger)
    ledger = restart(ledger, cph(3, 12), "material")
    assert is_running(ledger)
    ledger = end(ledger, cph(3, 20), "decision")
    assert not is_running(ledger) and started_at(ledger) == cph(3, 9)


@pytest.mark.parametrize(
    ("build", "action", "message"),
    [
        (lambda: start([], cph(3, 9), "a"), start, "already started"),
        (list, stop, "not running"),
        (lambda: stop(start([], cph(3, 9), "a"), cph(3, 9, 10), "b"), stop, "already stopped"),
        (list, restart, "not stopped"),
        (lambda: start([], cph(3, 9), "a"), restart, "not stopped"),
        (list, end, "has not started"),
        (lambda: end(start([], cph(3, 9), "a"), cph(3, 9, 10), "b"), start, "has ended"),
        (lambda: end(start([], cph(3, 9), "a"), cph(3, 9, 10), "b"), stop, "has ended"),
        (lambda: end(start([], cph(3, 9), "a"), cph(3, 9, 10), "b"), restart, "has ended"),
        (lambda: end(start([], cph(3, 9), "a"), cph(3, 9, 10), "b"), end, "has ended"),
    ],
)
def test_impossible_transitions_raise(build, action, message) -> None:
    with pytest.raises(ValueError, match=message):
        action(build(), cph(3, 11), "reason")


def test_entries_must_not_go_back_in_time() -> None:
    ledger = start([], cph(3, 9), "fuldt oplyst")
    with pytest.raises(ValueError, match="before the last entry"):
        stop(ledger, cph(3, 8), "waiting")


def test_end_from_stopped() -> None:
    ledger = stop(start([], cph(3, 9), "a"), cph(3, 10), "b")
    ledger = end(ledger, cph(3, 11), "withdrawn")
    assert net_processing_time(ledger, cph(3, 30)) == timedelta(days=1)
    assert waiting_time(ledger, cph(3, 30)) == timedelta(days=1)


def test_net_and_waiting_time_of_the_sample() -> None:
    ledger = sample()
    assert net_processing_time(ledger, cph(3, 20)) == timedelta(days=9)
    assert waiting_time(ledger, cph(3, 20)) == timedelta(days=2)
    # After the end nothing more counts.
    assert net_processing_time(ledger, cph(4, 20)) == timedelta(days=9)
    assert waiting_time(ledger, cph(4, 20)) == timedelta(days=2)


def test_times_up_to_an_instant_inside_the_ledger() -> None:
    ledger = sample()
    assert net_processing_time(ledger, cph(3, 9, 15)) == timedelta(hours=6)
    assert net_processing_time(ledger, cph(3, 11)) == timedelta(days=1)
    assert waiting_time(ledger, cph(3, 11)) == timedelta(days=1)
    assert net_processing_time(ledger, cph(3, 13)) == timedelta(days=2)
    assert waiting_time(ledger, cph(3, 13)) == timedelta(days=2)


def test_zero_before_the_clock_starts() -> None:
    assert net_processing_time([], cph(3, 9)) == timedelta(0)
    assert waiting_time([], cph(3, 9)) == timedelta(0)
    ledger = sample()
    assert net_processing_time(ledger, cph(3, 8)) == timedelta(0)
    assert waiting_time(ledger, cph(3, 8)) == timedelta(0)


def test_exact_to_the_microsecond() -> None:
    t0 = datetime(2026, 3, 9, 9, 0, 0, 123456, tzinfo=COPENHAGEN)
    ledger = start([], t0, "fuldt oplyst")
    ledger = stop(ledger, t0 + timedelta(microseconds=7), "waiting")
    until = t0 + timedelta(microseconds=10)
    assert net_processing_time(ledger, until) == timedelta(microseconds=7)
    assert waiting_time(ledger, until) == timedelta(microseconds=3)


def test_summer_time_change_counts_real_elapsed_time() -> None:
    # Clocks go forward on Sun 29 Mar 2026: noon Sat to noon Mon is 47 hours.
    ledger = start([], cph(3, 28, 12), "fuldt oplyst")
    assert net_processing_time(ledger, cph(3, 30, 12)) == timedelta(hours=47)


def test_mixed_time_zones() -> None:
    ledger = start([], cph(3, 9, 10), "fuldt oplyst")  # 09:00 UTC
    assert net_processing_time(ledger, datetime(2026, 3, 9, 12, tzinfo=UTC)) == timedelta(hours=3)


def test_figures_of_a_decided_case() -> None:
    received = cph(3, 2, 10)  # Monday
    fig = figures(sample(), received, cph(3, 20), date(2026, 3, 20), cph(3, 20))
    # Tue 3 - Fri 6 (4) + 9-13 Mar (5) + 16-20 Mar (5) = 14 working days.
    assert fig.gross_working_days == 14
    assert fig.net_processing_days == 9.0
    assert fig.waiting_days == 2.0
    assert fig.decided_on_or_before_agreed_date is True


def test_figures_late_decision_and_closing_days() -> None:
    fig = figures(
        sample(), cph(3, 2, 10), cph(3, 20), date(2026, 3, 19), cph(3, 20), [date(2026, 3, 16)]
    )
    assert fig.gross_working_days == 13
    assert fig.decided_on_or_before_agreed_date is False


def test_figures_use_the_copenhagen_date_of_the_decision() -> None:
    # 23:30 UTC on 19 Mar is 00:30 on 20 Mar in Copenhagen: after an agreed date of 19 Mar.
    decided = datetime(2026, 3, 19, 23, 30, tzinfo=UTC)
    ledger = start([], cph(3, 9), "fuldt oplyst")
    fig = figures(ledger, cph(3, 2), decided, date(2026, 3, 19), decided)
    assert fig.decided_on_or_before_agreed_date is False


def test_figures_round_to_two_decimals() -> None:
    ledger = start([], cph(3, 9), "fuldt oplyst")
    ledger = stop(ledger, cph(3, 9, 17), "waiting")  # 8 hours running
    ledger = restart(ledger, cph(3, 10, 1), "material")  # 8 hours waiting
    ledger = end(ledger, cph(3, 10, 5), "decision")  # 4 more hours running
    fig = figures(ledger, cph(3, 2), cph(3, 10, 5), None, cph(3, 10, 5))
    assert fig.net_processing_days == 0.5
    assert fig.waiting_days == 0.33
    assert fig.decided_on_or_before_agreed_date is None


def test_figures_measure_to_the_decision_not_the_closing() -> None:
    ledger = start([], cph(3, 9), "fuldt oplyst")
    fig = figures(ledger, cph(3, 2), cph(3, 25), date(2026, 3, 20), cph(3, 12))
    assert fig.net_processing_days == 3.0
    # Gross counts to the decision as net does: Mon 2 - Thu 12 Mar, 10 calendar days,
    # 8 working days (3-6 and 9-12 March).
    assert fig.gross_days == 10.0
    assert fig.gross_working_days == 8


def test_net_never_exceeds_gross_both_in_calendar_days() -> None:
    """The finding: net 31 (calendar) > gross 19 (working). Both are calendar days now."""
    ledger = start([], cph(4, 1), "fuldt oplyst")
    fig = figures(ledger, cph(4, 1), cph(5, 2), None, cph(5, 2))
    assert fig.net_processing_days == fig.gross_days == 31.0
    assert fig.gross_working_days < fig.gross_days


def test_figures_without_a_started_clock() -> None:
    fig = figures([], cph(3, 2), cph(3, 6), date(2026, 3, 20), None)
    assert fig.net_processing_days is None
    assert fig.waiting_days == 0.0
    assert fig.gross_working_days == 4
    assert fig.decided_on_or_before_agreed_date is None

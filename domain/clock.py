"""The clock ledger: KL's processing clock as an append-only list of entries.

The clock starts when the case is complete ("fuldt oplyst"), stops while the municipality waits
for the applicant, restarts when the material comes, and ends at the decision or closing. Net
processing time is the running time; waiting time is the stopped time. Durations are exact
elapsed time (computed in UTC, so a summer-time change does not add or lose an hour).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from domain import calendar, deadlines
from schemas.life import ClockEntry, ClockEvent, Figures

_ZERO = timedelta(0)
_RUNNING = (ClockEvent.started, ClockEvent.restarted)


def _state(ledger: list[ClockEntry]) -> ClockEvent | None:
    return ledger[-1].event if ledger else None


def _append(
    ledger: list[ClockEntry], at: datetime, event: ClockEvent, reason: str
) -> list[ClockEntry]:
    if ledger and at < ledger[-1].at:
        raise ValueError(
            f"cannot record the clock {event.value} at {at.isoformat()}: "
            f"it is before the last entry ({ledger[-1].event.value} at {ledger[-1].at.isoformat()})"
        )
    return [*ledger, ClockEntry(at=at, event=event, reason=reason)]


def _not_ended(ledger: list[ClockEntry], action: str) -> None:
    if _state(ledger) == ClockEvent.ended:
        raise ValueError(f"cannot {action} the clock: it has ended")


def start(ledger: list[ClockEntry], at: datetime, reason: str) -> list[ClockEntry]:
    """Start the clock (the case is complete). Only once."""
    _not_ended(ledger, "start")
    if ledger:
        raise ValueError("cannot start the clock: it has already started")
    return _append(ledger, at, ClockEvent.started, reason)


def stop(ledger: list[ClockEntry], at: datetime, reason: str) -> list[ClockEntry]:
    """Stop the running clock (waiting for the applicant)."""
    _not_ended(ledger, "stop")
    if not is_running(ledger):
        raise ValueError(
            "cannot stop the clock: it is not running"
            + (" (already stopped)" if ledger else " (not started)")
        )
    return _append(ledger, at, ClockEvent.stopped, reason)


def restart(ledger: list[ClockEntry], at: datetime, reason: str) -> list[ClockEntry]:
    """Restart a stopped clock."""
    _not_ended(ledger, "restart")
    if _state(ledger) != ClockEvent.stopped:
        raise ValueError(
            "cannot restart the clock: it is not stopped"
            + (" (it is running)" if ledger else " (not started)")
        )
    return _append(ledger, at, ClockEvent.restarted, reason)


def end(ledger: list[ClockEntry], at: datetime, reason: str) -> list[ClockEntry]:
    """End a started clock (running or stopped): decision or closing."""
    _not_ended(ledger, "end")
    if not ledger:
        raise ValueError("cannot end the clock: it has not started")
    return _append(ledger, at, ClockEvent.ended, reason)


def is_running(ledger: list[ClockEntry]) -> bool:
    return _state(ledger) in _RUNNING


def started_at(ledger: list[ClockEntry]) -> datetime | None:
    """When the clock first started, or None."""
    return next((e.at for e in ledger if e.event == ClockEvent.started), None)


def _totals(ledger: list[ClockEntry], until: datetime) -> tuple[timedelta, timedelta]:
    """(running, stopped) time up to ``until`` or the end entry, whichever is earlier."""
    limit = until.astimezone(UTC)
    running = stopped = _ZERO
    state: ClockEvent | None = None
    since = limit
    for entry in ledger:
        at = entry.at.astimezone(UTC)
        if at > limit:
            break
        if state in _RUNNING:
            running += at - since
        elif state == ClockEvent.stopped:
            stopped += at - since
        state, since = entry.event, at
    if state in _RUNNING:
        running += limit - since
    elif state == ClockEvent.stopped:
        stopped += limit - since
    return running, stopped


def net_processing_time(ledger: list[ClockEntry], until: datetime) -> timedelta:
    """Running time from the first start to ``until`` (or the end), stopped time deducted."""
    return _totals(ledger, until)[0]


def waiting_time(ledger: list[ClockEntry], until: datetime) -> timedelta:
    """Time the clock stood stopped after the first start, up to ``until`` (or the end)."""
    return _totals(ledger, until)[1]


def _days(delta: timedelta) -> float:
    return round(delta.total_seconds() / 86400, 2)


def figures(
    ledger: list[ClockEntry],
    received_at: datetime,
    closed_at: datetime,
    agreed_date: date | None,
    decided_at: datetime | None,
    closing_days: Iterable[date] = (),
) -> Figures:
    """Processing time on both clocks, recorded at closing.

    Both are counted in calendar days, as KL and the national statistics count them, up to the
    decision (or the closing, when there was none): gross from receipt, net (KL's clock) from
    "fuldt oplyst" with the waiting for the company deducted, so net never exceeds gross.
    Working days from receipt are given beside them.
    """
    until = decided_at or closed_at
    started = started_at(ledger) is not None
    met = None
    if decided_at is not None:
        met = deadlines.decided_on_time(calendar.local_date(decided_at), agreed_date)
    net = _days(net_processing_time(ledger, until)) if started else None
    gross = max(_days(until - received_at), 0.0)
    return Figures(
        gross_working_days=calendar.working_days_between(received_at, until, closing_days),
        net_processing_days=min(net, gross) if net is not None else None,
        gross_days=gross,
        waiting_days=_days(waiting_time(ledger, until)),
        decided_on_or_before_agreed_date=met,
    )

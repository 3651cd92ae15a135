"""The case's own dates and instants, as pure rules (the workflow only waits for them).

- The working day before a day ends the reminders (contact, reviews): the end of that day.
- A pre-dialogue is reminded of at 09:00 the working day before the meeting.
- A company that does not deliver material is warned (varsel) after a configured number of
  working days of waiting, and the case is dismissed a configured number of working days later.
- A decision is on time when it is made on or before the agreed date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time

from domain import calendar

PRE_DIALOGUE_REMINDER_TIME = time(9, 0)


def reminder_before(day: date, closing_days: Iterable[date] = ()) -> datetime:
    """The end of the working day before *day* (a reminder's instant)."""
    return calendar.end_of_day(calendar.add_working_days(day, -1, closing_days))


def pre_dialogue_reminder_at(meeting_at: datetime, closing_days: Iterable[date] = ()) -> datetime:
    """09:00 Copenhagen time on the working day before the meeting."""
    day = calendar.add_working_days(calendar.local_date(meeting_at), -1, closing_days)
    return datetime.combine(day, PRE_DIALOGUE_REMINDER_TIME, tzinfo=calendar.COPENHAGEN)


def dismissal_warning_on(
    waiting_since: datetime, working_days: int, closing_days: Iterable[date] = ()
) -> date:
    """The day the warning goes out (at its end): *working_days* after waiting began."""
    return calendar.add_working_days(calendar.local_date(waiting_since), working_days, closing_days)


def dismissal_on(warned_on: date, working_days: int, closing_days: Iterable[date] = ()) -> date:
    """The day the case is dismissed (at its end) if the material still has not come."""
    return calendar.add_working_days(warned_on, working_days, closing_days)


def decided_on_time(decision_date: date, agreed_date: date | None) -> bool | None:
    """Was the decision made on or before the agreed date? None when no date was agreed."""
    return None if agreed_date is None else decision_date <= agreed_date

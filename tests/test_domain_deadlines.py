"""The case's own dates as pure rules: reminders, the pre-dialogue reminder, the dismissal
warning and dismissal, on time or not, and a department's officer."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain import calendar, deadlines, staffing
from schemas.case import Caseworker
from schemas.intake import Department

CPH = calendar.COPENHAGEN


def test_reminder_before_is_the_end_of_the_working_day_before() -> None:
    # Tuesday after Easter 2027 (Easter Monday 29 March): the working day before is Wed 24 March.
    assert deadlines.reminder_before(date(2027, 3, 30)) == calendar.end_of_day(date(2027, 3, 24))


@pytest.mark.parametrize(
    ("meeting", "reminder"),
    [
        (datetime(2027, 1, 4, 10, 0, tzinfo=CPH), datetime(2026, 12, 30, 9, 0, tzinfo=CPH)),
        (datetime(2027, 6, 7, 13, 30, tzinfo=CPH), datetime(2027, 6, 4, 9, 0, tzinfo=CPH)),
        (datetime(2027, 3, 10, 9, 0, tzinfo=CPH), datetime(2027, 3, 9, 9, 0, tzinfo=CPH)),
    ],
    ids=["after-new-year", "monday-after-constitution-weekend", "plain-wednesday"],
)
def test_pre_dialogue_reminder_at_nine_the_working_day_before(meeting, reminder) -> None:
    assert deadlines.pre_dialogue_reminder_at(meeting) == reminder


def test_dismissal_warning_and_dismissal_count_working_days_across_christmas() -> None:
    waiting_since = datetime(2027, 12, 17, 14, 0, tzinfo=CPH)  # a Friday
    warned = deadlines.dismissal_warning_on(waiting_since, 20)
    # 20 working days from Mon 20 Dec, skipping Christmas Eve, New Year's Eve and weekends
    assert warned == date(2028, 1, 18)
    assert deadlines.dismissal_on(warned, 10) == date(2028, 2, 1)
    assert (
        calendar.working_days_between(
            calendar.end_of_day(date(2027, 12, 17)), calendar.end_of_day(warned)
        )
        == 20
    )


@pytest.mark.parametrize(
    ("decided", "agreed", "on_time"),
    [
        (date(2027, 3, 1), date(2027, 3, 1), True),
        (date(2027, 3, 2), date(2027, 3, 1), False),
        (date(2027, 3, 2), None, None),
    ],
)
def test_decided_on_time(decided, agreed, on_time) -> None:
    assert deadlines.decided_on_time(decided, agreed) is on_time


def worker(id_: str, *departments: Department, active: bool = True) -> Caseworker:
    return Caseworker(
        id=id_,
        name=id_.upper(),
        email=f"{id_}@kommune.example",
        phone="99311111",
        departments=list(departments),
        active=active,
    )


def test_a_departments_officer_is_the_first_active_one_in_the_directory() -> None:
    roster = [
        worker("aaa", Department.fire, active=False),
        worker("bbb", Department.building),
        worker("ccc", Department.fire),
        worker("ddd", Department.fire),
    ]
    assert staffing.officer_for(roster, Department.fire).id == "ccc"
    assert staffing.officer_for(roster, Department.environment) is None

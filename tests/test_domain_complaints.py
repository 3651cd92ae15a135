"""Tests for complaint guidance (domain.complaints). 2026 dates checked by hand."""

from datetime import date

import pytest

from domain.complaints import (
    COMPLAINT_BODIES,
    UNCONFIRMED,
    complaint_bodies,
    complaint_deadline,
)
from schemas.intake import Department

B, E, F = Department.building, Department.environment, Department.fire


def test_one_body_per_department_four_weeks() -> None:
    assert set(COMPLAINT_BODIES) == set(Department)
    for department, body in COMPLAINT_BODIES.items():
        assert body.department == department
        assert body.weeks == 4
        assert body.body and body.how.endswith(".")


def test_bodies_named_in_the_domain() -> None:
    assert COMPLAINT_BODIES[B].body == "Nævnenes Hus, Byggeklageenheden"
    assert "Klageportalen" in COMPLAINT_BODIES[B].how
    assert "retlige spørgsmål" in COMPLAINT_BODIES[B].how
    assert COMPLAINT_BODIES[E].body == "Miljø- og Fødevareklagenævnet"
    assert "Klageportalen" in COMPLAINT_BODIES[E].how


def test_fire_body_is_marked_for_confirmation() -> None:
    assert UNCONFIRMED == {F}


def test_complaint_bodies_in_department_order() -> None:
    assert [b.department for b in complaint_bodies([F, B, E])] == [B, E, F]
    assert [b.department for b in complaint_bodies([E])] == [E]
    assert complaint_bodies([]) == []


@pytest.mark.parametrize(
    ("decided", "deadline"),
    [
        (date(2026, 3, 2), date(2026, 3, 30)),  # Mon -> Mon, a working day
        (date(2026, 3, 14), date(2026, 4, 13)),  # Sat -> Sat 11 Apr -> Mon 13 Apr
        (date(2026, 3, 6), date(2026, 4, 7)),  # Fri -> Good Friday 3 Apr -> Tue 7 Apr
        (date(2026, 11, 27), date(2026, 12, 28)),  # Fri -> Christmas Day 25 Dec -> Mon 28 Dec
        (date(2026, 11, 26), date(2026, 12, 28)),  # Thu -> Christmas Eve 24 Dec -> Mon 28 Dec
        (date(2026, 12, 3), date(2027, 1, 4)),  # Thu -> New Year's Eve 31 Dec -> Mon 4 Jan
    ],
)
def test_complaint_deadline(decided: date, deadline: date) -> None:
    assert complaint_deadline(decided) == deadline


def test_complaint_deadline_with_a_closing_day_and_other_weeks() -> None:
    assert complaint_deadline(date(2026, 3, 2), 4, [date(2026, 3, 30)]) == date(2026, 3, 31)
    assert complaint_deadline(date(2026, 3, 2), weeks=2) == date(2026, 3, 16)

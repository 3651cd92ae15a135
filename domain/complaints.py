"""Complaint guidance (klagevejledning) per department, kept as data.

A decision names the complaint body of every involved department and states the deadline as a
date: four weeks from the day the decision is announced, moved to the next working day when it
falls on a weekend, a holiday or a closing day. A municipality confirms and replaces these
texts with its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from domain.estimate import next_working_day
from schemas.intake import Department
from schemas.life import ComplaintBody

_KLAGEPORTALEN = "Klag via Klageportalen, som du finder på borger.dk, virk.dk og naevneneshus.dk."

COMPLAINT_BODIES: dict[Department, ComplaintBody] = {
    # Byggeloven: only legal questions can be appealed (planning questions go to
    # Planklagenævnet, which this table does not cover).
    Department.building: ComplaintBody(
        department=Department.building,
        body="Nævnenes Hus, Byggeklageenheden",
        how=f"{_KLAGEPORTALEN} Klagen sendes til kommunen, som videresender den til "
        "Byggeklageenheden. Der kan kun klages over retlige spørgsmål.",
        weeks=4,
    ),
    Department.environment: ComplaintBody(
        department=Department.environment,
        body="Miljø- og Fødevareklagenævnet",
        how=f"{_KLAGEPORTALEN} Klagen sendes til kommunen, som videresender den til "
        "Miljø- og Fødevareklagenævnet. Der skal betales et gebyr for at klage.",
        weeks=4,
    ),
    # TO CONFIRM BY THE MUNICIPALITY. There is no general appeals board for decisions of the
    # municipal rescue service. Several executive orders under beredskabsloven (e.g. on
    # flammable liquids and operating rules) provide that the municipal council's decisions can
    # be appealed to Beredskabsstyrelsen within 4 weeks, but the route depends on the rule the
    # decision is made under; fire-safety conditions in a building permit follow byggeloven
    # (Byggeklageenheden). Listed in UNCONFIRMED until the municipality has checked it.
    Department.fire: ComplaintBody(
        department=Department.fire,
        body="Beredskabsstyrelsen",
        how="Send klagen skriftligt til kommunen, som videresender den til "
        "Beredskabsstyrelsen sammen med sagens akter.",
        weeks=4,
    ),
}

# Departments whose complaint body above is a placeholder the municipality must confirm.
UNCONFIRMED: frozenset[Department] = frozenset({Department.fire})


def complaint_bodies(departments: Iterable[Department]) -> list[ComplaintBody]:
    """The complaint bodies of the involved departments, in department order."""
    involved = set(departments)
    return [COMPLAINT_BODIES[d] for d in Department if d in involved]


def complaint_deadline(
    decision_date: date, weeks: int = 4, closing_days: Iterable[date] = ()
) -> date:
    """``weeks`` weeks after the decision date; a closed day moves it to the next working day."""
    return next_working_day(decision_date + timedelta(weeks=weeks), closing_days)

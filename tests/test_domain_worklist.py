"""The worklist's order as a pure rule, at pinned instants (a Friday before Christmas)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain import calendar
from domain.worklist import worklist
from schemas.lists import CaseSummary

NOW = datetime(2027, 12, 23, 10, 0, tzinfo=calendar.COPENHAGEN)  # Thursday before Christmas


def case(reference: str, **changes) -> CaseSummary:
    base = {
        "reference": reference,
        "case_type": "simple_construction",
        "departments": ["building"],
        "status": "awaiting_caseworker",
        "company_cvr": "29189420",
        "company_name": "Nordjysk Stål ApS",
        "received_at": NOW - timedelta(days=3),
        "contact_deadline": calendar.end_of_day(date(2028, 1, 10)),
        "contact_breached": False,
        "contacted_at": None,
        "caseworker_id": None,
        "agreed_date": None,
        "missing_material": [],
        "late_reviews": 0,
        "closing_reason": None,
        "decided_on_time": None,
        "updated_at": NOW,
    }
    return CaseSummary.model_validate(base | changes)


def test_most_urgent_first() -> None:
    items = worklist(
        [
            case("LATER", caseworker_id="mkj", status="in_review", agreed_date=date(2028, 3, 1)),
            case("DECIDE", caseworker_id="mkj", status="awaiting_decision"),
            case("LATE", caseworker_id="mkj", status="in_review", late_reviews=1),
            # Christmas Eve is closed: the next working day after Thu 23 Dec is Mon 27 Dec.
            case("DUE", contact_deadline=calendar.end_of_day(date(2027, 12, 27))),
            case("BREACHED", contact_breached=True, status="contact_overdue"),
            case("DONE", caseworker_id="mkj", status="closed", closing_reason="decided"),
        ],
        NOW,
    )
    assert [i.reference for i in items] == ["BREACHED", "DUE", "LATE", "DECIDE", "LATER"]
    assert items[0].reason == "contact_breached" and "overskredet" in items[0].reason_text
    assert items[1].due == date(2027, 12, 27)


def test_a_contact_deadline_two_working_days_away_is_not_yet_due() -> None:
    item = worklist([case("SOON", contact_deadline=calendar.end_of_day(date(2027, 12, 28)))], NOW)
    assert item[0].reason == "in_progress"

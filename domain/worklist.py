"""The caseworkers' worklist: what is due first (a pure rule over the projection's rows).

Order: a contact deadline already breached, a contact deadline within one working day, a
department's review that is late, a decision that can be issued, then the rest by agreed date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from domain import calendar
from schemas.lists import CaseSummary, WorkItem

RANKS = {
    "contact_breached": (0, "Kontaktfristen er overskredet: tildel en sagsbehandler nu"),
    "contact_due": (1, "Kontaktfristen udløber inden for en hverdag"),
    "review_late": (2, "En faglig vurdering er forsinket"),
    "decision_due": (3, "Alle vurderinger er inde: afgørelsen kan træffes"),
    "in_progress": (4, "I gang"),
}


def reason(case: CaseSummary, now: datetime, closing_days: Iterable[date] = ()) -> str:
    """Why *case* is on the worklist now (a key of RANKS)."""
    if case.caseworker_id is None:
        if case.contact_breached or now > case.contact_deadline:
            return "contact_breached"
        tomorrow = calendar.add_working_days(calendar.local_date(now), 1, closing_days)
        if calendar.local_date(case.contact_deadline) <= tomorrow:
            return "contact_due"
    if case.late_reviews:
        return "review_late"
    if case.status == "awaiting_decision":
        return "decision_due"
    return "in_progress"


def worklist(
    cases: Iterable[CaseSummary], now: datetime, closing_days: Iterable[date] = ()
) -> list[WorkItem]:
    """The open cases as work items, most urgent first (then the earliest date that binds)."""
    closing = list(closing_days)
    items = []
    for case in cases:
        if case.closing_reason is not None or case.status == "closed":
            continue
        why = reason(case, now, closing)
        rank, text = RANKS[why]
        due = case.contact_deadline.date() if rank <= 1 else case.agreed_date
        items.append(
            WorkItem(
                reference=case.reference,
                reason=why,
                reason_text=text,
                status=case.status,
                departments=case.departments,
                caseworker_id=case.caseworker_id,
                due=due,
                rank=rank,
            )
        )
    return sorted(items, key=lambda i: (i.rank, i.due or date.max, i.reference))

"""What the desk's pages show, built from the seam's answers (no rule is decided here): the
worklist's lines in `case_api.worklist`'s order, and the case page from the live state and the
audit trail, with the forms this person may use by the API's role rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import case_api
from domain import calendar
from domain.texts import danish_date, danish_datetime
from schemas.case import CaseState, CaseStatus
from schemas.intake import Department
from schemas.lists import AuditEvent, CaseListQuery, CaseSummary
from web.api import officers
from web.desk import texts
from web.staff import Staff


def relative_day(day: date, today: date) -> str | None:
    """'i dag', 'i morgen' or 'overskredet' against Copenhagen's today, else None."""
    if day < today:
        return "overskredet"
    if day == today:
        return "i dag"
    if day == today + timedelta(days=1):
        return "i morgen"
    return None


@dataclass(frozen=True)
class WorkRow:
    reference: str
    case_type: str
    company: str
    what: str  # what is due
    when: str  # by when, in Danish ('' when there is no date yet)
    when_iso: str
    relative: str | None
    reason: str
    reason_text: str
    caseworker: str


async def worklist_rows(services, officer: Staff, now: datetime) -> list[WorkRow]:
    """The signed-in person's worklist, in the order `case_api.worklist` gives it."""
    items = await case_api.worklist(
        services.sessions, officer.person, now, services.settings.closing_days
    )
    references = [item.reference for item in items]
    summaries: dict[str, CaseSummary] = {}
    for start in range(0, len(references), 200):
        chunk = references[start : start + 200]
        page = await case_api.list_cases(
            services.sessions, CaseListQuery(references=chunk, limit=200)
        )
        summaries.update({case.reference: case for case in page.items})
    today = calendar.local_date(now)
    rows = []
    for item in items:
        case = summaries.get(item.reference)
        # A case no one has taken is due for contact (whatever its rank); the others by
        # the date the worklist gives.
        what = texts.DUE_WHAT.get(item.reason, "Sagen")
        if (item.caseworker_id is None or item.reason in texts.CONTACT) and case is not None:
            day: date | None = calendar.local_date(case.contact_deadline)
            what = texts.DUE_WHAT["contact_due"]
        else:
            day = item.due
        if item.caseworker_id is None:
            caseworker = "Ingen endnu"
        elif item.caseworker_id == officer.id:
            caseworker = f"{item.caseworker_id} (dig)"
        else:
            caseworker = item.caseworker_id
        rows.append(
            WorkRow(
                reference=item.reference,
                case_type=texts.case_type_name(case.case_type) if case else "",
                company=case.company_name if case else "",
                what=what,
                when=danish_date(day) if day else "Ingen dato endnu",
                when_iso=day.isoformat() if day else "",
                relative=relative_day(day, today) if day else None,
                reason=item.reason,
                reason_text=item.reason_text,
                caseworker=caseworker,
            )
        )
    return rows


@dataclass(frozen=True)
class ReviewRow:
    department: str
    name: str
    round: int | None
    status: str
    deadline: str
    officer: str
    text: str
    conditions: list[str]


def _review_rows(state: CaseState) -> list[ReviewRow]:
    rows = []
    for department in state.intake.departments:
        d = department.value
        round_ = state.review_rounds.get(d)
        result = state.reviews.get(d)
        deadline = state.review_deadlines.get(d)
        if result is not None:
            status = f"Afgivet: {texts.outcome_name(result.outcome.value)}"
            if result.late:
                status += " (efter fristen)"
        elif round_ is None:
            status = "Ikke startet"
        elif f"{d}#{round_}" in state.failed_reviews:
            status = "Fejlet eller stoppet"
        elif f"{d}#{round_}" in state.late_reviews:
            status = "Åben, fristen er overskredet"
        else:
            status = "Åben"
        rows.append(
            ReviewRow(
                department=d,
                name=texts.department_name(d),
                round=round_,
                status=status,
                deadline=danish_datetime(deadline) if deadline and result is None else "",
                officer=result.officer_id if result else "",
                text=result.text if result else "",
                conditions=list(result.conditions) if result else [],
            )
        )
    return rows


def open_reviews(state: CaseState) -> list[Department]:
    """The departments whose review is open now (running, not submitted, not failed)."""
    found = []
    for department in state.intake.departments:
        d = department.value
        round_ = state.review_rounds.get(d)
        if (
            round_ is not None
            and d not in state.reviews
            and f"{d}#{round_}" not in state.failed_reviews
            and state.running_reviews.get(d, round_) == round_
        ):
            found.append(department)
    return found


def failed_reviews(state: CaseState) -> list[Department]:
    return [
        department
        for department in state.intake.departments
        if f"{department.value}#{state.review_rounds.get(department.value)}" in state.failed_reviews
    ]


def _meetings(state: CaseState) -> list[dict]:
    rows = []
    for meeting in state.pre_dialogues:
        if meeting.cancelled:
            status = "Aflyst"
        elif meeting.held:
            status = "Holdt"
        elif meeting.at is not None:
            status = "Booket"
        else:
            status = "Ønsket af virksomheden"
        rows.append(
            {
                "topic": meeting.topic.value,
                "name": texts.TOPIC_LABELS.get(meeting.topic.value, meeting.topic.value),
                "status": status,
                "at": danish_datetime(meeting.at) if meeting.at else "",
                "where": meeting.place or meeting.video_link or "",
                "booked": meeting.at is not None and not meeting.held and not meeting.cancelled,
            }
        )
    return rows


def _events(events: list[AuditEvent]) -> list[dict]:
    return [
        {
            "seq": e.seq,
            "at": danish_datetime(e.at),
            "name": texts.EVENT_NAMES.get(e.kind, e.kind),
            "kind": e.kind,
            "data": ", ".join(f"{k}: {v}" for k, v in e.data.items() if v is not None),
        }
        for e in events
    ]


def permitted(officer: Staff, state: CaseState) -> dict:
    """The forms this person may use now: the API's role rules (web/api/officers.py), shown
    only where the case's phase makes them useful (the case still decides)."""
    closing = state.closing is not None or state.status == CaseStatus.closed
    coordinator = officers.is_coordinator(officer, state)
    open_now = [] if closing else open_reviews(state)
    return {
        "closing": closing,
        "coordinator": coordinator,
        "take": not closing and state.caseworker is None,
        "handover": not closing
        and state.caseworker is not None
        and officers.may_hand_over(officer, state),
        "book": not closing and coordinator,
        "meetings": not closing and coordinator,
        "review": [d for d in open_now if officers.may_review_for(officer, d)],
        "more_time": [d for d in open_now if officers.may_ask_more_time(officer, state, d)],
        "restart": []
        if closing
        else [d for d in failed_reviews(state) if officers.may_restart_review(officer, state)],
        "decision": not closing and coordinator and state.status == CaseStatus.awaiting_decision,
        "dismiss": not closing and coordinator and state.dismissal_warning_sent,
    }


def case_view(state: CaseState, events: list[AuditEvent], officer: Staff) -> dict:
    """The case page's content."""
    intake = state.intake
    received = set(state.received_material)
    return {
        "state": state,
        "reference": intake.reference,
        "case_type": texts.case_type_name(intake.case_type.value),
        "departments": ", ".join(texts.department_name(d.value) for d in intake.departments),
        "status": texts.status_name(state.status.value),
        "received_at": danish_datetime(intake.received_at),
        "contact_deadline": danish_datetime(state.contact_deadline),
        "contacted_at": danish_datetime(state.contacted_at) if state.contacted_at else "",
        "agreed_date": danish_date(state.agreed_date) if state.agreed_date else "",
        "date_changes": [
            {
                "at": danish_datetime(c.at),
                "old": danish_date(c.old) if c.old else "ingen",
                "new": danish_date(c.new),
                "reason": c.reason,
            }
            for c in state.date_changes
        ],
        "material": [
            {
                "code": line.code,
                "title": line.title,
                "department": texts.department_name(line.department.value),
                "received": line.code in received,
            }
            for line in state.required_material
        ],
        "reviews": _review_rows(state),
        "meetings": _meetings(state),
        "events": _events(events),
        "may": permitted(officer, state),
        "department_names": {d.value: texts.department_name(d.value) for d in Department},
        "outcomes": texts.OUTCOME_LABELS,
        "topics": texts.TOPIC_LABELS,
        "decision_date": danish_date(state.decision_date) if state.decision_date else "",
        "complaint_deadline": (
            danish_date(state.complaint_deadline) if state.complaint_deadline else ""
        ),
    }

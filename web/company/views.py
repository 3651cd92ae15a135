"""What the company's case page shows, built from the case's live state (pure: no I/O).

The timeline: received -> contacted (the process-responsible caseworker) -> "fuldt oplyst"
-> the departments' reviews -> the decision, each with its date when it happened and what
comes next; the agreed date with every change and its reason; the material per department;
meetings; which actions the case allows now (`domain.phases`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from domain.calendar import local_date
from domain.phases import ALLOWED, Action
from domain.reasons import as_sentences
from domain.texts import (
    CASE_TYPE_NAMES,
    CLOSING_REASON_NAMES,
    DEPARTMENT_NAMES,
    OUTCOME_NAMES,
    TOPIC_NAMES,
    danish_date,
    danish_datetime,
    department_list,
    plural,
)
from schemas.case import CaseState, CaseStatus
from schemas.intake import Department
from schemas.life import ClosingReason, MaterialLine
from schemas.lists import MaterialFileInfo, SentLetter


def first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Step:
    title: str
    done: bool
    current: bool
    when: str  # a Danish date, or what is expected
    detail: str = ""


@dataclass(frozen=True)
class MaterialItem:
    code: str
    title: str
    received: bool
    files: list[MaterialFileInfo]


@dataclass(frozen=True)
class DepartmentMaterial:
    name: str
    items: list[MaterialItem]

    @property
    def missing(self) -> int:
        return sum(not i.received for i in self.items)


@dataclass(frozen=True)
class Meeting:
    title: str
    status: str
    when: str
    where: str


@dataclass(frozen=True)
class DateChangeView:
    at: str
    old: str
    new: str
    reason: str


@dataclass
class CasePage:
    reference: str
    title: str
    departments: str
    received: str
    closed: bool
    closing_text: str
    steps: list[Step]
    next_text: str
    caseworker: object | None
    contact_deadline: str
    agreed_date: str
    date_changes: list[DateChangeView]
    material: list[DepartmentMaterial]
    missing: list[MaterialLine]
    meetings: list[Meeting]
    letters: list[tuple[str, str]]
    level: int
    nbe_open: bool
    nbe_answer: str
    allowed: set[str] = field(default_factory=set)


def allowed_actions(state: CaseState) -> set[str]:
    """The company's actions the case takes now (none once it is closing)."""
    if state.closing is not None or state.status == CaseStatus.closed:
        return set()
    company = {
        "material": Action.report_material,
        "project_change": Action.report_project_change,
        "pre_dialogue": Action.request_pre_dialogue,
        "level": Action.change_sustainability_level,
        "nbe": Action.answer_nbe_offer,
        "withdraw": Action.withdraw,
    }
    out = {name for name, action in company.items() if state.status in ALLOWED[action]}
    if not (state.nbe_offer_sent and state.nbe_accepted is None):
        out.discard("nbe")
    if not missing_lines(state):
        out.discard("material")
    return out


def missing_lines(state: CaseState) -> list[MaterialLine]:
    received = set(state.received_material)
    return [m for m in state.required_material if m.code not in received]


def _reviews_step(state: CaseState) -> Step:
    departments = [Department(d) for d in state.review_rounds] or list(state.intake.departments)
    done = [d for d in departments if d.value in state.reviews]
    parts = []
    for d in departments:
        review = state.reviews.get(d.value)
        if review is not None:
            parts.append(
                f"{first_upper(DEPARTMENT_NAMES[d])}: {OUTCOME_NAMES[review.outcome]} "
                f"({danish_date(review.submitted_at)})"
            )
        else:
            parts.append(f"{first_upper(DEPARTMENT_NAMES[d])}: i gang")
    all_done = bool(departments) and len(done) == len(departments)
    running = state.status == CaseStatus.in_review
    when = "Færdig" if all_done else ("I gang" if running else "Starter, når sagen er fuldt oplyst")
    detail = "; ".join(parts) if (running or all_done) else ""
    return Step("Fagområderne vurderer projektet", all_done, running, when, detail)


def timeline(state: CaseState) -> list[Step]:
    status = state.status
    closed = state.closing_reason is not None or status == CaseStatus.closed
    contacted = state.contacted_at is not None
    complete = state.complete_at is not None and not missing_lines(state)
    steps = [
        Step(
            "Vi har modtaget jeres sag",
            True,
            False,
            danish_datetime(state.intake.received_at),
        ),
        Step(
            "I får jeres procesansvarlige sagsbehandler",
            contacted,
            not contacted and not closed,
            danish_date(state.contacted_at)
            if contacted
            else f"Senest {danish_date(state.contact_deadline)}",
            state.caseworker.name if state.caseworker else "",
        ),
        Step(
            "Sagen er fuldt oplyst",
            complete,
            contacted and not complete and not closed,
            danish_date(state.complete_at)
            if complete
            else (
                "Når vi har alt materialet – der mangler "
                + plural(len(missing_lines(state)), "dokument", "dokumenter")
            ),
        ),
        _reviews_step(state),
    ]
    decided = state.decided_at is not None
    if closed and not decided:
        reason = state.closing_reason or state.closing or ClosingReason.withdrawn
        steps.append(
            Step(
                "Sagen er lukket",
                True,
                True,
                danish_date(state.closed_at) if state.closed_at else "",
                first_upper(CLOSING_REASON_NAMES[reason]),
            )
        )
    else:
        expected = (
            f"Forventet senest {danish_date(state.agreed_date)}"
            if state.agreed_date
            else "Datoen får I, når sagsbehandleren har kontaktet jer"
        )
        steps.append(
            Step(
                "I får én samlet afgørelse",
                decided,
                status == CaseStatus.awaiting_decision,
                danish_date(state.decided_at) if decided else expected,
            )
        )
    if closed:  # nothing is "current" on a closed case but its last step
        steps = [Step(s.title, s.done, s is steps[-1], s.when, s.detail) for s in steps]
    return steps


def next_text(state: CaseState) -> str:
    status = state.status
    if state.closing is not None or status == CaseStatus.closed:
        if state.decided_at is not None:
            return (
                "Sagen er afgjort. I har fået afgørelsen med klagevejledning i et brev. "
                "Vi sender jer også en kort spørgeskemaundersøgelse om, hvordan I har oplevet "
                "sagsbehandlingen."
            )
        return "Sagen er lukket. I har fået et brev om det."
    if status in (CaseStatus.awaiting_caseworker, CaseStatus.contact_overdue):
        return (
            f"Senest {danish_date(state.contact_deadline)} kontakter vi jer og fortæller, hvem "
            "der er jeres procesansvarlige sagsbehandler, hvad der eventuelt mangler, og "
            "hvornår I kan forvente en afgørelse. I kan allerede nu sende materiale her."
        )
    missing = missing_lines(state)
    if missing:
        return (
            "Vi venter på materiale fra jer: der mangler "
            + plural(len(missing), "dokument", "dokumenter")
            + ". Når vi har det hele, er sagen fuldt oplyst, og fagområderne går i gang."
        )
    if status == CaseStatus.in_review:
        return (
            f"Fagområderne ({department_list(list(state.intake.departments))}) vurderer "
            "projektet. Jeres sagsbehandler samler svarene til én afgørelse."
        )
    if status == CaseStatus.awaiting_decision:
        return "Alle fagområder er færdige. Jeres sagsbehandler skriver nu den samlede afgørelse."
    return "Jeres sagsbehandler arbejder på sagen."


def _meetings(state: CaseState) -> list[Meeting]:
    out = []
    for m in state.pre_dialogues:
        if m.cancelled:
            status = "Aflyst"
        elif m.held:
            status = "Holdt"
        elif m.at is not None:
            status = "Aftalt"
        else:
            status = "I har bedt om et møde; sagsbehandleren kontakter jer"
        out.append(
            Meeting(
                first_upper(TOPIC_NAMES[m.topic]),
                status,
                danish_datetime(m.at) if m.at else "",
                m.place or (m.video_link or ""),
            )
        )
    return out


def _material(state: CaseState, files: list[MaterialFileInfo]) -> list[DepartmentMaterial]:
    received = set(state.received_material)
    out = []
    for d in Department:
        lines = [m for m in state.required_material if m.department == d]
        if not lines:
            continue
        items = [
            MaterialItem(
                m.code,
                m.title,
                m.code in received,
                [f for f in files if f.material_code == m.code],
            )
            for m in lines
        ]
        out.append(DepartmentMaterial(first_upper(DEPARTMENT_NAMES[d]), items))
    return out


def _day(value: date | datetime | None) -> str:
    return danish_date(value) if value is not None else ""


def case_page(
    state: CaseState, letters: list[SentLetter], files: list[MaterialFileInfo]
) -> CasePage:
    intake = state.intake
    closed = state.closing is not None or state.status == CaseStatus.closed
    reason = state.closing_reason or state.closing
    nbe = "" if state.nbe_accepted is None else ("ja tak" if state.nbe_accepted else "nej tak")
    return CasePage(
        reference=intake.reference,
        title=first_upper(CASE_TYPE_NAMES[intake.case_type]),
        departments=first_upper(department_list(list(intake.departments))),
        received=danish_datetime(intake.received_at),
        closed=closed,
        closing_text=first_upper(CLOSING_REASON_NAMES[reason]) if reason else "",
        steps=timeline(state),
        next_text=next_text(state),
        caseworker=state.caseworker,
        contact_deadline=danish_date(state.contact_deadline),
        agreed_date=_day(state.agreed_date),
        date_changes=[
            DateChangeView(
                danish_date(c.at), _day(c.old), danish_date(c.new), as_sentences(c.reason)
            )
            for c in state.date_changes
        ],
        material=_material(state, files),
        missing=missing_lines(state),
        meetings=_meetings(state),
        letters=[
            (letter.subject, danish_date(letter.sent_at) if letter.sent_at else "Sendes snart")
            for letter in reversed(letters)
        ],
        level=state.sustainability_level,
        nbe_open=state.nbe_offer_sent and state.nbe_accepted is None,
        nbe_answer=nbe,
        allowed=allowed_actions(state),
    )


def personal_data_text(
    erase_on: date | None, erased_at: datetime | None, retention_months: int
) -> str:
    """What the page says about the company's personal data: kept for a while after the case
    closes (open), the day it goes (closed), or the day it went (erased)."""
    if erased_at is not None:
        day = danish_date(local_date(erased_at))
        return (
            f"Jeres personoplysninger i sagen blev slettet {day}. "
            "Sagens forløb og de anonyme tal er gemt."
        )
    if erase_on is not None:
        day = danish_date(erase_on)
        return f"Vi sletter jeres kontaktoplysninger og jeres egne tekster {day}."
    return (
        "Når sagen er afsluttet, gemmer vi jeres kontaktoplysninger og jeres egne tekster i "
        f"{plural(retention_months, 'måned', 'måneder')}. Derefter slettes de. Tallene i vores "
        "statistik er anonyme og bliver stående."
    )


def size_text(n: int) -> str:
    """A file size in Danish: '512 byte', '48 kB', '2,4 MB'."""
    if n < 1024:
        return f"{n} byte"
    if n < 1024 * 1024:
        return f"{round(n / 1024)} kB"
    return f"{n / (1024 * 1024):.1f} MB".replace(".", ",")

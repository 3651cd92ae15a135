"""Render letters from the Jinja2 templates in mail/templates (Danish text)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from domain.guidance import guidance_for
from domain.reasons import as_sentences
from domain.texts import (
    CASE_TYPE_NAMES,
    CLOSING_REASON_NAMES,
    DEPARTMENT_NAMES,
    OUTCOME_NAMES,
    TOPIC_NAMES,
    TOPIC_NAMES_DEFINITE,
    danish_date,
    danish_datetime,
    department_list,
    estimate_basis,
    estimate_source,
    noun,
    plural,
    to_company,
    wished_date_used,
)
from schemas.intake import Department
from schemas.letters import LetterFacts, LetterKind
from schemas.life import ComplaintBody, MaterialLine, ReviewResult

TEMPLATES = Path(__file__).resolve().parent / "templates"
SUBJECT_PREFIX = "Emne: "

# The facts a letter kind cannot be written without (a falsy value counts as missing).
REQUIRED_FACTS: dict[LetterKind, tuple[str, ...]] = {
    LetterKind.date_changed: ("agreed_date",),
    LetterKind.pre_dialogue_booked: ("pre_dialogue",),
    LetterKind.pre_dialogue_reminder: ("pre_dialogue",),
    LetterKind.pre_dialogue_cancelled: ("pre_dialogue",),
    LetterKind.review_reminder: ("department", "review_deadline"),
    LetterKind.review_escalation: ("department", "review_deadline"),
    LetterKind.review_failed: ("department",),
    LetterKind.decision: (
        "reviews",
        "decision_date",
        "grounds",
        "complaint_bodies",
        "complaint_deadline",
    ),
    LetterKind.dismissal_warning: ("dismissal_date", "missing_material"),
    LetterKind.closed_notice: ("closing_reason",),
    LetterKind.survey: ("survey_url",),
    LetterKind.survey_reminder: ("survey_url",),
}


# The letters to the company that carry the link to its own case page (web/company): every
# letter the company gets while the case runs; not the survey (it has its own link).
COMPANY_PAGE_LETTERS: frozenset[LetterKind] = frozenset(
    {
        LetterKind.receipt,
        LetterKind.contact_letter,
        LetterKind.reassignment,
        LetterKind.material_status,
        LetterKind.date_changed,
        LetterKind.pre_dialogue_booked,
        LetterKind.pre_dialogue_reminder,
        LetterKind.pre_dialogue_cancelled,
        LetterKind.nbe_offer,
        LetterKind.decision,
        LetterKind.dismissal_warning,
        LetterKind.closed_notice,
    }
)


class MissingLetterFacts(ValueError):
    """The facts lack what the letter kind needs: a bug in the caller, not a transient error."""


class ComplaintGroup(NamedTuple):
    """One complaint body and the departments whose part of the decision goes to it."""

    body: str
    how: str
    weeks: int
    departments: list[Department]


def complaint_groups(bodies: list[ComplaintBody]) -> list[ComplaintGroup]:
    """The complaint bodies, each named once (in order of first mention) with its departments."""
    groups: dict[str, ComplaintGroup] = {}
    for b in bodies:
        seen = groups.get(b.body)
        if seen is None:
            groups[b.body] = ComplaintGroup(b.body, b.how, b.weeks, [b.department])
            continue
        departments = seen.departments
        if b.department not in departments:
            departments = [*departments, b.department]
        groups[b.body] = seen._replace(weeks=min(seen.weeks, b.weeks), departments=departments)
    return list(groups.values())


def latest_reviews(reviews: list[ReviewResult]) -> list[ReviewResult]:
    """Each department's review of the latest round, in department order."""
    latest: dict[Department, ReviewResult] = {}
    for r in reviews:
        if r.department not in latest or r.round >= latest[r.department].round:
            latest[r.department] = r
    return [latest[d] for d in Department if d in latest]


def by_department(lines: list[MaterialLine]) -> list[tuple[Department, list[MaterialLine]]]:
    """Material lines grouped by department, in department order (each line's order kept)."""
    return [
        (d, [m for m in lines if m.department == d])
        for d in Department
        if any(m.department == d for m in lines)
    ]


def wished_date(facts: LetterFacts) -> date | None:
    """The company's wished decision date: from the intake, else from the estimate."""
    if facts.wished_decision_date is not None:
        return facts.wished_decision_date
    return facts.estimate.wished_date if facts.estimate else None


def _meets_wish(day: date | None, facts: LetterFacts) -> bool | None:
    """Whether *day* as the agreed date meets the company's wished date (None: no wish or
    no date). It does when it is on or before the wish, or when it is the estimate's date set
    from the wish (a wish on a closed day moves to the next working day)."""
    wished = wished_date(facts)
    if wished is None or day is None:
        return None
    if day <= wished:
        return True
    e = facts.estimate
    return bool(e and wished_date_used(e) and e.decision_date == day)


def wished_date_met(facts: LetterFacts) -> bool | None:
    """Whether the agreed date meets the company's wished date (None: no wish or no date)."""
    return _meets_wish(facts.agreed_date, facts)


def wish_was_met(facts: LetterFacts) -> bool | None:
    """Whether the agreed date before this change met the wished date (date-change letters)."""
    return _meets_wish(facts.previous_agreed_date, facts)


def is_closed(facts: LetterFacts) -> bool:
    """The case is decided or closed: no letter may promise a future decision."""
    return facts.closing_reason is not None or facts.decision_date is not None


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # plain-text letters
    )
    env.filters.update(
        danish_date=danish_date,
        danish_datetime=danish_datetime,
        departments=department_list,
        department=DEPARTMENT_NAMES.__getitem__,
        case_type=CASE_TYPE_NAMES.__getitem__,
        outcome=OUTCOME_NAMES.__getitem__,
        topic=TOPIC_NAMES.__getitem__,
        topic_definite=TOPIC_NAMES_DEFINITE.__getitem__,
        closing_reason=CLOSING_REASON_NAMES.__getitem__,
        estimate_basis=estimate_basis,
        estimate_source=estimate_source,
        plural=plural,
        noun=noun,
        to_company=to_company,
        wished_date_used=wished_date_used,
        reason=as_sentences,
        by_department=by_department,
        complaint_groups=complaint_groups,
        latest_reviews=latest_reviews,
    )
    return env


def render_letter(
    kind: LetterKind,
    facts: LetterFacts,
    public_base_url: str | None = None,
    case_page_url: str | None = None,
    case_page_days: int | None = None,
) -> tuple[str, str]:
    """Return (subject, body) of the letter *kind* about the case in *facts*; with the
    entry's *public_base_url*, the guidance links lead to its own guidance pages; with
    *case_page_url* (a letter to the company, see `COMPANY_PAGE_LETTERS`), the letter links
    the company's own case page, valid for *case_page_days*."""
    missing = [name for name in REQUIRED_FACTS.get(kind, ()) if not getattr(facts, name)]
    if missing:
        raise MissingLetterFacts(f"letter {kind.value} needs {', '.join(missing)}")
    text = (
        environment()
        .get_template(f"{kind.value}.txt.j2")
        .render(
            f=facts,
            guidance=guidance_for(facts.departments, facts.case_type, public_base_url),
            closed=is_closed(facts),
            wished=wished_date(facts),
            wish_met=wished_date_met(facts),
            wish_was_met=wish_was_met(facts),
            case_page_url=case_page_url if kind in COMPANY_PAGE_LETTERS else None,
            case_page_days=case_page_days,
        )
    )
    first, _, body = text.partition("\n\n")
    if not first.startswith(SUBJECT_PREFIX):
        raise ValueError(f"template {kind.value} must start with '{SUBJECT_PREFIX}...'")
    return first.removeprefix(SUBJECT_PREFIX).strip(), body.strip() + "\n"

"""Render letters from the Jinja2 templates in mail/templates (Danish text)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from domain.guidance import guidance_for
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
)
from schemas.intake import Department
from schemas.letters import LetterFacts, LetterKind
from schemas.life import ComplaintBody, ReviewResult

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
}


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
        complaint_groups=complaint_groups,
        latest_reviews=latest_reviews,
    )
    return env


def render_letter(kind: LetterKind, facts: LetterFacts) -> tuple[str, str]:
    """Return (subject, body) of the letter *kind* about the case in *facts*."""
    missing = [name for name in REQUIRED_FACTS.get(kind, ()) if not getattr(facts, name)]
    if missing:
        raise MissingLetterFacts(f"letter {kind.value} needs {', '.join(missing)}")
    text = (
        environment()
        .get_template(f"{kind.value}.txt.j2")
        .render(f=facts, guidance=guidance_for(facts.departments))
    )
    first, _, body = text.partition("\n\n")
    if not first.startswith(SUBJECT_PREFIX):
        raise ValueError(f"template {kind.value} must start with '{SUBJECT_PREFIX}...'")
    return first.removeprefix(SUBJECT_PREFIX).strip(), body.strip() + "\n"

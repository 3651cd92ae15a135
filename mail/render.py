"""Render letters from the Jinja2 templates in mail/templates (Danish text)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from domain.guidance import guidance_for
from domain.texts import CASE_TYPE_NAMES, danish_date, danish_datetime, department_list
from schemas.letters import LetterFacts, LetterKind

TEMPLATES = Path(__file__).resolve().parent / "templates"
SUBJECT_PREFIX = "Emne: "


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
        case_type=CASE_TYPE_NAMES.__getitem__,
    )
    return env


def render_letter(kind: LetterKind, facts: LetterFacts) -> tuple[str, str]:
    """Return (subject, body) of the letter *kind* about the case in *facts*."""
    text = (
        environment()
        .get_template(f"{kind.value}.txt.j2")
        .render(f=facts, guidance=guidance_for(facts.departments))
    )
    first, _, body = text.partition("\n\n")
    if not first.startswith(SUBJECT_PREFIX):
        raise ValueError(f"template {kind.value} must start with '{SUBJECT_PREFIX}...'")
    return first.removeprefix(SUBJECT_PREFIX).strip(), body.strip() + "\n"

"""The start of one department's review (a child workflow of the case)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict

from schemas.intake import Department
from schemas.letters import LetterFacts

STRICT = ConfigDict(strict=True, extra="forbid")


class ReviewInput(BaseModel):
    model_config = STRICT

    case_id: str
    department: Department
    round: int
    officer_id: str
    officer_email: str
    coordinator_email: str
    review_deadline: AwareDatetime
    reminder_at: AwareDatetime
    facts: LetterFacts  # the case as review letters describe it


def review_workflow_id(case_id: str, department: Department, round: int) -> str:
    """Child ids derive from the case's: `case-<reference>-review-<department>-<round>`."""
    return f"{case_id}-review-{department.value}-{round}"

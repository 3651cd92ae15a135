"""Lists of cases from the projection (what the doors show), and their filters.

The rows carry no contact person: the company's name and CVR, the case's phase, dates and
caseworker id, as the `cases` table holds them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.case import CaseStatus
from schemas.fields import CaseworkerId, Reference
from schemas.intake import Department

LAX = ConfigDict(extra="forbid")  # filters arrive as query strings


class CaseListQuery(BaseModel):
    """Filters for a list of cases; every filter is optional."""

    model_config = LAX

    status: CaseStatus | None = Field(default=None, description="the case's phase")
    department: Department | None = None
    breached: bool | None = Field(default=None, description="contact deadline breached")
    agreed_from: date | None = Field(default=None, description="agreed decision date from")
    agreed_to: date | None = Field(default=None, description="agreed decision date to")
    caseworker: CaseworkerId | None = None
    company_cvr: Annotated[str, Field(pattern=r"^[1-9][0-9]{7}$")] | None = Field(
        default=None, description="only the cases of this company (CVR number)"
    )
    references: Annotated[list[Reference], Field(max_length=200)] | None = Field(
        default=None, description="only these references (at most 200)"
    )
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Annotated[str, Field(max_length=200)] | None = Field(
        default=None, description="the next_cursor of the page before"
    )


class CaseSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str
    case_type: str
    departments: list[str]
    status: str
    company_cvr: str
    company_name: str
    received_at: AwareDatetime
    contact_deadline: AwareDatetime
    contact_breached: bool
    contacted_at: AwareDatetime | None
    caseworker_id: str | None
    agreed_date: date | None
    missing_material: list[str]
    late_reviews: int
    closing_reason: str | None
    decided_on_time: bool | None
    updated_at: AwareDatetime


class CasePage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[CaseSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")


class AuditEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: int
    kind: str
    at: datetime
    data: dict[str, str | int | float | bool | None]
    # "case": the workflow's own trail (seq is its order); "web": the company's page (views
    # and actions; seq is that trail's own number)
    source: str = "case"


class MaterialFileInfo(BaseModel):
    """A file a company delivered on its case page (the content is fetched separately)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    material_code: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: AwareDatetime


class SentLetter(BaseModel):
    """A letter of the case's outbox: what it was and when it left (no recipients, no text)."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    subject: str
    created_at: AwareDatetime
    sent_at: AwareDatetime | None


class WorkItem(BaseModel):
    """One line of a caseworker's worklist: which case, why now, and by when."""

    model_config = ConfigDict(extra="forbid")

    reference: str
    reason: str  # contact_breached, contact_due, review_late, decision_due, in_progress
    reason_text: str  # the same in Danish, for the page
    status: str
    departments: list[str]
    caseworker_id: str | None
    due: date | None
    rank: int

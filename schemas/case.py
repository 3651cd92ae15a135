"""The case workflow's contract: its state, the officers' updates and their results."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from schemas.intake import CaseIntake, Department, Phone

STRICT = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True)
CaseworkerId = Annotated[
    str, Field(pattern=r"^[a-z0-9]{2,16}$", description="initials, e.g. 'mkj'")
]


class CaseStatus(StrEnum):
    awaiting_caseworker = "awaiting_caseworker"
    contact_overdue = "contact_overdue"
    caseworker_assigned = "caseworker_assigned"


class Caseworker(BaseModel):
    """A caseworker of the municipality (staff contact details, not the applicant's)."""

    model_config = STRICT

    id: CaseworkerId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: EmailStr
    phone: Phone
    departments: list[Department] = Field(default_factory=list)
    active: bool = True


class CaseSetup(BaseModel):
    """Configuration a case needs, read once by an activity at case start (so it is in history)."""

    model_config = STRICT

    caseworkers: list[Caseworker]
    closing_days: list[date] = Field(default_factory=list)
    caseworker_team_email: EmailStr
    team_lead_email: EmailStr
    municipality_name: str


class AssignCaseworker(BaseModel):
    """Officer update: make *caseworker_id* the process-responsible caseworker."""

    model_config = STRICT

    caseworker_id: str


class AssignmentResult(BaseModel):
    model_config = STRICT

    caseworker: Caseworker
    contacted_at: AwareDatetime
    within_contact_deadline: bool
    letter_key: str
    reassignment: bool


class CaseState(BaseModel):
    """Everything the case workflow knows; returned by the `state` query."""

    model_config = STRICT

    case_id: str
    intake: CaseIntake
    status: CaseStatus = CaseStatus.awaiting_caseworker
    contact_deadline: AwareDatetime
    contact_reminder_at: AwareDatetime
    caseworker: Caseworker | None = None
    contacted_at: AwareDatetime | None = None
    contact_reminder_sent: bool = False
    contact_breached: bool = False
    letters_sent: list[str] = Field(default_factory=list)
    version: int = 0

    @property
    def contact_met(self) -> bool | None:
        """Was the company contacted within the deadline? None while still waiting."""
        if self.contacted_at is None:
            return None
        return self.contacted_at <= self.contact_deadline


class CaseEvent(BaseModel):
    """One entry of a case's audit trail. (case_id, seq) is unique: writes are idempotent."""

    model_config = STRICT

    case_id: str
    seq: int
    kind: str
    at: AwareDatetime
    data: dict[str, str | int | bool | None] = Field(default_factory=dict)


class CaseProjection(BaseModel):
    """The row the `cases` table holds for a case; `version` orders concurrent writes."""

    model_config = STRICT

    case_id: str
    version: int
    reference: str
    case_type: str
    departments: list[str]
    status: str
    company_cvr: str
    company_name: str
    received_at: AwareDatetime
    contact_deadline: AwareDatetime
    caseworker_id: str | None
    contacted_at: AwareDatetime | None
    contact_breached: bool
    updated_at: AwareDatetime


def projection_of(state: CaseState, now: datetime) -> CaseProjection:
    return CaseProjection(
        case_id=state.case_id,
        version=state.version,
        reference=state.intake.reference,
        case_type=state.intake.case_type.value,
        departments=[d.value for d in state.intake.departments],
        status=state.status.value,
        company_cvr=state.intake.company.cvr,
        company_name=state.intake.company.name,
        received_at=state.intake.received_at,
        contact_deadline=state.contact_deadline,
        caseworker_id=state.caseworker.id if state.caseworker else None,
        contacted_at=state.contacted_at,
        contact_breached=state.contact_breached,
        updated_at=now,
    )

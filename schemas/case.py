"""The case workflow's contract: its state, the officers' updates and their results."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, model_validator

from schemas.fields import CaseworkerId, Reason
from schemas.intake import CaseIntake, Department, Phone
from schemas.life import (
    ClockEntry,
    ClosingReason,
    DateChange,
    Estimate,
    Figures,
    MaterialLine,
    PreDialogue,
    ReviewResult,
)

STRICT = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True)


class CaseStatus(StrEnum):
    awaiting_caseworker = "awaiting_caseworker"
    contact_overdue = "contact_overdue"
    caseworker_assigned = "caseworker_assigned"
    awaiting_material = "awaiting_material"
    in_review = "in_review"
    awaiting_decision = "awaiting_decision"
    closed = "closed"


class OfferedHours(BaseModel):
    """Weekly hours a caseworker offers for pre-dialogue meetings (booking, issue 8): ISO
    weekday (1 = Monday ... 5 = Friday) and a start and end in Copenhagen wall-clock time."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    weekday: Annotated[int, Field(ge=1, le=7)]
    start: time
    end: time

    @model_validator(mode="after")
    def _start_before_end(self) -> OfferedHours:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("give start and end as local wall-clock times, e.g. 09:00")
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class Caseworker(BaseModel):
    """A caseworker of the municipality (staff contact details, not the applicant's)."""

    model_config = STRICT

    id: CaseworkerId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: EmailStr
    phone: Phone
    departments: list[Department] = Field(default_factory=list)
    active: bool = True
    # booking (issue 8): the weekly hours offered for pre-dialogues; empty offers none
    offered_hours: list[OfferedHours] = Field(default_factory=list)


class CaseSetup(BaseModel):
    """Configuration a case needs, read once by an activity at case start (so it is in history)."""

    model_config = STRICT

    # issue 4 (defaults keep the setups recorded in earlier histories valid)
    review_working_days_before: int = 5
    dismissal_warning_working_days: int = 20
    dismissal_after_warning_working_days: int = 10
    reopen_working_days: int = 10

    caseworkers: list[Caseworker]
    closing_days: list[date] = Field(default_factory=list)
    caseworker_team_email: EmailStr
    team_lead_email: EmailStr
    municipality_name: str


class AssignCaseworker(BaseModel):
    """Officer update: make *caseworker_id* the process-responsible caseworker.

    The first assignment leaves *replacing* out. Handing a case over to another caseworker is
    a deliberate act: *replacing* names the caseworker being replaced, so that two officers
    acting at the same moment cannot turn a first assignment into a reassignment.
    """

    model_config = STRICT

    caseworker_id: CaseworkerId  # normalised once, here: 'MKJ ' -> 'mkj'
    replacing: CaseworkerId | None = None


class RequestReviewTime(BaseModel):
    """Officer update on the case: a department's review needs more working days.

    The case owns the dates: it moves the review's deadline and, with it, the agreed date, and
    tells the company why.
    """

    model_config = STRICT

    department: Department
    working_days: Annotated[int, Field(ge=1, le=60)]
    reason: Reason


class RestartReview(BaseModel):
    """Officer update on the case: start a failed or terminated review again, as a new round."""

    model_config = STRICT

    department: Department


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
    # issue 4: the case's life after first contact
    sustainability_level: int = 1
    required_material: list[MaterialLine] = Field(default_factory=list)
    received_material: list[str] = Field(default_factory=list)
    complete_at: AwareDatetime | None = None  # first time "fuldt oplyst"
    waiting_since: AwareDatetime | None = None  # waiting for material since
    dismissal_warning_sent: bool = False
    dismissal_date: date | None = None
    clock: list[ClockEntry] = Field(default_factory=list)
    history_days: list[float] = Field(default_factory=list)
    estimate: Estimate | None = None
    agreed_date: date | None = None
    date_changes: list[DateChange] = Field(default_factory=list)
    project_changes: int = 0
    pre_dialogues: list[PreDialogue] = Field(default_factory=list)
    nbe_offer_sent: bool = False
    nbe_accepted: bool | None = None
    review_rounds: dict[str, int] = Field(default_factory=dict)
    reviews: dict[str, ReviewResult] = Field(default_factory=dict)
    late_reviews: list[str] = Field(default_factory=list)
    decided_at: AwareDatetime | None = None
    decision_date: date | None = None
    complaint_deadline: date | None = None
    closing_reason: ClosingReason | None = None
    closed_at: AwareDatetime | None = None
    figures: Figures | None = None
    survey_sent: bool = False
    # issue 7: the case's own bookkeeping, kept in this one model (defaults keep earlier
    # states valid). `closing` is the way out taken, set the moment it is accepted.
    core_version: int = 1
    receipt_sent: bool = False
    assignments: int = 0
    # Cases from before issue 7 replay only with their old wake-up points: a counter bumped
    # when a review result arrived or a review re-opened (unused by later cases).
    legacy_review_changes: int = 0
    closing: ClosingReason | None = None
    closing_note: str = ""
    decision_issued: bool = False
    closing_done: bool = False
    letter_counts: dict[str, int] = Field(default_factory=dict)
    letters_queued: list[str] = Field(default_factory=list)  # decided, not yet handed over
    letters_pending: list[str] = Field(default_factory=list)  # the mail server is not answering
    running_reviews: dict[str, int] = Field(default_factory=dict)
    review_deadlines: dict[str, AwareDatetime] = Field(default_factory=dict)
    failed_reviews: list[str] = Field(default_factory=list)
    attention: list[str] = Field(default_factory=list)  # why an operator must look (no values)
    # issue 11 (patch "contact-delivered-v1"): the contact promise is kept only when the
    # contact letter was delivered (taken by the mail server) by the deadline
    contact_by_delivery: bool = False
    contact_delivered_at: AwareDatetime | None = None

    @property
    def contact_met(self) -> bool | None:
        """Was the company contacted within the deadline? None while still waiting.

        From patch "contact-delivered-v1" the company counts as contacted when the contact
        letter was delivered: a caseworker assigned in time whose letter the mail server took
        only after the deadline is a broken promise."""
        if self.contact_by_delivery:
            if self.contact_delivered_at is None:
                return False if self.contact_breached else None
            return self.contact_delivered_at <= self.contact_deadline
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
    # issue 4 (defaults keep projections of earlier cases valid)
    sustainability_level: int | None = None
    missing_material: list[str] = Field(default_factory=list)
    complete_at: AwareDatetime | None = None
    agreed_date: date | None = None
    clock: list[ClockEntry] = Field(default_factory=list)
    pre_dialogues: list[PreDialogue] = Field(default_factory=list)
    nbe_offer_sent: bool = False
    nbe_accepted: bool | None = None
    reviews: list[ReviewResult] = Field(default_factory=list)
    late_reviews: int = 0
    decided_at: AwareDatetime | None = None
    decided_on_time: bool | None = None
    closing_reason: str | None = None
    closed_at: AwareDatetime | None = None
    gross_working_days: int | None = None
    net_processing_days: float | None = None
    waiting_days: float | None = None
    survey_sent: bool = False


def projection_of(state: CaseState, now: datetime, missing: list[str]) -> CaseProjection:
    """The projection row of *state*; *missing* are the codes still missing, as the rule in
    `domain.material.missing_material` computes them (once, for the state and the row)."""
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
        sustainability_level=state.sustainability_level,
        missing_material=missing,
        complete_at=state.complete_at,
        agreed_date=state.agreed_date,
        clock=state.clock,
        pre_dialogues=state.pre_dialogues,
        nbe_offer_sent=state.nbe_offer_sent,
        nbe_accepted=state.nbe_accepted,
        reviews=list(state.reviews.values()),
        late_reviews=len(state.late_reviews),
        decided_at=state.decided_at,
        decided_on_time=state.figures.decided_on_or_before_agreed_date if state.figures else None,
        closing_reason=state.closing_reason.value if state.closing_reason else None,
        closed_at=state.closed_at,
        gross_working_days=state.figures.gross_working_days if state.figures else None,
        net_processing_days=state.figures.net_processing_days if state.figures else None,
        waiting_days=state.figures.waiting_days if state.figures else None,
        survey_sent=state.survey_sent,
    )

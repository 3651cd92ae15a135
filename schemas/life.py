"""Contracts for the case's life after first contact (issue 4): material, the clock ledger,
the agreed date, pre-dialogue, sustainability, department reviews, the decision, closing."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    model_validator,
)

from schemas.fields import (
    CaseworkerId,
    Condition,
    Description,
    FreeText,
    IsoDate,
    IsoDatetime,
    Line,
    MaterialCode,
    MeetingTime,
    Note,
    Place,
    Reason,
    check_line,
)
from schemas.intake import Department
from schemas.sealed import Personal

STRICT = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True)
Text = Description  # the name earlier code used: free text of 1-5000 characters


def distinct_departments(value: list[Department]) -> list[Department]:
    """Each department at most once; the order given is kept (it orders the workflow's
    commands, so replaying an older history must see the same order)."""
    if len(set(value)) != len(value):
        raise ValueError("each department may be named only once")
    return value


def _line_before_url(value: Any) -> Any:
    """A URL parser silently drops tabs and newlines; refuse control characters instead."""
    return check_line(value.strip()) if isinstance(value, str) else value


VideoLink = Annotated[HttpUrl, BeforeValidator(_line_before_url)]


class ReviewTarget(BaseModel):
    """The one department an officer's review action is for (``starter.py review REF fire``).

    Validate the department with this before looking it up, so that ``[]`` or a misspelt
    name gives ``department: ...`` rather than a TypeError or a KeyError."""

    model_config = STRICT

    department: Department


# ------------------------------------------------------------------ material
class MaterialLine(BaseModel):
    """One item of required material, as letters and the state show it."""

    model_config = STRICT

    code: MaterialCode
    department: Department
    title: Line


class ReportMaterial(BaseModel):
    """The case system or the company reports material received (codes from the checklist)."""

    model_config = STRICT

    codes: Annotated[list[MaterialCode], Field(min_length=1, max_length=50)]


class MaterialStatus(BaseModel):
    model_config = STRICT

    received: list[MaterialLine]
    missing: list[MaterialLine]
    complete: bool


# ------------------------------------------------------------- clock ledger
class ClockEvent(StrEnum):
    started = "started"  # fuldt oplyst: the KL clock starts
    stopped = "stopped"  # waiting for the applicant
    restarted = "restarted"
    ended = "ended"  # decision or closing


class ClockEntry(BaseModel):
    model_config = STRICT

    at: IsoDatetime
    event: ClockEvent
    reason: FreeText


# ------------------------------------------------------------- agreed date
class EstimateBasis(StrEnum):
    history = "history"  # median of closed cases of the same type and departments
    kl_target = "kl_target"  # KL's service target in calendar days


class Estimate(BaseModel):
    model_config = STRICT

    decision_date: IsoDate
    basis: EstimateBasis
    processing_days: int
    history_cases: int
    wished_date: IsoDate | None = None
    wished_date_met: bool | None = None


class DateChange(BaseModel):
    model_config = STRICT

    at: IsoDatetime
    old: IsoDate | None
    new: IsoDate
    reason: FreeText


class ProjectChange(BaseModel):
    """The company reports a change to the project (any time before the decision)."""

    model_config = STRICT

    description: Personal[Description]  # the company's words: sealed by the door
    departments: Annotated[
        list[Department],
        Field(min_length=1, max_length=3),
        AfterValidator(distinct_departments),
    ] = Field(description="departments whose review the change affects")
    new_material: Annotated[list[MaterialCode], Field(max_length=50)] = Field(
        default_factory=list, description="checklist items that must be delivered again"
    )


# --------------------------------------------------------------- pre-dialogue
class PreDialogueTopic(StrEnum):
    general = "general"
    sustainability = "sustainability"


class RequestPreDialogue(BaseModel):
    model_config = STRICT

    topic: PreDialogueTopic = PreDialogueTopic.general
    note: Personal[Note] = ""  # the company's words: sealed by the door


class BookPreDialogue(BaseModel):
    """The caseworker books (or moves) the pre-dialogue: a time and a place or a video link."""

    model_config = STRICT

    topic: PreDialogueTopic = PreDialogueTopic.general
    at: MeetingTime
    place: Place | None = None
    video_link: VideoLink | None = None

    @model_validator(mode="after")
    def place_or_link(self) -> BookPreDialogue:
        if not self.place and not self.video_link:
            raise ValueError("give a place or a video link for the meeting")
        return self


class PreDialogue(BaseModel):
    model_config = STRICT

    topic: PreDialogueTopic
    requested_at: IsoDatetime | None = None
    at: IsoDatetime | None = None
    place: Line | None = None
    video_link: Line | None = None
    bookings: int = 0
    reminded_booking: int = 0  # the booking number the reminder went out for
    held: bool = False
    cancelled: bool = False


class CancelPreDialogue(BaseModel):
    model_config = STRICT

    topic: PreDialogueTopic = PreDialogueTopic.general
    reason: Reason


class PreDialogueHeld(BaseModel):
    model_config = STRICT

    topic: PreDialogueTopic = PreDialogueTopic.general


# ----------------------------------------------------------- sustainability
class ChangeSustainabilityLevel(BaseModel):
    model_config = STRICT

    level: Annotated[int, Field(ge=1, le=3)]


class AnswerNbeOffer(BaseModel):
    model_config = STRICT

    accepted: bool


# ---------------------------------------------------------------- reviews
class ReviewOutcome(StrEnum):
    approved = "approved"
    approved_with_conditions = "approved_with_conditions"
    refused = "refused"


class SubmitReview(BaseModel):
    """A department's officer submits the review."""

    model_config = STRICT

    outcome: ReviewOutcome
    text: Description
    conditions: Annotated[list[Condition], Field(max_length=50)] = Field(default_factory=list)

    @model_validator(mode="after")
    def conditions_fit_outcome(self) -> SubmitReview:
        if self.outcome == ReviewOutcome.approved_with_conditions and not self.conditions:
            raise ValueError("an approval with conditions needs at least one condition")
        if self.outcome != ReviewOutcome.approved_with_conditions and self.conditions:
            raise ValueError("conditions belong only to an approval with conditions")
        return self


class RequestMoreTime(BaseModel):
    """A department's officer asks for more time (moves the agreed date via the coordinator)."""

    model_config = STRICT

    working_days: Annotated[int, Field(ge=1, le=60)]
    reason: Reason


class ReviewResult(BaseModel):
    model_config = STRICT

    department: Department
    round: int
    officer_id: CaseworkerId
    outcome: ReviewOutcome
    text: FreeText
    conditions: list[FreeText]
    submitted_at: IsoDatetime
    late: bool


class MoreTimeRequested(BaseModel):
    """Signal from a review to its case: the coordinator decides the new dates."""

    model_config = STRICT

    department: Department
    round: int
    working_days: int
    reason: FreeText


class ReviewLate(BaseModel):
    """Signal from a review to its case: the internal review deadline passed."""

    model_config = STRICT

    department: Department
    round: int


class NewReviewDeadline(BaseModel):
    """Signal from the case to a review: the coordinator moved the review deadline."""

    model_config = STRICT

    review_deadline: IsoDatetime
    reminder_at: IsoDatetime


# -------------------------------------------------------- decision, closing
class IssueDecision(BaseModel):
    """The process-responsible caseworker issues the one coordinated decision."""

    model_config = STRICT

    grounds: Description


class ClosingReason(StrEnum):
    decided = "decided"
    withdrawn = "withdrawn"
    dismissed_incomplete = "dismissed_incomplete"


class Withdraw(BaseModel):
    model_config = STRICT

    reason: Personal[Note] = ""  # the company's words: sealed by the door


class Dismiss(BaseModel):
    model_config = STRICT

    reason: Reason


class ComplaintBody(BaseModel):
    model_config = STRICT

    department: Department
    body: FreeText
    how: FreeText
    weeks: int


class Figures(BaseModel):
    """Processing time on both clocks, recorded at closing."""

    model_config = STRICT

    gross_working_days: int  # working days from receipt to decision/closing (shown beside)
    net_processing_days: float | None  # KL clock, calendar days: fuldt oplyst -> decision,
    # waiting for the company deducted
    waiting_days: float  # calendar days
    decided_on_or_before_agreed_date: bool | None
    # issue 7: gross in calendar days too (receipt -> decision/closing), so net <= gross
    gross_days: float | None = None

"""The satisfaction survey's contract (commitment 9): what a closed case hands its survey
workflow, what the survey workflow records, and one answer as the web page sends it.

No personal data: the survey workflow's input holds the case's facts the figures need and the
contact e-mail the reminder goes to (kept out of ids, search attributes, logs and the UI).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from schemas.case import Caseworker
from schemas.fields import check_free_text
from schemas.intake import CaseType, Department
from schemas.life import ClosingReason
from schemas.sealed import Personal

STRICT = ConfigDict(strict=True, extra="forbid")
# 1 meget utilfreds .. 5 meget tilfreds; 0 "ved ikke" (as in survey_answers)
Score = Annotated[int, Field(ge=0, le=5)]
COMMENT_MAX = 2000
Comment = Annotated[str, Field(max_length=COMMENT_MAX), AfterValidator(check_free_text)]


class ClosedCaseFacts(BaseModel):
    """A closed case's facts for the figures (one `closed_cases` row), no personal data."""

    model_config = STRICT

    case_id: str
    reference: str
    case_type: CaseType
    departments: list[Department]
    industry_code: str | None = None  # DB07, when the intake named one
    closing_reason: ClosingReason
    received_at: AwareDatetime
    complete_at: AwareDatetime | None = None
    decided_at: AwareDatetime | None = None
    closed_at: AwareDatetime
    agreed_date: date | None = None
    contact_deadline: AwareDatetime
    contacted_within_deadline: bool | None = None
    decided_on_or_before_agreed_date: bool | None = None
    net_processing_days: float | None = None
    gross_days: float | None = None
    gross_working_days: int | None = None
    kl_target_days: int | None = None
    pre_dialogue_held: bool = False
    # why a promise was broken, where the case knows it: {"decision": [reasons of moves]}
    breach_causes: dict[str, list[str]] = Field(default_factory=dict)


class SurveyStart(BaseModel):
    """The survey workflow's input, from the closing case."""

    model_config = STRICT

    facts: ClosedCaseFacts
    to: list[Personal[EmailStr]]  # the contact e-mail (sealed); never logged or shown
    survey_sent_at: AwareDatetime | None  # None: the survey letter could not be sent
    closing_days: list[date] = Field(default_factory=list)
    municipality_name: str
    caseworker: Caseworker | None = None  # staff contact for the reminder's facts block


class SurveySetup(BaseModel):
    """The survey's settings, read by an activity at its start (so they are in history)."""

    model_config = STRICT

    reminder_working_days: int
    open_days: int


class SurveyRecord(BaseModel):
    """Write the case's facts once; set the survey's instants that are known (never unset)."""

    model_config = STRICT

    facts: ClosedCaseFacts
    survey_sent_at: AwareDatetime | None = None
    survey_reminded_at: AwareDatetime | None = None
    survey_closes_at: AwareDatetime | None = None


class SurveyReminder(BaseModel):
    """Send the one reminder letter (letter key ``survey-reminder``)."""

    model_config = STRICT

    facts: ClosedCaseFacts
    to: list[Personal[EmailStr]]
    municipality_name: str
    caseworker: Caseworker | None = None


class SurveyPhase(StrEnum):
    recording = "recording"
    open = "open"  # sent, waiting for an answer
    reminded = "reminded"
    answered = "answered"
    closed = "closed"
    not_sent = "not_sent"  # the survey letter could not be sent: facts recorded only


class SurveyState(BaseModel):
    """The survey workflow's state (query `state`)."""

    model_config = STRICT

    case_id: str
    phase: SurveyPhase = SurveyPhase.recording
    sent_at: AwareDatetime | None = None
    reminder_at: AwareDatetime | None = None
    reminded_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None
    answered: bool = False
    answers: int = 0  # signals received (first answer and changes)


class SurveyAnswered(BaseModel):
    """Signal from the web (after the answer is stored): the company has answered."""

    model_config = STRICT

    changed: bool = False


class SurveyAnswer(BaseModel):
    """One answer as the page sends it. A score per question asked (0 = ved ikke); a question
    not asked (coordination with one department, pre-dialogue where none was held) is None."""

    model_config = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True)

    overall: Score
    processing_time: Score
    process: Score
    guidance: Score
    coordination: Score | None = None
    pre_dialogue: Score | None = None
    comment: Comment = ""


QUESTIONS = ("overall", "processing_time", "process", "guidance", "coordination", "pre_dialogue")

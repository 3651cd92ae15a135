"""Letters: what the workflow asks the letter activity to send."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr

from schemas.case import Caseworker
from schemas.intake import CaseIntake, CaseType, Department
from schemas.life import (
    ClosingReason,
    ComplaintBody,
    Estimate,
    MaterialLine,
    PreDialogue,
    ReviewResult,
)
from schemas.sealed import Personal

STRICT = ConfigDict(strict=True, extra="forbid")


class LetterKind(StrEnum):
    receipt = "receipt"  # kvittering, to the company
    contact_letter = "contact_letter"  # the process-responsible caseworker, to the company
    reassignment = "reassignment"  # new caseworker, to the company
    contact_reminder = "contact_reminder"  # to the caseworker team
    contact_escalation = "contact_escalation"  # to the team lead
    # issue 4: the case's life after first contact
    material_status = "material_status"  # what is still missing / the case is complete
    date_changed = "date_changed"  # the agreed date moved: old, new, reason
    pre_dialogue_booked = "pre_dialogue_booked"  # confirmation, to the company and caseworker
    pre_dialogue_reminder = "pre_dialogue_reminder"  # the working day before, to the company
    pre_dialogue_cancelled = "pre_dialogue_cancelled"  # to the company
    nbe_offer = "nbe_offer"  # sustainability level 3: membership offer for NBE
    review_reminder = "review_reminder"  # to a department's officer
    review_escalation = "review_escalation"  # to the coordinator: a review is late
    decision = "decision"  # afgørelse: ONE coordinated decision, with klagevejledning
    dismissal_warning = "dismissal_warning"  # varsel: dismissal as incomplete on a date
    closed_notice = "closed_notice"  # withdrawn or dismissed: the case is closed
    survey = "survey"  # tilfredshedsmåling: on every closed case
    # issue 7
    review_failed = "review_failed"  # to the coordinator: a review failed or was terminated
    # issue 9
    survey_reminder = "survey_reminder"  # the survey's one reminder, when no answer has come


class LetterFacts(BaseModel):
    """The facts a letter template may use. No free-form data: the templates are the text."""

    model_config = STRICT

    reference: str
    case_type: CaseType
    departments: list[Department]
    company_name: str
    contact_name: str
    project_description: str
    received_at: AwareDatetime
    contact_deadline: AwareDatetime
    municipality_name: str
    caseworker: Caseworker | None = None
    previous_caseworker: Caseworker | None = None
    # issue 4 (each letter kind uses the fields it needs; see mail/templates)
    sustainability_level: int = 1
    missing_material: list[MaterialLine] = []
    received_material: list[MaterialLine] = []
    agreed_date: date | None = None
    estimate: Estimate | None = None
    previous_agreed_date: date | None = None
    change_reason: str | None = None
    pre_dialogue: PreDialogue | None = None
    cancel_reason: str | None = None
    department: Department | None = None  # review letters
    review_deadline: AwareDatetime | None = None
    reviews: list[ReviewResult] = []
    decision_date: date | None = None
    grounds: str | None = None
    complaint_bodies: list[ComplaintBody] = []
    complaint_deadline: date | None = None
    dismissal_date: date | None = None
    closing_reason: ClosingReason | None = None
    survey_url: str | None = None  # filled in by the letter activity (signed per case)
    # what the company asked for at intake (filled by of_case; defaults keep older payloads valid)
    pre_dialogue_wished: bool = False
    wished_decision_date: date | None = None

    @classmethod
    def of_case(
        cls,
        intake: CaseIntake,
        *,
        contact_deadline: datetime,
        municipality_name: str,
        caseworker: Caseworker | None = None,
        previous_caseworker: Caseworker | None = None,
    ) -> LetterFacts:
        """The facts of a case as its letters use them."""
        return cls(
            reference=intake.reference,
            case_type=intake.case_type,
            departments=intake.departments,
            company_name=intake.company.name,
            contact_name=intake.contact.name,
            project_description=intake.project_description,
            received_at=intake.received_at,
            contact_deadline=contact_deadline,
            municipality_name=municipality_name,
            caseworker=caseworker,
            previous_caseworker=previous_caseworker,
            sustainability_level=intake.sustainability_level or 1,
            pre_dialogue_wished=intake.pre_dialogue_wished,
            wished_decision_date=intake.wished_decision_date,
        )


class LetterRequest(BaseModel):
    """Send one letter. (case_id, letter_key) identifies it: it is sent at most once."""

    model_config = STRICT

    case_id: str
    letter_key: str
    kind: LetterKind
    to: list[Personal[EmailStr]]  # sealed for a case's contact; opened by the activity
    facts: LetterFacts


class LetterResult(BaseModel):
    model_config = STRICT

    message_id: str
    already_sent: bool

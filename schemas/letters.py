"""Letters: what the workflow asks the letter activity to send."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr

from schemas.case import Caseworker
from schemas.intake import CaseIntake, CaseType, Department

STRICT = ConfigDict(strict=True, extra="forbid")


class LetterKind(StrEnum):
    receipt = "receipt"  # kvittering, to the company
    contact_letter = "contact_letter"  # the process-responsible caseworker, to the company
    reassignment = "reassignment"  # new caseworker, to the company
    contact_reminder = "contact_reminder"  # to the caseworker team
    contact_escalation = "contact_escalation"  # to the team lead


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
        )


class LetterRequest(BaseModel):
    """Send one letter. (case_id, letter_key) identifies it: it is sent at most once."""

    model_config = STRICT

    case_id: str
    letter_key: str
    kind: LetterKind
    to: list[EmailStr]
    facts: LetterFacts


class LetterResult(BaseModel):
    model_config = STRICT

    message_id: str
    already_sent: bool

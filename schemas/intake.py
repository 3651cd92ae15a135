"""The intake contract: one model for every business case, whatever departments it involves.

Case systems (and `starter.py start`) submit exactly this. Strict, ``extra="forbid"``: an
unknown or misspelt field, a wrong type or a bad CVR is rejected with the field and the
reason, and nothing is started.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from domain.sanity import SanityError, check_received_at, check_wished_decision_date
from schemas.fields import (
    REFERENCE_PATTERN,
    Db07Code,
    Description,
    IsoDate,
    Name,
    ReceivedAt,
    Reference,
    check_line,
)
from schemas.sealed import Personal

STRICT = ConfigDict(strict=True, extra="forbid", frozen=True, str_strip_whitespace=True)

__all__ = [
    "REFERENCE_PATTERN",
    "CaseIntake",
    "CaseType",
    "Company",
    "ContactPerson",
    "Cvr",
    "Department",
    "Departments",
    "Email",
    "Name",
    "PNumber",
    "Phone",
    "case_workflow_id",
    "check_cvr",
    "parse_intake_json",
]


class Department(StrEnum):
    building = "building"  # byggeri
    environment = "environment"  # miljø
    fire = "fire"  # brand/beredskab


class CaseType(StrEnum):
    """Case types, aligned with KL's service-target categories (see docs/domain)."""

    simple_construction = "simple_construction"
    single_family_house = "single_family_house"
    industry_warehouse = "industry_warehouse"
    commercial_multistorey = "commercial_multistorey"
    residential_multistorey = "residential_multistorey"
    environmental_approval_minor = "environmental_approval_minor"
    environmental_approval_large = "environmental_approval_large"
    fire_safety = "fire_safety"


CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)


def check_cvr(value: str) -> str:
    """A CVR number: 8 digits, not starting with 0, weighted sum (2-7-6-5-4-3-2-1) divisible by 11."""
    if not re.fullmatch(r"[1-9][0-9]{7}", value):
        raise ValueError("a CVR number is 8 digits and does not start with 0")
    if sum(int(d) * w for d, w in zip(value, CVR_WEIGHTS, strict=True)) % 11:
        # A CVR number identifies a company, not a person: it may be repeated.
        raise ValueError(f"{value} is not a valid CVR number (modulus-11 check failed)")
    return value


def check_p_number(value: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]{9}", value):
        raise ValueError("a P-number is 10 digits and does not start with 0")
    return value


def check_phone(value: str) -> str:
    digits = re.sub(r"[\s-]", "", check_line(value))  # spaces incl. no-break space
    if not re.fullmatch(r"(\+[1-9][0-9]{7,14}|[0-9]{8})", digits):
        raise ValueError("a phone number is 8 digits, or + and a country code and number")
    return digits


def _line_before_email(value: Any) -> Any:
    """Control characters get their own message before the e-mail syntax is checked."""
    return check_line(value.strip()) if isinstance(value, str) else value


def check_booking_number(value: str) -> str:
    """A pre-dialogue booking number, e.g. FD-7K2M9Q4X (see schemas/booking.py)."""
    value = check_line(value.strip()).upper()
    if not re.fullmatch(r"FD-[0-9A-HJKMNP-TV-Z]{8}", value):
        raise ValueError("a booking number is FD- and 8 letters or digits, e.g. FD-7K2M9Q4X")
    return value


PreDialogueBooking = Annotated[
    str,
    AfterValidator(check_booking_number),
    Field(description="the booking number of a pre-dialogue booked on the website"),
]
Cvr = Annotated[str, AfterValidator(check_cvr)]
PNumber = Annotated[str, AfterValidator(check_p_number)]
Phone = Annotated[str, Field(max_length=40), AfterValidator(check_phone)]
Email = Annotated[EmailStr, BeforeValidator(_line_before_email)]


class ContactPerson(BaseModel):
    model_config = STRICT

    # personal fields: sealed with the case's data key by the door (schemas/sealed.py)
    name: Personal[Name]
    email: Personal[Email]
    phone: Personal[Phone]


class Company(BaseModel):
    model_config = STRICT

    cvr: Cvr
    name: Name
    p_number: PNumber | None = None


def unique_departments(value: list[Department]) -> list[Department]:
    if len(set(value)) != len(value):
        raise ValueError("each department may be named only once")
    return sorted(value, key=list(Department).index)


# A non-empty list of distinct departments, in the order building, environment, fire.
Departments = Annotated[
    list[Department], Field(min_length=1, max_length=3), AfterValidator(unique_departments)
]


class CaseIntake(BaseModel):
    """A new business case as the case system submits it.

    Validation context ``{"now": datetime}`` (see ``parse_intake_json``) also refuses a
    ``received_at`` in the future; without it only the static window applies."""

    model_config = STRICT

    reference: Reference
    case_type: CaseType
    departments: Departments
    company: Company
    contact: ContactPerson
    project_description: Personal[Description]  # the company's own words: sealed
    received_at: ReceivedAt
    sustainability_level: Annotated[int, Field(ge=1, le=3)] | None = None
    pre_dialogue_wished: bool = False
    wished_decision_date: IsoDate | None = None
    # booking (issue 8): the pre-dialogue booked on the website before this application; the
    # case starts with it on record (the door checks it names an active booking first)
    pre_dialogue_booking: PreDialogueBooking | None = None
    # measurement (issue 9): the company's DB07 industry code; the figures group by its section
    industry_code: Db07Code | None = None

    @field_validator("received_at")
    @classmethod
    def _not_in_the_future(cls, value: datetime, info: ValidationInfo) -> datetime:
        now = info.context.get("now") if isinstance(info.context, dict) else None
        if now is not None:
            try:
                check_received_at(value, now)
            except SanityError as err:
                raise PydanticCustomError("received_in_future", err.reason) from None
        return value

    @field_validator("wished_decision_date")
    @classmethod
    def _wished_date_plausible(cls, value: date | None, info: ValidationInfo) -> date | None:
        # The cross-field rule of the model; a field validator so that the error names the
        # field. received_at is validated first (field order); if it failed, skip.
        received_at = info.data.get("received_at")
        if value is not None and received_at is not None:
            try:
                check_wished_decision_date(value, received_at)
            except SanityError as err:
                raise PydanticCustomError("wished_date_window", err.reason) from None
        return value

    @property
    def workflow_id(self) -> str:
        return case_workflow_id(self.reference)


def case_workflow_id(reference: str) -> str:
    """The case workflow's id: derived from the case system's reference, no personal data."""
    return f"case-{reference}"


def parse_intake_json(raw: str | bytes, now: datetime | None = None) -> CaseIntake:
    """Parse a JSON document into a CaseIntake (strict JSON mode: ISO dates, enums as strings).

    With *now* (the real clock, at the HTTP/CLI boundary) a ``received_at`` in the future
    (beyond 5 minutes of clock skew) is rejected too. Never pass a clock inside a workflow:
    call ``domain.sanity.check_received_at(received_at, workflow.now())`` there.
    """
    if now is not None and (now.tzinfo is None or now.utcoffset() is None):
        raise ValueError("now must be timezone-aware")
    return CaseIntake.model_validate_json(raw, context={"now": now} if now else None)

"""The intake contract: one model for every business case, whatever departments it involves.

Case systems (and `starter.py start`) submit exactly this. Strict, ``extra="forbid"``: an
unknown or misspelt field, a wrong type or a bad CVR is rejected with the field and the
reason, and nothing is started.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

STRICT = ConfigDict(strict=True, extra="forbid", frozen=True, str_strip_whitespace=True)


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
REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def check_cvr(value: str) -> str:
    """A CVR number: 8 digits, not starting with 0, weighted sum (2-7-6-5-4-3-2-1) divisible by 11."""
    if not re.fullmatch(r"[1-9][0-9]{7}", value):
        raise ValueError("a CVR number is 8 digits and does not start with 0")
    if sum(int(d) * w for d, w in zip(value, CVR_WEIGHTS, strict=True)) % 11:
        raise ValueError(f"{value} is not a valid CVR number (modulus-11 check failed)")
    return value


def check_p_number(value: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]{9}", value):
        raise ValueError("a P-number is 10 digits and does not start with 0")
    return value


def check_phone(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value)
    if not re.fullmatch(r"(\+[1-9][0-9]{7,14}|[0-9]{8})", digits):
        raise ValueError("a phone number is 8 digits, or + and a country code and number")
    return digits


Cvr = Annotated[str, AfterValidator(check_cvr)]
PNumber = Annotated[str, AfterValidator(check_p_number)]
Phone = Annotated[str, AfterValidator(check_phone)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class ContactPerson(BaseModel):
    model_config = STRICT

    name: Name
    email: EmailStr
    phone: Phone


class Company(BaseModel):
    model_config = STRICT

    cvr: Cvr
    name: Name
    p_number: PNumber | None = None


def unique_departments(value: list[Department]) -> list[Department]:
    if len(set(value)) != len(value):
        raise ValueError("each department may be named only once")
    return sorted(value, key=list(Department).index)


class CaseIntake(BaseModel):
    """A new business case as the case system submits it."""

    model_config = STRICT

    reference: Annotated[
        str,
        Field(
            pattern=REFERENCE_PATTERN,
            description="The case system's own case reference, e.g. BYG-2026-00123. "
            "Letters, digits, '.', '_' and '-' only; it becomes part of the workflow id, "
            "so it must not contain personal data.",
        ),
    ]
    case_type: CaseType
    departments: Annotated[
        list[Department], Field(min_length=1, max_length=3), AfterValidator(unique_departments)
    ]
    company: Company
    contact: ContactPerson
    project_description: Annotated[str, Field(min_length=1, max_length=5000)]
    received_at: AwareDatetime
    sustainability_level: Annotated[int, Field(ge=1, le=3)] | None = None
    pre_dialogue_wished: bool = False
    wished_decision_date: date | None = None

    @property
    def workflow_id(self) -> str:
        return case_workflow_id(self.reference)


def case_workflow_id(reference: str) -> str:
    """The case workflow's id: derived from the case system's reference, no personal data."""
    return f"case-{reference}"


def parse_intake_json(raw: str | bytes) -> CaseIntake:
    """Parse a JSON document into a CaseIntake (strict JSON mode: ISO dates, enums as strings)."""
    return CaseIntake.model_validate_json(raw)

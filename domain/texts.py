"""Danish names for the things letters talk about (pure data and formatting)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from schemas.intake import CaseType, Department
from schemas.life import ClosingReason, Estimate, EstimateBasis, PreDialogueTopic, ReviewOutcome

COPENHAGEN = ZoneInfo("Europe/Copenhagen")

DEPARTMENT_NAMES = {
    Department.building: "byggeri",
    Department.environment: "miljø",
    Department.fire: "brand/beredskab",
}

CASE_TYPE_NAMES = {
    CaseType.simple_construction: "simpel konstruktion",
    CaseType.single_family_house: "enfamiliehus",
    CaseType.industry_warehouse: "industri- og lagerbygning",
    CaseType.commercial_multistorey: "etagebyggeri til erhverv",
    CaseType.residential_multistorey: "etagebyggeri til bolig",
    CaseType.environmental_approval_minor: "miljøgodkendelse (mindre)",
    CaseType.environmental_approval_large: "miljøgodkendelse (større og kompleks)",
    CaseType.fire_safety: "brandsikring og beredskab",
}

OUTCOME_NAMES = {
    ReviewOutcome.approved: "godkendt",
    ReviewOutcome.approved_with_conditions: "godkendt med vilkår",
    ReviewOutcome.refused: "afslag",
}

TOPIC_NAMES = {
    PreDialogueTopic.general: "forhåndsdialog",
    PreDialogueTopic.sustainability: "forhåndsdialog om bæredygtighed",
}

TOPIC_NAMES_DEFINITE = {
    PreDialogueTopic.general: "forhåndsdialogen",
    PreDialogueTopic.sustainability: "forhåndsdialogen om bæredygtighed",
}

CLOSING_REASON_NAMES = {
    ClosingReason.decided: "afgjort",
    ClosingReason.withdrawn: "trukket tilbage af ansøgeren",
    ClosingReason.dismissed_incomplete: "afvist, fordi sagen ikke blev fuldt oplyst",
}

WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
MONTHS = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)


def danish_date(value: date | datetime) -> str:
    """'fredag den 4. december 2026' (a datetime is read in Copenhagen time)."""
    if isinstance(value, datetime):
        value = value.astimezone(COPENHAGEN).date()
    return f"{WEEKDAYS[value.weekday()]} den {value.day}. {MONTHS[value.month - 1]} {value.year}"


def danish_datetime(value: datetime) -> str:
    """'tirsdag den 24. november 2026 kl. 09.15' in Copenhagen time."""
    local = value.astimezone(COPENHAGEN)
    return f"{danish_date(local)} kl. {local:%H.%M}"


def department_list(departments: list[Department]) -> str:
    """'byggeri, miljø og brand/beredskab'."""
    names = [DEPARTMENT_NAMES[d] for d in departments]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " og " + names[-1]


def estimate_basis(estimate: Estimate) -> str:
    """What the expected decision date rests on: 'baseret på KL's servicemål på 50 kalenderdage'."""
    if estimate.basis == EstimateBasis.kl_target:
        return f"baseret på KL's servicemål på {estimate.processing_days} kalenderdage"
    return "baseret på behandlingstiden i lignende sager"

"""Danish names for the things letters talk about (pure data and formatting)."""

from __future__ import annotations

import re
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

# Case types KL has no common service target for: the estimate uses the municipality's own
# target (domain.estimate.KL_TARGET_DAYS), and the letters must not call it KL's.
OWN_SERVICE_TARGET = frozenset({CaseType.fire_safety})

CLOSING_REASON_NAMES = {
    ClosingReason.decided: "afgjort",
    ClosingReason.withdrawn: "trukket tilbage af jer",
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


# The letters speak to the company as "I/jer/jeres". A configured text (complaint guidance a
# municipality keeps as data) may say "du/dig/din"; Danish verbs do not change with the person,
# so replacing the pronoun is enough.
_SINGULAR_YOU = {
    "du": "I",
    "Du": "I",
    "dig": "jer",
    "Dig": "Jer",
    "din": "jeres",
    "Din": "Jeres",
    "dit": "jeres",
    "Dit": "Jeres",
    "dine": "jeres",
    "Dine": "Jeres",
}
_SINGULAR_YOU_WORD = re.compile(r"\b(" + "|".join(_SINGULAR_YOU) + r")\b")


def to_company(text: str) -> str:
    """*text* addressing the company as "I/jer/jeres" instead of "du/dig/din":
    'Klag via Klageportalen, som du finder på borger.dk' -> '..., som I finder på borger.dk'."""
    return _SINGULAR_YOU_WORD.sub(lambda m: _SINGULAR_YOU[m.group(1)], text)


def noun(n: int, one: str, many: str) -> str:
    """The noun that fits the count *n*: ``noun(1, "dag", "dage")`` is 'dag'."""
    return one if n == 1 else many


def plural(n: int, one: str, many: str) -> str:
    """A count and its noun: '1 vilkår', '3 vilkår', '1 hverdag', '2 hverdage', '1 dag', '2 dage'.

    Every place a letter puts a number before a noun uses this (the Jinja filter ``plural``).
    """
    return f"{n} {noun(n, one, many)}"


def estimate_source(estimate: Estimate, case_type: CaseType) -> str:
    """What the processing time rests on, as a noun phrase:
    'KL's servicemål for denne type sag', 'den typiske sagsbehandlingstid (medianen) i 14
    sammenlignelige, afgjorte sager'."""
    if estimate.basis == EstimateBasis.history:
        cases = plural(
            estimate.history_cases, "sammenlignelig, afgjort sag", "sammenlignelige, afgjorte sager"
        )
        return f"den typiske sagsbehandlingstid (medianen) i {cases}"
    if case_type in OWN_SERVICE_TARGET:
        return "kommunens eget servicemål for denne type sag"
    return "KL's servicemål for denne type sag"


def wished_date_used(estimate: Estimate) -> bool:
    """The expected decision date is the company's own wished date (it was later than the
    processing time needs)."""
    return bool(estimate.wished_date and estimate.wished_date_met)


def estimate_basis(estimate: Estimate, case_type: CaseType) -> str:
    """The sentence saying truly what the expected decision date rests on: the company's own
    wished date, the median of comparable cases, or the service target (KL's, or the
    municipality's own where KL has none)."""
    days = plural(estimate.processing_days, "kalenderdag", "kalenderdage")
    source = estimate_source(estimate, case_type)
    if wished_date_used(estimate):
        assert estimate.wished_date is not None
        if estimate.decision_date == estimate.wished_date:
            wish = "Det er den dato, I selv har ønsket."
        else:
            wish = (
                f"Datoen bygger på jeres ønske om en afgørelse senest "
                f"{danish_date(estimate.wished_date)}, rykket til nærmeste hverdag."
            )
        return f"{wish} Den kan vi nå, da {source} er {days} fra den dag, sagen er fuldt oplyst."
    return f"Datoen bygger på {source}: {days} fra den dag, sagen er fuldt oplyst."

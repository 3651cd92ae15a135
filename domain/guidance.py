"""Guidance that fits a case's departments (commitment 1): where the company reads what to do.

Kept as data; a municipality replaces these with its own pages. The titles speak to the
company as "I/jeres" like the letters, and carry no colon (the letter puts one before the link).
"""

from __future__ import annotations

from typing import NamedTuple

from domain.texts import DEPARTMENT_NAMES
from schemas.intake import CaseType, Department


class Guidance(NamedTuple):
    title: str
    url: str


GUIDANCE: dict[Department, tuple[Guidance, ...]] = {
    Department.building: (
        Guidance("Sådan søger I byggetilladelse", "https://www.aalborg.dk/erhverv/byggeri"),
        Guidance("Bygningsreglementet (BR18)", "https://www.bygningsreglementet.dk"),
        Guidance("Ansøgning via Byg og Miljø", "https://bygogmiljoe.dk"),
    ),
    Department.environment: (
        Guidance("Miljø for virksomheder", "https://www.aalborg.dk/erhverv/miljoe"),
        Guidance("Miljøgodkendelse hos Miljøstyrelsen", "https://mst.dk/erhverv"),
    ),
    Department.fire: (
        Guidance(
            "Brand og beredskab for virksomheder",
            "https://www.aalborg.dk/erhverv/brand-og-beredskab",
        ),
        Guidance("Beredskabsstyrelsen", "https://www.brs.dk"),
    ),
}

SUSTAINABILITY = Guidance(
    "Bæredygtighed og cirkulær økonomi i jeres projekt",
    "https://www.aalborg.dk/erhverv/baeredygtig-erhvervsservice",
)


def guidance_for(
    departments: list[Department],
    case_type: CaseType | None = None,
    base_url: str | None = None,
) -> list[Guidance]:
    """The guidance links for the involved departments, in department order, plus sustainability.

    With the public *base_url* of the municipality's own entry (`ERHVERV_PUBLIC_BASE_URL`), each
    department leads with its own guidance page for the case type (what to deliver, the service
    target; one source with the engine's checklist), and sustainability links there too."""
    links: list[Guidance] = []
    for department in Department:
        if department not in departments:
            continue
        if base_url and case_type is not None:
            links.append(
                Guidance(
                    f"Det skal I aflevere til {DEPARTMENT_NAMES[department]}",
                    f"{base_url.rstrip('/')}/vejledning/{department.value}/{case_type.value}",
                )
            )
        links.extend(GUIDANCE[department])
    if base_url:
        own = Guidance(SUSTAINABILITY.title, f"{base_url.rstrip('/')}/vejledning#baeredygtighed")
        return [*links, own]
    return [*links, SUSTAINABILITY]

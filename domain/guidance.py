"""Guidance that fits a case's departments (commitment 1): where the company reads what to do.

Kept as data; a municipality replaces these with its own pages. The titles speak to the
company as "I/jeres" like the letters, and carry no colon (the letter puts one before the link).
"""

from __future__ import annotations

from typing import NamedTuple

from schemas.intake import Department


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


def guidance_for(departments: list[Department]) -> list[Guidance]:
    """The guidance links for the involved departments, in department order, plus sustainability."""
    links = [g for d in Department if d in departments for g in GUIDANCE[d]]
    return [*links, SUSTAINABILITY]

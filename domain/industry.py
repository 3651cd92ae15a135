"""The industry of a case: Danmarks Statistik's Dansk Branchekode 2007 (DB07).

A DB07 code is 6 digits: the first four are the EU's NACE rev. 2 class, the last two the
Danish subdivision (e.g. 412000 "Opførelse af bygninger"). The first two digits are the
division (hovedgruppe), which belongs to one of 21 sections (A–U). The figures group cases
by section, so that every industry is measured on the same indicators.

What is bundled: the 21 sections with their Danish names and the 88 divisions mapping to
them (NACE rev. 2, which DB07 follows to four digits). The full list of 6-digit subgroups is
NOT bundled: an intake's code is checked as 6 digits whose division exists, not against
every subgroup (see docs/figures.md).

Pure data and functions (no I/O): the intake contract uses it, and it is validated inside
Temporal's workflow sandbox too.
"""

from __future__ import annotations

import re

# Danmarks Statistik's Danish names of the DB07 sections.
SECTIONS: dict[str, str] = {
    "A": "Landbrug, jagt, skovbrug og fiskeri",
    "B": "Råstofindvinding",
    "C": "Fremstillingsvirksomhed",
    "D": "Elektricitets-, gas-, damp- og kølingsforsyning",
    "E": "Vandforsyning, kloakvæsen, affaldshåndtering og rensning af jord og grundvand",
    "F": "Bygge- og anlægsvirksomhed",
    "G": "Engroshandel og detailhandel; reparation af motorkøretøjer og motorcykler",
    "H": "Transport og godshåndtering",
    "I": "Overnatningsfaciliteter og restaurationsvirksomhed",
    "J": "Information og kommunikation",
    "K": "Pengeinstitut- og finansvirksomhed, forsikring",
    "L": "Fast ejendom",
    "M": "Liberale, videnskabelige og tekniske tjenesteydelser",
    "N": "Administrative tjenesteydelser og hjælpetjenester",
    "O": "Offentlig administration, forsvar og socialsikring",
    "P": "Undervisning",
    "Q": "Sundhed og socialvæsen",
    "R": "Kultur, forlystelser og sport",
    "S": "Andre serviceydelser",
    "T": "Private husholdninger med ansatte; husholdningers produktion af varer og "
    "tjenesteydelser til eget brug",
    "U": "Ekstraterritoriale organisationer og organer",
}

# The divisions (hovedgrupper, the code's first two digits) of each section.
_SECTION_DIVISIONS: dict[str, tuple[int, ...]] = {
    "A": (1, 2, 3),
    "B": (5, 6, 7, 8, 9),
    "C": tuple(range(10, 34)),
    "D": (35,),
    "E": (36, 37, 38, 39),
    "F": (41, 42, 43),
    "G": (45, 46, 47),
    "H": (49, 50, 51, 52, 53),
    "I": (55, 56),
    "J": (58, 59, 60, 61, 62, 63),
    "K": (64, 65, 66),
    "L": (68,),
    "M": (69, 70, 71, 72, 73, 74, 75),
    "N": (77, 78, 79, 80, 81, 82),
    "O": (84,),
    "P": (85,),
    "Q": (86, 87, 88),
    "R": (90, 91, 92, 93),
    "S": (94, 95, 96),
    "T": (97, 98),
    "U": (99,),
}
DIVISIONS: dict[str, str] = {
    f"{division:02d}": section
    for section, divisions in _SECTION_DIVISIONS.items()
    for division in divisions
}

UNKNOWN = "?"  # the group of cases without an industry code
UNKNOWN_NAME = "Branche ikke oplyst"

_CODE = re.compile(r"[0-9]{6}")


def is_valid_code(code: str) -> bool:
    """A DB07 code as the intake takes it: 6 digits whose first two are a known division."""
    return bool(_CODE.fullmatch(code)) and code[:2] in DIVISIONS


def section_of(code: str | None) -> str:
    """The section letter (A–U) of a DB07 code; UNKNOWN for none or an unknown division."""
    if code is None or len(code) < 2:
        return UNKNOWN
    return DIVISIONS.get(code[:2], UNKNOWN)


def section_name(section: str) -> str:
    """The Danish name of a section letter (or of the unknown group)."""
    return SECTIONS.get(section, UNKNOWN_NAME)

"""The required-material checklist (commitment 5), kept as data.

Each involved department asks for its base items; some case types add extra items. The case is
complete ("fuldt oplyst") when every required item is received. A municipality replaces these
lines with its own checklist; the codes are what case systems report back.
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas.intake import CaseType, Department
from schemas.life import MaterialLine

_B, _E, _F = Department.building, Department.environment, Department.fire


def _line(department: Department, name: str, title: str) -> MaterialLine:
    return MaterialLine(code=f"{department.value}.{name}", department=department, title=title)


CHECKLIST: dict[Department, tuple[MaterialLine, ...]] = {
    _B: (
        _line(_B, "situation_plan", "Situationsplan"),
        _line(_B, "floor_plans", "Plantegninger"),
        _line(_B, "facade_drawings", "Facadetegninger"),
        _line(_B, "section_drawings", "Snittegninger"),
    ),
    _E: (
        _line(
            _E,
            "application_form",
            "Ansøgningsskema om miljøgodkendelse (listevirksomhed, bilag 1 eller 2 i "
            "godkendelsesbekendtgørelsen)",
        ),
        _line(_E, "production_description", "Beskrivelse af produktion og processer"),
        _line(_E, "noise_assessment", "Støjredegørelse"),
        _line(_E, "waste_handling", "Beskrivelse af affaldshåndtering"),
    ),
    _F: (
        _line(_F, "fire_strategy_report", "Brandstrategirapport"),
        _line(_F, "escape_route_plan", "Flugtvejsplan"),
        _line(_F, "emergency_plan", "Plan for redningsberedskabets indsats (beredskabsplan)"),
    ),
}

_STRUCTURAL = _line(_B, "structural_documentation", "Statisk dokumentation (konstruktionsafsnit)")
_ENERGY = _line(_B, "energy_frame", "Energirammeberegning efter bygningsreglementet")
_FIRE_CLASS = _line(_F, "fire_class_documentation", "Brandteknisk dokumentation med brandklasse")
_FLAMMABLE = _line(_F, "flammable_storage", "Oversigt over oplag af brandfarlige væsker og stoffer")

CASE_TYPE_EXTRA: dict[CaseType, tuple[MaterialLine, ...]] = {
    CaseType.single_family_house: (_ENERGY,),
    CaseType.industry_warehouse: (_STRUCTURAL, _FIRE_CLASS, _FLAMMABLE),
    CaseType.commercial_multistorey: (_STRUCTURAL, _ENERGY, _FIRE_CLASS),
    CaseType.residential_multistorey: (_STRUCTURAL, _ENERGY, _FIRE_CLASS),
    CaseType.environmental_approval_large: (
        _line(_E, "bat_assessment", "BAT-redegørelse (bedste tilgængelige teknik)"),
        _line(_E, "baseline_report", "Basistilstandsrapport (jord og grundvand)"),
    ),
}


def required_material(case_type: CaseType, departments: Iterable[Department]) -> list[MaterialLine]:
    """Base items of the involved departments (in department order), then the case-type extras
    whose department is involved; each code once."""
    involved = set(departments)
    base = [line for d in Department if d in involved for line in CHECKLIST[d]]
    extra = [line for line in CASE_TYPE_EXTRA.get(case_type, ()) if line.department in involved]
    seen: set[str] = set()
    result = []
    for line in (*base, *extra):
        if line.code not in seen:
            seen.add(line.code)
            result.append(line)
    return result


def missing_material(
    required: list[MaterialLine], received_codes: Iterable[str]
) -> list[MaterialLine]:
    """The required items not yet received, in checklist order."""
    received = set(received_codes)
    return [line for line in required if line.code not in received]


def unknown_codes(required: list[MaterialLine], codes: Iterable[str]) -> list[str]:
    """Codes that are not on the case's checklist, in the given order, each once."""
    known = {line.code for line in required}
    return list(dict.fromkeys(code for code in codes if code not in known))


def describe_codes(required: list[MaterialLine]) -> str:
    """'building.situation_plan (Situationsplan), ...' for error messages."""
    return ", ".join(f"{line.code} ({line.title})" for line in required)

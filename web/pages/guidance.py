"""What the guidance pages say, read from the data the engine uses (one source).

The checklist is domain.material's (what a case is asked for), the service targets are
domain.estimate's (what the expected date rests on), the names are domain.texts', the further
links domain.guidance's. Nothing here repeats a rule: a municipality that changes its checklist
or a target changes the pages with it.

The pages' addresses use Danish slugs (/vejledning/byggeri/enfamiliehus); the codes of the
intake contract (/vejledning/building/single_family_house) lead to the same page.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from email.utils import parseaddr

from domain import calendar
from domain.estimate import KL_TARGET_DAYS
from domain.guidance import GUIDANCE, SUSTAINABILITY, Guidance
from domain.material import CHECKLIST, required_material
from domain.texts import CASE_TYPE_NAMES, DEPARTMENT_NAMES, OWN_SERVICE_TARGET
from schemas.intake import CaseType, Department
from schemas.life import MaterialLine

DEPARTMENT_SLUGS: dict[Department, str] = {
    Department.building: "byggeri",
    Department.environment: "miljoe",
    Department.fire: "brand-og-beredskab",
}

CASE_TYPE_SLUGS: dict[CaseType, str] = {
    CaseType.simple_construction: "simpel-konstruktion",
    CaseType.single_family_house: "enfamiliehus",
    CaseType.industry_warehouse: "industri-og-lagerbygning",
    CaseType.commercial_multistorey: "etagebyggeri-til-erhverv",
    CaseType.residential_multistorey: "etagebyggeri-til-bolig",
    CaseType.environmental_approval_minor: "miljoegodkendelse-mindre",
    CaseType.environmental_approval_large: "miljoegodkendelse-stoerre",
    CaseType.fire_safety: "brandsikring-og-beredskab",
}

# The working days within which the company is contacted (commitment 7): the engine's default.
CONTACT_WORKING_DAYS: int = (
    inspect.signature(calendar.contact_deadline).parameters["working_days"].default
)


def first_upper(text: str) -> str:
    """'brand/beredskab' -> 'Brand/beredskab' (the rest of the text unchanged)."""
    return text[:1].upper() + text[1:]


def department_by_slug(slug: str) -> Department | None:
    """The department of a page address: its Danish slug or its code; None if unknown."""
    for department, known in DEPARTMENT_SLUGS.items():
        if slug in (known, department.value):
            return department
    return None


def case_type_by_slug(slug: str) -> CaseType | None:
    for case_type, known in CASE_TYPE_SLUGS.items():
        if slug in (known, case_type.value):
            return case_type
    return None


def department_path(department: Department) -> str:
    return f"/vejledning/{DEPARTMENT_SLUGS[department]}"


def case_type_path(department: Department, case_type: CaseType) -> str:
    return f"{department_path(department)}/{CASE_TYPE_SLUGS[case_type]}"


@dataclass(frozen=True)
class ServiceTarget:
    days: int
    own: bool  # the municipality's own target: KL has none for this case type

    @property
    def source(self) -> str:
        return "Kommunens eget servicemål" if self.own else "KL's servicemål"


def service_target(case_type: CaseType) -> ServiceTarget | None:
    days = KL_TARGET_DAYS.get(case_type)
    if days is None:
        return None
    return ServiceTarget(days=days, own=case_type in OWN_SERVICE_TARGET)


@dataclass(frozen=True)
class CaseTypeView:
    case_type: CaseType
    department: Department
    name: str  # 'Enfamiliehus'
    path: str
    material: list[MaterialLine]  # everything this department asks for, in checklist order
    extra: list[MaterialLine]  # what the case type adds to the department's base list
    target: ServiceTarget | None


@dataclass(frozen=True)
class DepartmentView:
    department: Department
    name: str  # 'Byggeri'
    path: str
    base: tuple[MaterialLine, ...]
    case_types: list[CaseTypeView]
    links: tuple[Guidance, ...]


def case_type_view(department: Department, case_type: CaseType) -> CaseTypeView:
    material = required_material(case_type, [department])
    base = {line.code for line in CHECKLIST[department]}
    return CaseTypeView(
        case_type=case_type,
        department=department,
        name=first_upper(CASE_TYPE_NAMES[case_type]),
        path=case_type_path(department, case_type),
        material=material,
        extra=[line for line in material if line.code not in base],
        target=service_target(case_type),
    )


def department_view(department: Department) -> DepartmentView:
    return DepartmentView(
        department=department,
        name=first_upper(DEPARTMENT_NAMES[department]),
        path=department_path(department),
        base=CHECKLIST[department],
        case_types=[case_type_view(department, case_type) for case_type in CaseType],
        links=GUIDANCE[department],
    )


def departments() -> list[DepartmentView]:
    return [department_view(department) for department in Department]


def all_page_paths() -> list[str]:
    """Every guidance page's address: the overview, each department, each case type under it."""
    paths = ["/vejledning"]
    for department in Department:
        paths.append(department_path(department))
        paths.extend(case_type_path(department, case_type) for case_type in CaseType)
    return paths


def contact_email(mail_from: str) -> str:
    """The address of the 'From' the letters carry ('Erhvervsservice <x@y>' -> 'x@y')."""
    return parseaddr(mail_from)[1] or mail_from


__all__ = [
    "CASE_TYPE_SLUGS",
    "CONTACT_WORKING_DAYS",
    "DEPARTMENT_SLUGS",
    "SUSTAINABILITY",
    "CaseTypeView",
    "DepartmentView",
    "all_page_paths",
    "case_type_by_slug",
    "case_type_path",
    "case_type_view",
    "contact_email",
    "department_by_slug",
    "department_path",
    "department_view",
    "departments",
    "first_upper",
    "service_target",
]

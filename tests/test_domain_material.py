"""Tests for the required-material checklist (domain.material)."""

import re

import pytest

from domain import material
from domain.material import (
    CASE_TYPE_EXTRA,
    CHECKLIST,
    describe_codes,
    missing_material,
    required_material,
    unknown_codes,
)
from schemas.intake import CaseType, Department
from schemas.life import MaterialLine

B, E, F = Department.building, Department.environment, Department.fire


def codes(lines: list[MaterialLine]) -> list[str]:
    return [line.code for line in lines]


def all_lines() -> list[MaterialLine]:
    return [line for lines in (*CHECKLIST.values(), *CASE_TYPE_EXTRA.values()) for line in lines]


def test_every_department_has_three_to_five_base_items() -> None:
    assert set(CHECKLIST) == set(Department)
    for department, lines in CHECKLIST.items():
        assert 3 <= len(lines) <= 5, department
        assert all(line.department == department for line in lines)


@pytest.mark.parametrize("line", all_lines(), ids=lambda line: line.code)
def test_codes_are_namespaced_by_their_department(line: MaterialLine) -> None:
    assert re.fullmatch(r"[a-z]+\.[a-z0-9_]+", line.code)
    assert line.code.split(".")[0] == line.department.value
    assert line.title and line.title == line.title.strip()


def test_codes_are_unique_with_one_title_each() -> None:
    titles: dict[str, str] = {}
    for line in all_lines():
        assert titles.setdefault(line.code, line.title) == line.title
    assert len({line.code for lines in CHECKLIST.values() for line in lines}) == sum(
        len(lines) for lines in CHECKLIST.values()
    )


def test_danish_titles() -> None:
    titles = {line.code: line.title for line in all_lines()}
    assert titles["building.situation_plan"] == "Situationsplan"
    assert titles["environment.noise_assessment"] == "Støjredegørelse"
    assert "godkendelsesbekendtgørelsen" in titles["environment.application_form"]
    assert titles["environment.baseline_report"].startswith("Basistilstandsrapport")
    assert titles["fire.fire_strategy_report"] == "Brandstrategirapport"


def test_simple_construction_building_only() -> None:
    assert codes(required_material(CaseType.simple_construction, [B])) == [
        "building.situation_plan",
        "building.floor_plans",
        "building.facade_drawings",
        "building.section_drawings",
    ]


def test_departments_in_department_order_then_extras() -> None:
    got = codes(required_material(CaseType.industry_warehouse, [F, B]))
    assert got == [
        "building.situation_plan",
        "building.floor_plans",
        "building.facade_drawings",
        "building.section_drawings",
        "fire.fire_strategy_report",
        "fire.escape_route_plan",
        "fire.emergency_plan",
        "building.structural_documentation",
        "fire.fire_class_documentation",
        "fire.flammable_storage",
    ]


def test_extras_only_for_involved_departments() -> None:
    got = codes(required_material(CaseType.residential_multistorey, [B]))
    assert got[-2:] == ["building.structural_documentation", "building.energy_frame"]
    assert not [c for c in got if c.startswith("fire.")]


def test_large_environmental_approval_adds_bat_and_baseline() -> None:
    minor = codes(required_material(CaseType.environmental_approval_minor, [E]))
    large = codes(required_material(CaseType.environmental_approval_large, [E]))
    assert large == [*minor, "environment.bat_assessment", "environment.baseline_report"]
    assert codes(required_material(CaseType.environmental_approval_large, [B])) == codes(
        list(CHECKLIST[B])
    )


def test_single_family_house_asks_for_the_energy_frame() -> None:
    assert codes(required_material(CaseType.single_family_house, [B]))[-1] == (
        "building.energy_frame"
    )


def test_no_duplicates_when_an_extra_repeats_a_base_item(monkeypatch) -> None:
    duplicate = CHECKLIST[B][0]
    monkeypatch.setitem(material.CASE_TYPE_EXTRA, CaseType.simple_construction, (duplicate,))
    got = codes(required_material(CaseType.simple_construction, [B, B]))
    assert got == codes(list(CHECKLIST[B]))


def test_missing_material_keeps_checklist_order() -> None:
    required = required_material(CaseType.simple_construction, [B])
    missing = missing_material(required, ["building.facade_drawings", "building.situation_plan"])
    assert codes(missing) == ["building.floor_plans", "building.section_drawings"]
    assert missing_material(required, codes(required)) == []
    assert missing_material(required, []) == required


def test_unknown_codes_in_given_order_once_each() -> None:
    required = required_material(CaseType.simple_construction, [B])
    got = unknown_codes(
        required,
        ["fire.escape_route_plan", "building.floor_plans", "x.y", "fire.escape_route_plan"],
    )
    assert got == ["fire.escape_route_plan", "x.y"]
    assert unknown_codes(required, codes(required)) == []


def test_describe_codes() -> None:
    required = required_material(CaseType.simple_construction, [B])[:2]
    assert describe_codes(required) == (
        "building.situation_plan (Situationsplan), building.floor_plans (Plantegninger)"
    )
    assert describe_codes([]) == ""

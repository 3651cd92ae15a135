"""Tests for the intake contract (schemas/intake.py) and its error messages (schemas/errors.py)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from schemas.errors import describe
from schemas.intake import (
    CaseIntake,
    CaseType,
    Department,
    case_workflow_id,
    check_cvr,
    parse_intake_json,
)
from tests.conftest import make_intake

VALID = {
    "reference": "BYG-2026-00123",
    "case_type": "industry_warehouse",
    "departments": ["building", "fire"],
    "company": {"cvr": "29189420", "name": "Nordjysk Stål ApS", "p_number": "1012345678"},
    "contact": {
        "name": "Søren Ærø Østergård",
        "email": "soeren@nordjysk-staal.dk",
        "phone": "+45 98 12 34 56",
    },
    "project_description": "Ny lagerhal på 2.400 m² med sprinkleranlæg",
    "received_at": "2026-11-24T09:15:00+01:00",
    "sustainability_level": 2,
    "pre_dialogue_wished": True,
    "wished_decision_date": "2027-03-01",
}

REMOVE = object()


def document(**changes) -> dict:
    """VALID with changes; "company__cvr" changes a nested field, REMOVE deletes one."""
    data = copy.deepcopy(VALID)
    for key, value in changes.items():
        *parents, leaf = key.split("__")
        target = data
        for parent in parents:
            target = target[parent]
        if value is REMOVE:
            del target[leaf]
        else:
            target[leaf] = value
    return data


def parse(data: dict) -> CaseIntake:
    return parse_intake_json(json.dumps(data))


def error_locations(data: dict) -> dict[str, str]:
    """{'field.path': error type} of every problem *data* has; fails if it parses."""
    with pytest.raises(ValidationError) as caught:
        parse(data)
    return {
        ".".join(str(p) for p in problem["loc"]): problem["type"]
        for problem in caught.value.errors()
    }


def assert_rejected(data: dict, where: str) -> None:
    locations = error_locations(data)
    assert where in locations, f"expected an error at {where}, got {locations}"


# ------------------------------------------------------------------ valid intake


def test_valid_json_intake_parses() -> None:
    intake = parse(VALID)
    assert intake.reference == "BYG-2026-00123"
    assert intake.case_type is CaseType.industry_warehouse
    assert intake.departments == [Department.building, Department.fire]
    assert intake.company.cvr == "29189420"
    assert intake.company.p_number == "1012345678"
    assert intake.contact.name == "Søren Ærø Østergård"
    assert intake.contact.phone == "+4598123456"
    assert intake.received_at == datetime(2026, 11, 24, 8, 15, tzinfo=UTC)
    assert intake.received_at.utcoffset() == timedelta(hours=1)
    assert intake.sustainability_level == 2
    assert intake.pre_dialogue_wished is True
    assert intake.wished_decision_date == date(2027, 3, 1)


def test_bytes_intake_parses() -> None:
    assert parse_intake_json(json.dumps(VALID).encode()).reference == "BYG-2026-00123"


def test_example_file_parses() -> None:
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "examples" / "case-building.json"
    assert parse_intake_json(example.read_bytes()).reference == "BYG-2026-00123"


def test_conftest_intake_and_defaults() -> None:
    intake = make_intake()
    assert intake.reference == "BYG-2027-0001"
    assert intake.company.p_number is None
    assert intake.pre_dialogue_wished is False
    assert intake.wished_decision_date is None


def test_optional_fields_may_be_left_out() -> None:
    intake = parse(
        document(
            sustainability_level=REMOVE,
            pre_dialogue_wished=REMOVE,
            wished_decision_date=REMOVE,
            company__p_number=REMOVE,
        )
    )
    assert intake.sustainability_level is None
    assert intake.pre_dialogue_wished is False
    assert intake.wished_decision_date is None
    assert intake.company.p_number is None


def test_intake_is_frozen() -> None:
    intake = parse(VALID)
    with pytest.raises(ValidationError):
        intake.reference = "OTHER-1"  # type: ignore[misc]


@pytest.mark.parametrize(
    "field",
    [
        "reference",
        "case_type",
        "departments",
        "company",
        "contact",
        "project_description",
        "received_at",
    ],
)
def test_required_fields(field: str) -> None:
    assert error_locations(document(**{field: REMOVE})) == {field: "missing"}


# ------------------------------------------------------------------ CVR and P-number


@pytest.mark.parametrize(
    "cvr",
    ["29189420", "29189420 ", "10000009"],
    ids=["aalborg-kommune", "surrounding-whitespace-stripped", "another-valid"],
)
def test_valid_cvr(cvr: str) -> None:
    assert parse(document(company__cvr=cvr)).company.cvr == cvr.strip()


@pytest.mark.parametrize(
    "cvr",
    [
        "29189421",  # last digit changed
        "29189430",  # one middle digit changed
        "39189420",  # first digit changed
        "02918942",  # leading 0
        "00000000",  # leading 0 (sum 0 is divisible by 11)
        "2918942",  # 7 digits
        "291894200",  # 9 digits
        "2918942O",  # letter O, not zero
        "29 189 420",  # spaces inside
        "2918-9420",
        "",
        "２９１８９４２０",  # full-width digits
    ],
)
def test_invalid_cvr(cvr: str) -> None:
    assert_rejected(document(company__cvr=cvr), "company.cvr")


def test_cvr_must_be_a_string() -> None:
    assert_rejected(document(company__cvr=29189420), "company.cvr")


def test_check_cvr_messages() -> None:
    assert check_cvr("29189420") == "29189420"
    with pytest.raises(ValueError, match="modulus-11"):
        check_cvr("29189421")
    with pytest.raises(ValueError, match="8 digits"):
        check_cvr("0291894")


@pytest.mark.parametrize("p_number", ["1012345678", "9999999999"])
def test_valid_p_number(p_number: str) -> None:
    assert parse(document(company__p_number=p_number)).company.p_number == p_number


@pytest.mark.parametrize(
    "p_number", ["101234567", "10123456789", "0123456789", "10123456x8", "", "10 1234 5678"]
)
def test_invalid_p_number(p_number: str) -> None:
    assert_rejected(document(company__p_number=p_number), "company.p_number")


# ------------------------------------------------------------------ phone


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("+45 98 12 34 56", "+4598123456"),
        ("98 12 34 56", "98123456"),
        ("98123456", "98123456"),
        ("98-12-34-56", "98123456"),
        ("+46 8 123 456 78", "+46812345678"),
    ],
)
def test_phone_is_normalised(given: str, stored: str) -> None:
    assert parse(document(contact__phone=given)).contact.phone == stored


@pytest.mark.parametrize(
    "phone", ["12", "9812345", "981234567", "+45", "+0598123456", "98 12 34 5x", ""]
)
def test_invalid_phone(phone: str) -> None:
    assert_rejected(document(contact__phone=phone), "contact.phone")


def test_invalid_email() -> None:
    assert_rejected(document(contact__email="soeren(at)nordjysk-staal.dk"), "contact.email")


# ------------------------------------------------------------------ departments


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (["fire", "building"], [Department.building, Department.fire]),
        (
            ["fire", "environment", "building"],
            [Department.building, Department.environment, Department.fire],
        ),
        (["environment", "building"], [Department.building, Department.environment]),
        (["fire"], [Department.fire]),
    ],
)
def test_departments_sorted_building_environment_fire(given: list, stored: list) -> None:
    assert parse(document(departments=given)).departments == stored


@pytest.mark.parametrize(
    "departments",
    [
        [],
        ["building", "building"],
        ["fire", "building", "fire"],
        ["planning"],
        ["building", "Fire"],
        "building",
    ],
    ids=["empty", "duplicate", "duplicate-unsorted", "unknown", "wrong-case", "not-a-list"],
)
def test_invalid_departments(departments) -> None:
    locations = error_locations(document(departments=departments))
    assert all(loc == "departments" or loc.startswith("departments.") for loc in locations)
    assert locations


def test_duplicate_departments_message() -> None:
    with pytest.raises(ValidationError) as caught:
        parse(document(departments=["building", "building"]))
    assert describe(caught.value) == "departments: each department may be named only once"


# ------------------------------------------------------------------ other fields


@pytest.mark.parametrize("level", [1, 2, 3, None])
def test_sustainability_level_allowed(level: int | None) -> None:
    assert parse(document(sustainability_level=level)).sustainability_level == level


@pytest.mark.parametrize("level", [0, 4, -1, 2.5])
def test_sustainability_level_rejected(level) -> None:
    assert_rejected(document(sustainability_level=level), "sustainability_level")


@pytest.mark.parametrize(
    "received_at", ["2026-11-24T09:15:00", "2026-11-24", "24-11-2026 09:15", "yesterday"]
)
def test_received_at_must_be_aware_datetime(received_at: str) -> None:
    assert_rejected(document(received_at=received_at), "received_at")


def test_naive_received_at_is_a_timezone_error() -> None:
    assert error_locations(document(received_at="2026-11-24T09:15:00")) == {
        "received_at": "timezone_aware"
    }


def test_utc_received_at_accepted() -> None:
    intake = parse(document(received_at="2026-11-24T08:15:00Z"))
    assert intake.received_at == datetime(2026, 11, 24, 8, 15, tzinfo=UTC)


def test_unknown_field_rejected_at_top_level() -> None:
    assert error_locations(document(urgent=True)) == {"urgent": "extra_forbidden"}


@pytest.mark.parametrize("section", ["company", "contact"])
def test_unknown_field_rejected_nested(section: str) -> None:
    assert error_locations(document(**{f"{section}__extra": "x"})) == {
        f"{section}.extra": "extra_forbidden"
    }


@pytest.mark.parametrize("case_type", ["warehouse", "Industry_Warehouse", "", "industry warehouse"])
def test_unknown_case_type_rejected(case_type: str) -> None:
    assert_rejected(document(case_type=case_type), "case_type")


@pytest.mark.parametrize("value", ["", "   ", "x" * 5001, ["x"]])
def test_project_description_bounds(value) -> None:
    assert_rejected(document(project_description=value), "project_description")


@pytest.mark.parametrize("where", ["company__name", "contact__name"])
def test_names_must_not_be_blank(where: str) -> None:
    assert_rejected(document(**{where: "   "}), where.replace("__", "."))


# ------------------------------------------------------------------ reference


@pytest.mark.parametrize(
    "reference",
    ["BYG-2026-00123", "a", "0.1_x-Y", "A" * 64, "  BYG-2026-00123  "],
    ids=["typical", "one-char", "all-allowed-characters", "64-chars", "stripped"],
)
def test_valid_reference(reference: str) -> None:
    intake = parse(document(reference=reference))
    assert intake.reference == reference.strip()
    assert intake.workflow_id == f"case-{reference.strip()}"


@pytest.mark.parametrize(
    "reference",
    [
        "BYG 2026 00123",
        "BYG/2026/00123",
        "BYG\\2026",
        "SAG-Århus-1",
        "sag-æøå",
        "Ø-1",
        "A" * 65,
        "",
        "-BYG-1",
        ".hidden",
        "BYG-1\nX",
        "BYG:1",
        "BYG-1@x",
    ],
    ids=[
        "spaces",
        "slashes",
        "backslash",
        "å",
        "æøå",
        "leading-ø",
        "65-chars",
        "empty",
        "leading-dash",
        "leading-dot",
        "newline",
        "colon",
        "at-sign",
    ],
)
def test_invalid_reference(reference: str) -> None:
    assert_rejected(document(reference=reference), "reference")


def test_case_workflow_id() -> None:
    assert case_workflow_id("BYG-2026-00123") == "case-BYG-2026-00123"
    assert parse(VALID).workflow_id == "case-BYG-2026-00123"
    assert make_intake("MIL-2027-7").workflow_id == case_workflow_id("MIL-2027-7")


# ------------------------------------------------------------------ strictness


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pre_dialogue_wished", "yes"),
        ("pre_dialogue_wished", "true"),
        ("pre_dialogue_wished", 1),
        ("sustainability_level", "2"),
        ("sustainability_level", True),
        ("reference", 123),
        ("departments", ["building", 1]),
        ("wished_decision_date", "01-03-2027"),
        ("wished_decision_date", 20270301),
    ],
)
def test_json_mode_is_strict(field: str, value) -> None:
    locations = error_locations(document(**{field: value}))
    assert any(loc == field or loc.startswith(f"{field}.") for loc in locations), locations


def test_not_an_object_is_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_intake_json("[1, 2]")
    assert describe(caught.value).startswith("(document): ")


def test_invalid_json_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_intake_json('{"reference": ')
    assert describe(caught.value).startswith("(document): Invalid JSON")


# ------------------------------------------------------------------ describe()


def test_describe_lists_each_problem_on_its_own_line() -> None:
    data = document(
        company__cvr="29189421",
        urgent=True,
        received_at="2026-11-24T09:15:00",
        project_description=REMOVE,
    )
    with pytest.raises(ValidationError) as caught:
        parse(data)
    text = describe(caught.value)
    assert text.splitlines() == [
        "company.cvr: 29189421 is not a valid CVR number (modulus-11 check failed)",
        "project_description: required field is missing",
        "received_at: give the time with its UTC offset, e.g. 2026-11-24T09:15:00+01:00",
        "urgent: unknown field (check the spelling; see schemas/intake.py)",
    ]
    assert "pydantic.dev" not in text
    assert "Traceback" not in text


def test_describe_the_bad_example() -> None:
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "examples" / "case-bad.json"
    with pytest.raises(ValidationError) as caught:
        parse_intake_json(example.read_bytes())
    lines = describe(caught.value).splitlines()
    fields = [line.split(": ", 1)[0] for line in lines]
    assert fields == [
        "case_type",
        "departments",
        "company.cvr",
        "contact.email",
        "contact.phone",
        "received_at",
        "sustainability_level",
        "urgent",
    ]
    assert "contact.phone: a phone number is 8 digits, or + and a country code and number" in lines
    assert "company.cvr: 29189421 is not a valid CVR number (modulus-11 check failed)" in lines
    for line in lines:
        assert "pydantic.dev" not in line
        assert "Traceback" not in line
        assert "Value error," not in line
        assert line.split(": ", 1)[1].strip()


def test_describe_nested_missing_field() -> None:
    with pytest.raises(ValidationError) as caught:
        parse(document(contact__email=REMOVE))
    assert describe(caught.value) == "contact.email: required field is missing"

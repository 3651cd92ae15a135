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


# ------------------------------------------------------------------ text: NUL and control characters


def describe_of(data: dict) -> str:
    with pytest.raises(ValidationError) as caught:
        parse(data)
    return describe(caught.value)


SINGLE_LINE_FIELDS = [
    "reference",
    "company__name",
    "company__cvr",
    "company__p_number",
    "contact__name",
    "contact__email",
    "contact__phone",
]


@pytest.mark.parametrize("where", [*SINGLE_LINE_FIELDS, "project_description"])
def test_nul_is_refused_everywhere(where: str) -> None:
    value = _get(VALID, where)
    text = describe_of(document(**{where: value[:3] + "\x00" + value[3:]}))
    field = where.replace("__", ".")
    assert text.splitlines()[0].startswith(f"{field}: ")
    assert value not in text and value[:3] + "\x00" not in text


def _get(data: dict, where: str):
    for part in where.split("__"):
        data = data[part]
    return data


def test_nul_in_a_name_says_what_and_where() -> None:
    text = describe_of(document(company__name="Nordjysk\x00 Stål ApS"))
    assert text == "company.name: must not contain the NUL character (U+0000, at character 9)"


CONTROL = [chr(c) for c in (*range(1, 0x20), *range(0x7F, 0xA0))] + ["\u2028", "\u2029"]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("char", CONTROL + BIDI, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("where", ["company__name", "contact__name"])
def test_control_characters_inside_a_name_are_refused(where: str, char: str) -> None:
    text = describe_of(document(**{where: f"Søren{char}Ærø"}))
    assert text.startswith(where.replace("__", ".") + ": ")
    assert f"U+{ord(char):04X}" in text
    assert "Søren" not in text


@pytest.mark.parametrize("char", ["\x07", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9b"])
def test_control_characters_in_free_text_are_refused(char: str) -> None:
    text = describe_of(document(project_description=f"Ny hal{char}med kran"))
    assert text == (
        "project_description: must not contain control characters other than tab and line "
        f"breaks (found U+{ord(char):04X} at character 7)"
    )


def test_free_text_keeps_tab_and_line_breaks() -> None:
    description = "Ny lagerhal:\n\t- 2.400 m²\r\n\t- sprinkleranlæg\u2028(se bilag)"
    assert parse(document(project_description=description)).project_description == description


@pytest.mark.parametrize(
    "name", ["Søren 👩‍👩‍👧 Ærø", "Zoë e\u0301", "👍🏽 ApS", "مريم", "李小龍", "Anne\u200dMarie"]
)
def test_emoji_combining_marks_and_other_scripts_are_fine(name: str) -> None:
    intake = parse(document(company__name=name, contact__name=name))
    assert intake.company.name == name
    assert intake.contact.name == name


def test_surrounding_whitespace_and_newlines_are_stripped_not_refused() -> None:
    assert parse(document(company__name="\n Nordjysk Stål ApS \t")).company.name == (
        "Nordjysk Stål ApS"
    )


def test_lone_surrogate_refused_in_python_mode() -> None:
    data = document(contact__name="S\udcf8ren")
    with pytest.raises(ValidationError) as caught:
        CaseIntake.model_validate(
            {**data, "received_at": datetime(2026, 11, 24, 9, 15, tzinfo=UTC)}, strict=False
        )
    assert describe(caught.value) == (
        "contact.name: is not valid text (it holds a lone surrogate); send valid UTF-8"
    )


def test_lone_surrogate_in_json_is_invalid_json() -> None:
    raw = json.dumps(document(contact__name="S\udcf8ren"))  # escaped as \udcf8
    with pytest.raises(ValidationError) as caught:
        parse_intake_json(raw)
    assert describe(caught.value).startswith("(document): Invalid JSON")


def test_phone_with_a_control_character_is_refused() -> None:
    text = describe_of(document(contact__phone="98\t12 34 56"))
    assert text.startswith("contact.phone: must be one line without control characters")
    assert "98" not in text.split(": ", 1)[1].replace("U+0009", "")


# ------------------------------------------------------------------ dates: ISO only, a sane window

ISO_TIME_MESSAGE = (
    "received_at: give the time as ISO 8601 with its UTC offset, e.g. 2026-11-24T09:15:00+01:00"
)


@pytest.mark.parametrize(
    "value", ["1700000000", 1700000000, 1.7e9, "1700000000.5", -1, "0", True, None, ["x"]]
)
def test_received_at_is_never_a_number(value) -> None:
    assert describe_of(document(received_at=value)) == ISO_TIME_MESSAGE


def test_received_at_number_refused_in_python_mode_too() -> None:
    data = {**VALID, "received_at": 1700000000}
    with pytest.raises(ValidationError) as caught:
        CaseIntake.model_validate(data, strict=False)
    assert ISO_TIME_MESSAGE in describe(caught.value).splitlines()


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+00:00",
        "1999-12-31T23:59:59+00:00",
        "2100-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59+00:00",
    ],
)
def test_received_at_outside_2000_to_2099_is_refused(value: str) -> None:
    assert describe_of(document(received_at=value, wished_decision_date=REMOVE)) == (
        "received_at: must be a time between 2000-01-01 and 2099-12-31"
    )


@pytest.mark.parametrize(
    "value", ["2000-01-01T00:00:00+01:00", "2099-12-31T23:59:59-12:00", "2026-11-24 09:15+01:00"]
)
def test_received_at_at_the_edges_of_the_window(value: str) -> None:
    assert parse(document(received_at=value, wished_decision_date=REMOVE)).received_at


@pytest.mark.parametrize(
    ("wished", "ok"),
    [
        ("2026-11-23", False),  # the day before receipt
        ("2026-11-24", True),  # the day of receipt
        ("2031-11-24", True),  # five years on
        ("2031-11-25", False),
        ("2001-01-01", False),
        ("9999-12-31", False),
    ],
)
def test_wished_decision_date_window(wished: str, ok: bool) -> None:
    data = document(wished_decision_date=wished)
    if ok:
        assert parse(data).wished_decision_date == date.fromisoformat(wished)
    else:
        line = describe_of(data)
        assert line.startswith("wished_decision_date: must ")
        assert wished not in line


@pytest.mark.parametrize("value", [20270301, "20270301", "1700000000", 1.5, "2027-03-01T00:00"])
def test_wished_decision_date_is_an_iso_date(value) -> None:
    assert describe_of(document(wished_decision_date=value)).startswith(
        "wished_decision_date: give "
    )


def test_received_at_in_the_future_is_refused_when_now_is_given() -> None:
    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    raw = json.dumps(document(received_at="2026-11-24T09:15:00+01:00"))  # 08:15 UTC
    with pytest.raises(ValidationError) as caught:
        parse_intake_json(raw, now=now)
    assert describe(caught.value).startswith("received_at: lies in the future")
    # within the 5 minutes of clock skew, and without a clock, it passes
    assert parse_intake_json(raw, now=now + timedelta(minutes=11))
    assert parse_intake_json(raw)


def test_parse_intake_json_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_intake_json(json.dumps(VALID), now=datetime(2026, 11, 24, 8, 0))


# ------------------------------------------------------------------ describe(): no values, short lines


def test_describe_never_repeats_an_email_address() -> None:
    text = describe_of(document(contact__email="soeren,x@nordjysk-staal.dk"))
    assert text == "contact.email: not a valid e-mail address; write it as name@example.dk"


def test_describe_names_an_unknown_field_only_when_it_reads_as_a_name() -> None:
    text = describe_of(document(**{"soeren@nordjysk-staal.dk": 1, "x" * 300: 2, "ok_name": 3}))
    assert text.splitlines() == [
        (
            "(a field with an unreadable name): unknown field (check the spelling; see "
            "schemas/intake.py)"
        ),
        "ok_name: unknown field (check the spelling; see schemas/intake.py)",
    ]


def test_describe_lines_are_at_most_300_bytes() -> None:
    text = describe_of(document(case_type="ø" * 10_000, company__name="ø" * 10_000))
    for line in text.splitlines():
        assert len(line.encode()) <= 300
        assert "øøøø" not in line


def test_describe_length_messages_in_words() -> None:
    text = describe_of(document(company__name="", contact__name="x" * 201, departments=[]))
    assert text.splitlines() == [
        "departments: must have at least 1 item",
        "company.name: must not be empty",
        "contact.name: too long: at most 200 characters",
    ]


# ------------------------------------------------------------------ identifiers (schemas/fields.py)


def test_caseworker_id_is_stripped_and_lower_cased() -> None:
    from pydantic import TypeAdapter

    from schemas.fields import CaseworkerId

    adapter = TypeAdapter(CaseworkerId)
    assert adapter.validate_python("MKJ ") == "mkj"
    assert adapter.validate_python("  jha\n") == "jha"
    assert adapter.validate_json('"ABR"') == "abr"
    for bad in ["m", "m k j", "mkj\x00", "møj", "\u212aJ", "x" * 17, "", "mkj."]:
        with pytest.raises(ValidationError) as caught:
            adapter.validate_python(bad)
        line = describe(caught.value)
        assert line.startswith("(document): ")
        assert "caseworker" in line or "NUL" in line


def test_material_codes_are_normalised() -> None:
    from schemas.life import ReportMaterial

    report = ReportMaterial.model_validate_json('{"codes": [" Building.Floor_Plans "]}')
    assert report.codes == ["building.floor_plans"]
    with pytest.raises(ValidationError) as caught:
        ReportMaterial.model_validate_json('{"codes": ["building.floor\\u0000plans", "floor"]}')
    assert describe(caught.value).splitlines() == [
        "codes.0: must not contain the NUL character (U+0000, at character 15)",
        (
            "codes.1: a material code is the department, '.', and the item in lower-case "
            "letters, digits and '_', e.g. building.floor_plans (see the case's checklist)"
        ),
    ]


# ------------------------------------------------------------------ update contracts (schemas/life.py)


def build_lax(model, **fields):
    """As case_api.build validates values from a command line."""
    return model.model_validate(fields, strict=False)


def life_error(model, **fields) -> str:
    with pytest.raises(ValidationError) as caught:
        build_lax(model, **fields)
    return describe(caught.value)


def test_one_department_given_as_a_list_is_a_clear_error() -> None:
    from schemas.life import ReviewTarget

    assert build_lax(ReviewTarget, department="fire").department is Department.fire
    for bad in ([], ["fire"], {}, "Fire", "", None):
        assert life_error(ReviewTarget, department=bad) == (
            "department: must be one of 'building', 'environment' or 'fire'"
        )


def test_project_change_departments() -> None:
    from schemas.life import ProjectChange

    ok = build_lax(ProjectChange, description="Større hal", departments=["fire", "building"])
    assert ok.departments == [Department.fire, Department.building]  # order kept
    assert life_error(ProjectChange, description="Større hal", departments=[]) == (
        "departments: must have at least 1 item"
    )
    assert life_error(ProjectChange, description="Større hal", departments=["fire", "fire"]) == (
        "departments: each department may be named only once"
    )
    assert life_error(ProjectChange, description="Større hal", departments="fire") == (
        "departments: Input should be a valid list"
    )


def test_more_time_and_review_inputs() -> None:
    from schemas.life import RequestMoreTime, SubmitReview

    assert build_lax(RequestMoreTime, working_days="5", reason="Afventer\nvurdering").reason
    assert life_error(RequestMoreTime, working_days=5, reason="ab\x00c") == (
        "reason: must not contain the NUL character (U+0000, at character 3)"
    )
    assert life_error(RequestMoreTime, working_days=[], reason="Afventer") == (
        "working_days: Input should be a valid integer"
    )
    text = life_error(
        SubmitReview, outcome="approved_with_conditions", text="OK", conditions=["Vilkår\x1b"]
    )
    assert text == (
        "conditions.0: must not contain control characters other than tab and line breaks "
        "(found U+001B at character 7)"
    )


def test_meeting_time_is_iso_and_in_the_window() -> None:
    from schemas.life import BookPreDialogue

    booking = build_lax(BookPreDialogue, at="2026-12-03T10:00:00+01:00", place=" Rådhuset ")
    assert booking.place == "Rådhuset"
    assert life_error(BookPreDialogue, at=1764752400, place="Rådhuset") == (
        "at: give the time as ISO 8601 with its UTC offset, e.g. 2026-11-24T09:15:00+01:00"
    )
    assert life_error(BookPreDialogue, at="9999-12-03T10:00:00+01:00", place="Rådhuset") == (
        "at: must be a time between 2000-01-01 and 2099-12-31"
    )
    assert life_error(BookPreDialogue, at="2026-12-03T10:00:00+01:00", place="Råd\nhuset") == (
        "place: must be one line without control characters (found U+000A at character 4)"
    )
    assert life_error(
        BookPreDialogue, at="2026-12-03T10:00:00+01:00", video_link="https://meet\t.example"
    ).startswith("video_link: must be one line without control characters")


def test_phone_with_no_break_spaces_is_normalised() -> None:
    assert parse(document(contact__phone="98\u00a012\u202f34 56")).contact.phone == "98123456"

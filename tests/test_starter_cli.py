"""The command line (starter.py): bad input is reported field by field, never as a stack trace.

No service is needed: every case here fails before the CLI would connect to Temporal, and
`connect` is replaced by a function that fails the test if it is called.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

import starter

BAD_CASE = {
    "reference": "BYG-2026-00124",
    "case_type": "warehouse",
    "departments": [],
    "company": {"cvr": "29189421", "name": "Nordjysk Stål ApS"},
    "contact": {"name": "Søren Ærø", "email": "soeren(at)nordjysk-staal.dk", "phone": "12"},
    "project_description": "Ny lagerhal",
    "received_at": "2026-11-24T09:15:00",
    "sustainability_level": 4,
    "urgent": True,
}

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def offline_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide, colourless console; no connection; the process's logging left alone."""
    monkeypatch.setattr(starter, "console", Console(width=400, color_system=None))
    monkeypatch.setattr(starter, "configure_logging", lambda *args, **kwargs: None)

    async def no_connect(*args, **kwargs):
        raise AssertionError("the CLI tried to connect to Temporal")

    monkeypatch.setattr(starter, "connect", no_connect)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(tmp_path: Path, content: str | bytes, name: str = "case.json") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def assert_clean_exit(result, code: int) -> None:
    assert result.exit_code == code, result.output
    # typer.Exit surfaces as SystemExit; anything else is an uncaught crash
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


def test_start_with_bad_intake(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(BAD_CASE, ensure_ascii=False))
    result = runner.invoke(starter.app, ["start", str(path)])
    assert_clean_exit(result, 1)
    lines = result.output.splitlines()
    assert lines[0] == "The case was not started; the intake has errors:"
    assert "company.cvr: 29189421 is not a valid CVR number (modulus-11 check failed)" in lines
    assert "urgent: unknown field (check the spelling; see schemas/intake.py)" in lines
    assert "received_at: give the time with its UTC offset, e.g. 2026-11-24T09:15:00+01:00" in lines
    assert "contact.phone: a phone number is 8 digits, or + and a country code and number" in lines
    assert "sustainability_level: Input should be less than or equal to 3" in lines
    fields = [line.split(": ", 1)[0] for line in lines[1:] if line]
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
    assert "pydantic.dev" not in result.output


def test_start_with_the_bad_example_file(runner: CliRunner) -> None:
    result = runner.invoke(starter.app, ["start", str(EXAMPLES / "case-bad.json")])
    assert_clean_exit(result, 1)
    assert "The case was not started; the intake has errors:" in result.output
    assert "company.cvr: 29189421 is not a valid CVR number" in result.output


def test_start_with_missing_field(runner: CliRunner, tmp_path: Path) -> None:
    good = json.loads((EXAMPLES / "case-building.json").read_text(encoding="utf-8"))
    del good["contact"]
    result = runner.invoke(starter.app, ["start", str(write(tmp_path, json.dumps(good)))])
    assert_clean_exit(result, 1)
    assert result.output.splitlines() == [
        "The case was not started; the intake has errors:",
        "contact: required field is missing",
    ]


def test_start_with_nonexistent_file(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-case.json"
    result = runner.invoke(starter.app, ["start", str(missing)])
    assert_clean_exit(result, 1)
    assert result.output.strip() == f"Cannot read {missing}: No such file or directory"


def test_start_with_a_directory(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(starter.app, ["start", str(tmp_path)])
    assert_clean_exit(result, 1)
    assert result.output.startswith(f"Cannot read {tmp_path}: ")


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        ('{"reference": ', "EOF while parsing a value at line 1 column 14"),
        ("{'reference': 'BYG-1'}", "key must be a string at line 1 column 2"),
        ("", "EOF while parsing a value at line 1 column 0"),
        (b"\xff\xfe{}", "expected value at line 1 column 1"),
    ],
    ids=["truncated", "single-quotes", "empty-file", "not-utf-8"],
)
def test_start_with_invalid_json(
    runner: CliRunner, tmp_path: Path, content: str | bytes, detail: str
) -> None:
    result = runner.invoke(starter.app, ["start", str(write(tmp_path, content))])
    assert_clean_exit(result, 1)
    assert result.output.splitlines() == [
        "The case was not started; the intake has errors:",
        f"(document): Invalid JSON: {detail}",
    ]


def test_start_with_json_that_is_not_an_object(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(starter.app, ["start", str(write(tmp_path, "[]"))])
    assert_clean_exit(result, 1)
    lines = result.output.splitlines()
    assert lines[0] == "The case was not started; the intake has errors:"
    assert lines[1].startswith("(document): ")


@pytest.mark.parametrize("field", ["[/red]", "[bold]urgent"], ids=["crash", "swallowed"])
def test_field_names_that_look_like_markup_are_printed_verbatim(
    runner: CliRunner, tmp_path: Path, field: str
) -> None:
    good = json.loads((EXAMPLES / "case-building.json").read_text(encoding="utf-8"))
    good[field] = 1
    result = runner.invoke(starter.app, ["start", str(write(tmp_path, json.dumps(good)))])
    assert_clean_exit(result, 1)
    assert f"{field}: unknown field" in result.output


def test_help_lists_the_commands(runner: CliRunner) -> None:
    result = runner.invoke(starter.app, ["--help"])
    assert result.exit_code == 0, result.output
    officer_actions = {
        "assign",
        "material",
        "checklist",
        "project-change",
        "pre-dialogue",
        "book",
        "cancel-meeting",
        "meeting-held",
        "level",
        "nbe-answer",
        "review",
        "more-time",
        "decide",
        "withdraw",
        "dismiss",
        "refresh-roster",
    }
    commands = set(typer.main.get_command(starter.app).commands)
    assert commands == {"start", "list", "show"} | officer_actions
    for command in commands:
        assert re.search(rf"^\W*{re.escape(command)}\s", result.output, re.MULTILINE), command


def test_no_arguments_shows_help(runner: CliRunner) -> None:
    result = runner.invoke(starter.app, [])
    assert "start" in result.output and "assign" in result.output
    assert "Traceback" not in result.output

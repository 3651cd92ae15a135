"""The command line (starter.py) and the mail reader (`python -m stack mails`).

Bad input is reported field by field, never as a stack trace; output fits 80 columns without
cutting a reference, an id or a code. No service is needed: `connect` is replaced by a
function that fails the test if it is called, or (`fake_client`) by one returning a stand-in
client, with the case_api functions a test needs replaced.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace

import pytest
import typer
from pydantic import BaseModel
from rich.console import Console
from typer.testing import CliRunner

import case_api
import starter
from domain import overview
from domain.material import required_material
from schemas.case import AssignmentResult, CaseState, CaseStatus, Caseworker
from schemas.intake import Department, parse_intake_json
from schemas.life import (
    ClockEntry,
    ClockEvent,
    ClosingReason,
    DateChange,
    MaterialStatus,
    NewReviewDeadline,
    PreDialogue,
    PreDialogueTopic,
    ReviewOutcome,
    ReviewResult,
)
from settings import get_settings

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


WIDTH = 80


@pytest.fixture(autouse=True)
def offline_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """80 colourless columns; no connection; the process's logging left alone."""
    monkeypatch.setattr(starter, "console", Console(width=WIDTH, color_system=None))
    monkeypatch.setattr(
        starter, "err_console", Console(width=WIDTH, color_system=None, stderr=True)
    )
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
    # a long line goes on indented (case_type's list of values)
    fields = [line.split(": ", 1)[0] for line in lines[1:] if line and not line[0].isspace()]
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
    assert " ".join(result.output.split()) == f"Cannot read {missing}: No such file or directory"


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
    officer_actions |= {"reassign", "restart-review"}
    assert (
        commands
        == {"start", "list", "show", "api-key", "company-link", "report", "demo", "erase"}
        | officer_actions
    )
    for command in commands:
        assert re.search(rf"^\W*{re.escape(command)}\s", result.output, re.MULTILINE), command


def test_no_arguments_shows_help(runner: CliRunner) -> None:
    result = runner.invoke(starter.app, [])
    assert "start" in result.output and "assign" in result.output
    assert "Traceback" not in result.output


# ----------------------------------------------------------- 80 columns, help
REF = "BYG-2026-00123-TILBYGNING-NORDHAVN"  # a table at 80 columns would have cut it
JHA = Caseworker.model_validate(
    {
        "id": "jha",
        "name": "Jørgen Hald Andersen",
        "email": "jha@kommune.example",
        "phone": "99314444",
        "departments": ["building", "environment", "fire"],
    },
    strict=False,
)


def a_state(
    status: CaseStatus = CaseStatus.in_review,
    reviewed: tuple[str, ...] = ("building",),
    missing: tuple[str, ...] = (),
    caseworker: Caseworker | None = JHA,
) -> CaseState:
    """A case of examples/case-building.json (building and fire) with reference REF."""
    raw = json.loads((EXAMPLES / "case-building.json").read_text(encoding="utf-8"))
    raw["reference"] = REF
    intake = parse_intake_json(json.dumps(raw))
    got = intake.received_at
    required = required_material(intake.case_type, intake.departments)
    started = status in (CaseStatus.in_review, CaseStatus.awaiting_decision)
    return CaseState(
        core_version=2,
        case_id=intake.workflow_id,
        intake=intake,
        status=status,
        contact_deadline=got + timedelta(days=7),
        contact_reminder_at=got + timedelta(days=6),
        caseworker=caseworker,
        contacted_at=got + timedelta(days=1) if caseworker else None,
        letters_sent=["receipt", "contact-letter", "material-status-1", "date-changed-1"],
        required_material=required,
        received_material=[m.code for m in required if m.code not in missing],
        agreed_date=date(2027, 3, 8) if caseworker else None,
        date_changes=[
            DateChange(at=got, old=None, new=date(2027, 3, 1), reason="første vurdering"),
            DateChange(at=got, old=date(2027, 3, 1), new=date(2027, 3, 8), reason="mere tid"),
        ],
        review_rounds={d.value: 1 for d in intake.departments},
        running_reviews={d.value: 1 for d in intake.departments if started} if started else {},
        reviews={
            d: ReviewResult(
                department=Department(d),
                round=1,
                officer_id="jha",
                outcome=ReviewOutcome.approved,
                text="Byggeriet overholder BR18.",
                conditions=[],
                submitted_at=got + timedelta(days=3),
                late=False,
            )
            for d in reviewed
        },
        clock=[ClockEntry(at=got, event=ClockEvent.started, reason="fuldt oplyst")]
        if started
        else [],
        pre_dialogues=[
            PreDialogue(
                topic=PreDialogueTopic.general,
                at=datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
                place="Rådhuset, mødelokale 2",
                bookings=1,
            )
        ],
    )


def closed(state: CaseState) -> CaseState:
    return state.model_copy(
        update={
            "status": CaseStatus.closed,
            "closing_reason": ClosingReason.decided,
            "closing": ClosingReason.decided,
            "closed_at": datetime(2026, 11, 26, 8, 30, tzinfo=UTC),
        }
    )


@pytest.fixture
def fake_client(monkeypatch: pytest.MonkeyPatch) -> object:
    """`connect` gives a stand-in client (a test replaces the case_api functions it needs)."""
    client = SimpleNamespace(name="stand-in client")

    async def fake_connect(*args, **kwargs):
        return client

    monkeypatch.setattr(starter, "connect", fake_connect)
    return client


def serve_state(monkeypatch: pytest.MonkeyPatch, state: CaseState) -> None:
    async def get_state(client, reference, vault=None):
        return state

    monkeypatch.setattr(case_api, "get_state", get_state)


def assert_fits(output: str) -> None:
    """Every line fits 80 columns, unless it is one word that must not be cut (a link)."""
    assert "…" not in output
    for line in output.splitlines():
        assert len(line) <= WIDTH or " " not in line.strip(), line


def flat(text: str) -> str:
    return " ".join(text.split())


def test_every_command_has_help(runner: CliRunner) -> None:
    for command in [[], *([name] for name in typer.main.get_command(starter.app).commands)]:
        result = runner.invoke(starter.app, [*command, "--help"], env={"COLUMNS": str(WIDTH)})
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output and "Traceback" not in result.output, command
    for name, command in typer.main.get_command(starter.app).commands.items():
        summary = (command.help or "").split("\n\n")[0]  # one line in the list of commands
        assert summary and "\n" not in summary, name


def test_mails_has_help(runner: CliRunner) -> None:
    import stack.__main__ as stack_cli

    result = runner.invoke(stack_cli.app, ["mails", "--help"], env={"COLUMNS": str(WIDTH)})
    assert result.exit_code == 0, result.output
    assert "-n" in result.output


def test_show_is_the_overview_once_plus_what_only_officers_see(
    runner: CliRunner, fake_client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = a_state()
    serve_state(monkeypatch, state)
    result = runner.invoke(starter.app, ["show", REF])
    assert result.exit_code == 0, result.output
    assert_fits(result.output)
    assert result.output.splitlines()[0] == f"Case {REF}"
    for markdown in overview.lines(state)[1:]:  # the same lines as the Temporal UI's, once
        line = markdown.replace("**", "").replace("`", "")
        assert flat(result.output).count(flat(line)) == 1, line
    assert "**" not in result.output and "`" not in result.output and "#" not in result.output
    assert "- Process-responsible caseworker: jha" in result.output
    assert "- Reviews: building: approved, fire: open (round 1)" in result.output
    officers = flat(result.output.split("Only for officers", 1)[1])
    assert "Company: Nordjysk Stål ApS, CVR 29189420, P-number 1012345678" in officers
    assert "Contact person: Søren Ærø Østergård, soeren@nordjysk-staal.dk" in officers
    assert "Caseworker jha: Jørgen Hald Andersen, jha@kommune.example" in officers
    assert "Pre-dialogue (general): 2026-12-03 10:00, Rådhuset, mødelokale 2" in officers
    assert flat(result.output).count("Nordjysk Stål ApS") == 1  # not in the overview part


def test_checklist_names_every_code_in_full(
    runner: CliRunner, fake_client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = a_state(CaseStatus.awaiting_material, reviewed=(), missing=("fire.flammable_storage",))
    serve_state(monkeypatch, state)
    result = runner.invoke(starter.app, ["checklist", REF])
    assert result.exit_code == 0, result.output
    assert_fits(result.output)
    lines = result.output.splitlines()
    assert lines[1] == "  `material`)."
    assert flat(result.output).startswith(
        f"Case {REF}: 1 of 10 items missing (report them with `material`). received"
    )
    assert "MISSING   fire.flammable_storage" in lines
    assert "received  building.structural_documentation" in lines
    assert "          Oversigt over oplag af brandfarlige væsker og stoffer" in lines
    only = runner.invoke(starter.app, ["checklist", REF, "--missing"])
    assert only.exit_code == 0 and only.output == "fire.flammable_storage\n"


def test_list_shows_one_block_per_case_with_the_whole_reference(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    longest = "BYG-2026-" + "X" * 55  # references are at most 64 characters
    received = datetime(2026, 11, 24, 8, 15, tzinfo=UTC)
    open_case = SimpleNamespace(
        reference=longest,
        status="awaiting_material",
        departments=["building", "environment", "fire"],
        missing_material=["fire.flammable_storage", "building.floor_plans"],
        received_at=received,
        contact_deadline=received + timedelta(days=7),
        caseworker_id="jha",
        contacted_at=received,
        contact_breached=False,
        agreed_date=date(2027, 3, 8),
        late_reviews=0,
        closing_reason=None,
        decided_on_time=None,
    )
    closed_case = SimpleNamespace(
        **(vars(open_case) | {"reference": REF, "status": "closed", "missing_material": []})
    )
    closed_case.closing_reason, closed_case.decided_on_time = "decided", False

    async def fetch_cases(limit: int):
        return [open_case, closed_case]

    monkeypatch.setattr(starter, "fetch_cases", fetch_cases)
    result = runner.invoke(starter.app, ["list"])
    assert result.exit_code == 0, result.output
    assert_fits(result.output)
    lines = result.output.splitlines()
    assert longest in lines and REF in lines
    assert "  Status: awaiting material (2 missing) · Departments: building, environment," in lines
    assert "  Status: closed: decided, LATE · Departments: building, environment, fire" in lines
    assert "  Received: 2026-11-24 · Caseworker: jha · Contact: ok" in lines


# ------------------------------------------------------------------ the mails
def write_mail(directory: Path, number: int, subject: str, body: str) -> Path:
    msg = EmailMessage()
    msg["X-Sink-Received-At"] = f"2026-11-26T07:30:{number:02d}+00:00"
    msg["From"] = "Erhvervsservice <erhvervsservice@kommune.example>"
    msg["To"] = "soeren@nordjysk-staal.dk, jha@kommune.example"
    msg["Subject"] = subject
    msg.set_content(body)
    path = directory / f"20261126T0730{number:02d}.000000Z-{number:06d}.eml"
    path.write_bytes(bytes(msg))
    return path


LONG_SUBJECT = f"Kvittering for jeres sag {REF} – industri- og lagerbygning med brandteknik"
SURVEY = f"http://127.0.0.1:8000/survey/case-{REF}?token=Wj6KzwEyfjl_tS6SSzt_3dAgXD9pbbp9"
LETTER = (
    f"Sagsnummer: {REF}\n\nKære Søren Ærø Østergård\n\n"
    "Jeres sag er afsluttet. Vi vil gerne høre, hvordan I har oplevet sagsbehandlingen – både "
    "sagsbehandlingstiden og selve forløbet.\n\n"
    f"  {SURVEY}\n\n"
    "- Nævnenes Hus, Byggeklageenheden (byggeri): Klag via Klageportalen, som I finder på "
    "borger.dk, virk.dk og naevneneshus.dk.\n"
)


@pytest.fixture
def mailbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Three mails in a state folder of their own; `stack mails` at 80 columns."""
    import stack.__main__ as stack_cli

    (tmp_path / "mail").mkdir()
    paths = [
        write_mail(tmp_path / "mail", 1, LONG_SUBJECT, "Kvittering\n"),
        write_mail(tmp_path / "mail", 2, "Afgørelse i sag " + REF, "Afgørelse\n"),
        write_mail(tmp_path / "mail", 3, "Hvad synes I om sagsbehandlingen?", LETTER),
    ]
    monkeypatch.setenv("ERHVERV_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(stack_cli, "console", Console(width=WIDTH, color_system=None))
    get_settings.cache_clear()
    yield stack_cli.app, paths
    get_settings.cache_clear()


def test_mails_lists_every_mail_in_full_at_80_columns(runner: CliRunner, mailbox) -> None:
    app, paths = mailbox
    result = runner.invoke(app, ["mails"])
    assert result.exit_code == 0, result.output
    assert_fits(result.output)
    assert flat(result.output).startswith(f"3 mails in {paths[0].parent}, oldest first")
    for number, path in enumerate(paths, 1):
        assert f"Mail {number} of 3 · {path.name}" in result.output.splitlines()
    assert f"Subject: {LONG_SUBJECT}" in flat(result.output)
    assert "To: soeren@nordjysk-staal.dk, jha@kommune.example" in result.output
    assert "Kvittering\n" not in result.output  # no bodies without -n


def test_mails_n_prints_the_last_mails_in_full(runner: CliRunner, mailbox) -> None:
    app, paths = mailbox
    result = runner.invoke(app, ["mails", "-n", "2"])
    assert result.exit_code == 0, result.output
    assert_fits(result.output)
    assert paths[0].name not in result.output and "Kvittering" not in result.output
    assert f"Mail 2 of 3 · {paths[1].name}" in result.output
    last = result.output.split(f"Mail 3 of 3 · {paths[2].name}", 1)[1]
    body = last.split("\n\n", 1)[1]
    assert flat(body) == flat(LETTER)  # every word, in order
    lines = body.splitlines()
    assert f"  {SURVEY}" in lines  # the link whole, on its own line
    assert "- Nævnenes Hus, Byggeklageenheden (byggeri): Klag via Klageportalen, som I" in lines
    assert "  finder på borger.dk, virk.dk og naevneneshus.dk." in lines  # the item's indent


def test_mails_without_mails(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:
    import stack.__main__ as stack_cli

    monkeypatch.setenv("ERHVERV_STATE_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = runner.invoke(stack_cli.app, ["mails", "-n", "2"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0 and result.output.startswith("No mails in ")


# ------------------------------------------------------------------ rejections
def assert_rejected(result, lines: list[str]) -> None:
    """Exit code 1, the message on stderr (nothing on stdout), no traceback, 80 columns."""
    assert_clean_exit(result, 1)
    assert result.stdout == ""
    assert_fits(result.stderr)
    assert [flat(part) for part in re.split(r"\n(?=\S)", result.stderr.strip())] == lines


@pytest.mark.parametrize(
    ("args", "lines"),
    [
        (
            ["book", REF, "--at", "tomorrow", "--place", "Rådhuset"],
            ["--at: give the time as ISO 8601 with its UTC offset, e.g. 2026-11-24T09:15:00+01:00"],
        ),
        (
            ["book", REF, "--at", "2026-12-03T10:00:00", "--place", "Rådhuset"],
            ["--at: give the time with its UTC offset, e.g. 2026-11-24T09:15:00+01:00"],
        ),
        (
            ["book", REF, "--at", "2026-12-03T10:00:00+01:00"],
            ["--place or --video-link: give a place or a video link for the meeting"],
        ),
        (
            ["more-time", REF, "fire", "99", "--reason", "x"],
            [
                "DAYS: Input should be less than or equal to 60",
                "--reason: too short: at least 3 characters",
            ],
        ),
        (
            ["more-time", REF, "kitchen", "5", "--reason", "Vi afventer."],
            ["DEPARTMENT: give one of building, environment, fire."],
        ),
        (
            ["review", REF, "fire", "conditions", "--text", "I orden."],
            ["--condition: an approval with conditions needs at least one condition"],
        ),
        (
            ["review", REF, "fire", "maybe", "--text", "I orden."],
            ["OUTCOME: give one of approve, conditions, refuse (not 'maybe')."],
        ),
        (["level", REF, "7"], ["LEVEL: Input should be less than or equal to 3"]),
        (
            ["project-change", REF, "--description", " ", "--department", "kitchen"],
            [
                "--description: must not be empty",
                "--department #1: must be one of 'building', 'environment' or 'fire'",
            ],
        ),
        (
            ["pre-dialogue", REF, "--topic", "lunch"],
            ["--topic: must be one of 'general' or 'sustainability'"],
        ),
    ],
    ids=lambda value: "-".join(value[:1] + value[2:3]) if isinstance(value[0], str) else "",
)
def test_bad_input_is_one_clear_line_per_problem(
    runner: CliRunner, fake_client: object, monkeypatch: pytest.MonkeyPatch, args, lines
) -> None:
    serve_state(monkeypatch, a_state())
    assert_rejected(runner.invoke(starter.app, args), lines)


def test_assign_on_a_case_with_a_caseworker_says_how_to_reassign(
    runner: CliRunner, fake_client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def assign_caseworker(client, reference, caseworker_id, replacing=None, request_id=None):
        raise case_api.CaseError(  # the workflow's rejection, through case_api
            "Assignment rejected: The case already has a process-responsible caseworker: "
            f"'jha'. To hand it over to '{caseworker_id}', name the caseworker being replaced: "
            f"starter.py reassign <reference> {caseworker_id} --replacing jha."
        )

    monkeypatch.setattr(case_api, "assign_caseworker", assign_caseworker)
    serve_state(monkeypatch, a_state())
    result = runner.invoke(starter.app, ["assign", REF, "mkj"])
    assert_clean_exit(result, 1)
    assert flat(result.stderr).endswith(f"starter.py reassign {REF} mkj --replacing jha.")


def test_an_action_on_a_closed_case_says_it_is_closed(
    runner: CliRunner, fake_client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def assign_caseworker(client, reference, caseworker_id, replacing=None, request_id=None):
        # Temporal answers "not found" for an update to a finished workflow
        raise case_api.CaseError(f"Assignment rejected: there is no case or review case-{REF}.")

    monkeypatch.setattr(case_api, "assign_caseworker", assign_caseworker)
    serve_state(monkeypatch, closed(a_state()))
    assert_rejected(
        runner.invoke(starter.app, ["assign", REF, "mkj"]),
        [
            (
                f"Assignment rejected: case {REF} is closed (decided 2026-11-26 09:30); "
                "nothing more can be done on it."
            )
        ],
    )
    assert_rejected(  # case_api's own check would say the review was submitted
        runner.invoke(starter.app, ["review", REF, "building", "approve", "--text", "OK"]),
        [
            (
                f"Review rejected: case {REF} is closed (decided 2026-11-26 09:30); "
                "nothing more can be done on it."
            )
        ],
    )


def test_review_while_waiting_for_material_says_when_reviews_start(
    runner: CliRunner, fake_client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve_state(monkeypatch, a_state(CaseStatus.awaiting_material, (), ("fire.emergency_plan",)))
    result = runner.invoke(starter.app, ["review", REF, "fire", "approve", "--text", "OK"])
    assert_clean_exit(result, 1)
    message = flat(result.stderr)
    assert "is waiting for material from the company" in message
    assert "the reviews start when the material is complete ('fuldt oplyst')" in message


def test_decide_before_the_reviews_are_in_names_them(
    runner: CliRunner, fake_client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def issue_decision(client, reference, grounds, request_id=None):
        raise case_api.CaseError(
            "Decision rejected: issue_decision is not allowed while the case is in review by "
            "the departments (in_review); it is allowed when the case is: ready for the "
            "coordinated decision (awaiting_decision)."
        )

    monkeypatch.setattr(case_api, "issue_decision", issue_decision)
    serve_state(monkeypatch, a_state(CaseStatus.in_review, reviewed=("building",)))
    result = runner.invoke(starter.app, ["decide", REF, "--grounds", "I orden."])
    assert_clean_exit(result, 1)
    assert flat(result.stderr).endswith("Reviews not in yet: fire: open (round 1).")

    serve_state(monkeypatch, a_state(CaseStatus.awaiting_material, (), ("fire.emergency_plan",)))
    result = runner.invoke(starter.app, ["decide", REF, "--grounds", "I orden."])
    assert flat(result.stderr).endswith(
        "Reviews not in yet: building: not started; fire: not started. "
        f"Material missing: 1 item; see starter.py checklist {REF}."
    )


def test_a_validation_error_is_described_not_a_traceback(
    runner: CliRunner, fake_client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Answer(BaseModel):
        status: int

    async def get_state(client, reference, vault=None):
        return Answer.model_validate({"status": "soon"})

    monkeypatch.setattr(case_api, "get_state", get_state)
    result = runner.invoke(starter.app, ["show", REF])
    assert_clean_exit(result, 1)
    assert result.stderr.startswith("status: Input should be a valid integer")


def test_bad_settings_are_named(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERHVERV_SMTP_PORT", "twenty-five")
    get_settings.cache_clear()
    try:
        result = runner.invoke(starter.app, ["show", REF])
    finally:
        get_settings.cache_clear()
    assert_clean_exit(result, 1)
    assert result.stderr.splitlines()[:2] == [
        "The ERHVERV_* settings have errors:",
        "ERHVERV_SMTP_PORT: Input should be a valid integer, unable to parse string as an",
    ]


def test_a_service_out_of_reach_is_exit_code_2(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*args, **kwargs):
        raise RuntimeError("Failed client connect: connection refused")

    monkeypatch.setattr(starter, "connect", refused)
    result = runner.invoke(starter.app, ["show", REF])
    assert_clean_exit(result, 2)
    assert "Could not reach a service: Failed client connect" in result.stderr
    assert "./dev up" in result.stderr


# ------------------------------------------------------- one request id per run
def record_assign(monkeypatch: pytest.MonkeyPatch, calls: list[dict]) -> None:
    async def assign_caseworker(client, reference, caseworker_id, replacing=None, request_id=None):
        calls.append({"id": caseworker_id, "replacing": replacing, "request_id": request_id})
        return AssignmentResult(
            caseworker=JHA if caseworker_id == "jha" else JHA.model_copy(update={"id": "mkj"}),
            contacted_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
            within_contact_deadline=True,
            letter_key="contact-letter" if replacing is None else "reassignment-2",
            reassignment=replacing is not None,
        )

    monkeypatch.setattr(case_api, "assign_caseworker", assign_caseworker)


def test_each_run_sends_one_new_request_id(
    runner: CliRunner, fake_client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict] = []
    record_assign(monkeypatch, calls)
    for _ in range(2):
        result = runner.invoke(starter.app, ["assign", REF, "jha"])
        assert result.exit_code == 0, result.output
    assert flat(result.stdout).startswith(f"Case {REF} assigned to Jørgen Hald Andersen (jha)")
    ids = [call["request_id"] for call in calls]
    assert len(set(ids)) == 2 and all(uuid.UUID(i) for i in ids)

    handover = ["--request-id", "req-7", "reassign", REF, "mkj", "--replacing", "JHA"]
    result = runner.invoke(starter.app, handover)
    assert result.exit_code == 0, result.output
    assert calls[-1] == {"id": "mkj", "replacing": "JHA", "request_id": "req-7"}
    assert flat(result.stdout) == (
        f"Case {REF} handed over from jha to Jørgen Hald Andersen (mkj); the company is told."
    )


def test_no_answer_in_time_tells_how_to_repeat_the_same_request(
    runner: CliRunner, fake_client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def assign_caseworker(client, reference, caseworker_id, replacing=None, request_id=None):
        raise case_api.CaseError(
            "Assignment: Temporal did not answer in time. The action may still take effect; "
            f"repeat the same command to see its result (request id {request_id})."
        )

    monkeypatch.setattr(case_api, "assign_caseworker", assign_caseworker)
    serve_state(monkeypatch, a_state(caseworker=None))
    result = runner.invoke(starter.app, ["assign", REF, "jha"])
    assert_clean_exit(result, 1)
    rid = re.search(r"request id ([0-9a-f-]{36})", flat(result.stderr))[1]
    assert f"starter.py --request-id {rid} <the same command and arguments>" in flat(result.stderr)


def test_more_time_asks_the_case_and_restart_review_starts_a_new_round(
    runner: CliRunner, fake_client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple] = []
    state = a_state()

    async def request_more_time(client, reference, department, request_id=None, **fields):
        calls.append((reference, department, request_id, fields))
        return NewReviewDeadline(
            review_deadline=datetime(2027, 3, 1, 22, 59, tzinfo=UTC),
            reminder_at=datetime(2027, 2, 26, 8, 0, tzinfo=UTC),
        )

    async def restart_review(client, reference, department, request_id=None):
        calls.append((reference, department, request_id, {}))
        return state.model_copy(update={"review_rounds": {"building": 1, "fire": 2}})

    monkeypatch.setattr(case_api, "request_more_time", request_more_time)
    monkeypatch.setattr(case_api, "restart_review", restart_review)
    serve_state(monkeypatch, state)
    result = runner.invoke(
        starter.app, ["more-time", REF, "fire", "5", "--reason", "Vi afventer en vurdering."]
    )
    assert result.exit_code == 0, result.output
    assert flat(result.stdout) == (
        f"New review deadline for fire in case {REF}: 2027-03-01 23:59; agreed decision "
        "date 2027-03-08."
    )
    result = runner.invoke(starter.app, ["restart-review", REF, "fire"])
    assert result.exit_code == 0, result.output
    assert flat(result.stdout) == f"The fire review of case {REF} restarted as round 2."
    (_, _, first, fields), (_, _, second, _) = calls
    assert fields == {"working_days": 5, "reason": "Vi afventer en vurdering."}
    assert first != second and uuid.UUID(first) and uuid.UUID(second)


def test_material_lists_what_is_still_missing_one_code_a_line(
    runner: CliRunner, fake_client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = required_material(a_state().intake.case_type, a_state().intake.departments)

    async def report_material(client, reference, codes, request_id=None):
        return MaterialStatus(received=lines[:2], missing=lines[2:], complete=False)

    monkeypatch.setattr(case_api, "report_material", report_material)
    result = runner.invoke(starter.app, ["material", REF, lines[0].code, lines[1].code])
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[0] == f"Case {REF}: received. Still missing ({len(lines) - 2}):"
    assert out[1:] == [f"  {line.code}" for line in lines[2:]]


def test_a_bad_caseworker_id_names_the_argument(
    runner: CliRunner, fake_client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve_state(monkeypatch, a_state())
    too_long = "x" * 65
    for args, name in [
        (["assign", REF, too_long], "CASEWORKER: "),
        (["reassign", REF, too_long, "--replacing", "jha"], "NEW_ID: "),
        (["reassign", REF, "mkj", "--replacing", too_long], "--replacing: "),
    ]:
        result = runner.invoke(starter.app, args)
        assert_clean_exit(result, 1)
        assert result.stderr.startswith(name) and len(result.stderr.splitlines()) <= 3, args

"""Command line for case systems, companies and officers.

    python starter.py start examples/case-building.json   # a case system starts a case
    python starter.py list                                 # cases from the Postgres projection
    python starter.py show BYG-2026-00123                  # one case's live state (query)
    python starter.py assign BYG-2026-00123 mkj            # the process-responsible caseworker
    python starter.py reassign BYG-2026-00123 jha --replacing mkj      # a handover
    python starter.py material BYG-2026-00123 building.site_plan ...   # material received
    python starter.py review BYG-2026-00123 fire conditions --text ... --condition ...
    python starter.py decide BYG-2026-00123 --grounds "..."             # ONE decision
    (and: checklist, project-change, pre-dialogue, book, cancel-meeting, meeting-held,
     level, nbe-answer, more-time, restart-review, withdraw, dismiss, refresh-roster;
     each has --help)
    python starter.py erase BYG-2026-00123 --by jha --reason "..."  # a closed case's personal data
    python starter.py api-key create byg-esdh   # a case system's API key, on the last line
    python starter.py api-key revoke byg-esdh

Output fits the terminal (80 columns is fine): references, ids and codes are never cut.
A rejected action prints what was wrong and what to do, and exits with code 1; a service
that cannot be reached exits with code 2. Settings come from ERHVERV_* environment variables
(see settings.py and the README).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import textwrap
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import ProgrammingError

import access
import case_api
from domain import overview
from domain.texts import COPENHAGEN
from log_setup import configure_logging
from schemas.case import CaseState
from schemas.errors import describe
from schemas.lists import CaseListQuery
from settings import SettingsProblem, checked_settings, get_settings
from temporal_client import connect

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.split("\n\n")[0])
console = Console()  # results, on stdout
err_console = Console(stderr=True)  # rejections and failures, on stderr

MAX_WIDTH = 100  # longer lines are hard to read, even on a wide terminal
# One id per command invocation: every action of this run is sent with it, and case_api
# retries a transient fault with the same id, so nothing happens twice. `--request-id`
# repeats an earlier request (after "Temporal did not answer in time").
_request: dict[str, str] = {}

Ref = Annotated[
    str, typer.Argument(metavar="REF", help="the case's reference, e.g. BYG-2026-00123")
]
Dept = Annotated[str, typer.Argument(metavar="DEPARTMENT", help="building, environment or fire")]


@app.callback()
def main(
    request_id: Annotated[
        str | None,
        typer.Option(
            "--request-id",
            metavar="ID",
            help="repeat an earlier request with its id (printed when Temporal did not "
            "answer in time); the first attempt's result comes back, nothing happens twice",
        ),
    ] = None,
) -> None:
    """Command line for case systems, companies and officers."""
    _request["id"] = request_id.strip() if request_id and request_id.strip() else ""


def request_id() -> str:
    """The id of this command invocation's request (one per run of the command line)."""
    if not _request.get("id"):
        _request["id"] = case_api.new_request_id()
    return _request["id"]


# ------------------------------------------------------------------ output
def width() -> int:
    return max(40, min(console.width, MAX_WIDTH))


def wrap(text: str, indent: str = "", hang: str = "  ") -> str:
    """*text* wrapped to the terminal at spaces only: a reference, id, code, address or link
    is never broken or cut (one longer than the line stays whole). Continuation lines of each
    paragraph are indented by *hang*."""
    out = []
    for paragraph in text.split("\n"):
        out.append(
            textwrap.fill(
                paragraph,
                width(),
                initial_indent=indent,
                subsequent_indent=indent + hang,
                break_long_words=False,
                break_on_hyphens=False,
            )
            if paragraph.strip()
            else ""
        )
    return "\n".join(out)


def say(text: str = "", indent: str = "", hang: str = "  ") -> None:
    """Print plain text (no markup), wrapped to the terminal without breaking a word."""
    console.out(wrap(text, indent, hang), highlight=False)


def complain(text: str, style: str | None = "red") -> None:
    err_console.out(wrap(text), style=style, highlight=False)


def local(dt) -> str:
    return dt.astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M") if dt else "–"


# --------------------------------------------------------------- rejections
# Field names of the input models, as the officer typed them on the command line.
CLI_NAMES = {
    "at": "--at",
    "place": "--place",
    "video_link": "--video-link",
    "topic": "--topic",
    "note": "--note",
    "reason": "--reason",
    "grounds": "--grounds",
    "text": "--text",
    "conditions": "--condition",
    "description": "--description",
    "departments": "--department",
    "new_material": "--new-material",
    "replacing": "--replacing",
    "working_days": "DAYS",
    "caseworker_id": "CASEWORKER",
    "codes": "CODES",
    "level": "LEVEL",
    "outcome": "OUTCOME",
    "department": "DEPARTMENT",
    "accepted": "--yes/--no",
}
_FIELD_LINE = re.compile(r"^(?P<field>[a-z_]+)(?:\.(?P<index>\d+))?: ")


def cli_names(message: str, whole: str = "", names: dict[str, str] | None = None) -> str:
    """Name the command line's option or argument where a line names a model's field; a
    problem of the input as a whole (``(document)``) is given to *whole*."""

    def rename(match: re.Match[str]) -> str:
        name = (names or {}).get(match["field"]) or CLI_NAMES.get(match["field"])
        if name is None:
            return match[0]
        index = f" #{int(match['index']) + 1}" if match["index"] else ""
        return f"{name}{index}: "

    lines = []
    for line in message.split("\n"):
        if line.startswith("(document): "):
            line = line.replace("(document)", whole, 1) if whole else line[12:]
        lines.append(_FIELD_LINE.sub(rename, line, count=1))
    return "\n".join(lines)


def run(
    coro,
    reference: str | None = None,
    options: bool = True,
    whole: str = "",
    names: dict[str, str] | None = None,
):
    """Run *coro*. A rejection (CaseError, ValidationError) becomes a clear message on stderr
    and exit code 1, a service out of reach exit code 2: never a stack trace."""
    try:
        settings = checked_settings()
    except SettingsProblem as err:
        coro.close()
        complain(str(err))
        raise typer.Exit(1) from None
    configure_logging("WARNING", settings.log_json)
    try:
        return asyncio.run(coro)
    except case_api.CaseError as err:
        message = str(err)
        if reference:
            message = message.replace("<reference>", reference)
        if options:
            message = cli_names(message, whole, names)
        rid = _request.get("id")
        if rid and rid in message:
            message += (
                f"\nTo repeat it with the same id: starter.py --request-id {rid} "
                "<the same command and arguments>"
            )
        complain(message)
        raise typer.Exit(1) from None
    except ValidationError as err:
        complain(describe(err))
        raise typer.Exit(1) from None
    except (ConnectionError, OSError, RuntimeError) as err:
        complain(f"Could not reach a service: {err}")
        complain(
            "Is the stack running (./dev up), and are the ERHVERV_* settings right?", style=None
        )
        raise typer.Exit(2) from None


@asynccontextmanager
async def vault_for(settings, wanted: bool = True):
    """The vault that seals and opens personal fields (None when not *wanted*)."""
    if not wanted:
        yield None
        return
    async with case_api.store(settings.database_url) as sessions:
        yield case_api.vault(sessions, settings)


def client_call(
    fn, *args, reference: str | None = None, whole: str = "", personal: bool = False, **kwargs
):
    """Connect with the settings and call a case_api function (with the vault: *personal*)."""

    async def go():
        settings = get_settings()
        async with vault_for(settings, personal) as vault:
            more = {"vault": vault} if personal else {}
            return await fn(await connect(settings), *args, **more, **kwargs)

    return run(go(), reference=reference, whole=whole)


CLOSED_HOW = {
    "decided": "decided",
    "withdrawn": "withdrawn by the company",
    "dismissed_incomplete": "dismissed as incomplete",
}


async def explained(client, reference: str, err: case_api.CaseError, extra=None, what=""):
    """A rejection made clear from the case's state: a closed case says it is closed (Temporal
    answers "not found" for an update to a finished workflow); *extra(state)* may add lines."""
    message = str(err)
    what = what or (message.split(" rejected: ", 1)[0] if " rejected: " in message else "")
    try:
        state = await case_api.get_state(client, reference)
    except case_api.CaseError as missing:  # no such case
        text = str(missing)
        return (
            case_api.CaseError(f"{what} rejected: {text[:1].lower()}{text[1:]}")
            if what
            else missing
        )
    except Exception:  # noqa: BLE001 - the original rejection is still the answer
        return err
    if state.status.value == "closed":
        how = CLOSED_HOW.get(state.closing_reason.value, "") if state.closing_reason else ""
        when = f" {local(state.closed_at)}" if state.closed_at else ""
        return case_api.CaseError(
            f"{what or 'The action was'} rejected: case {reference} is closed"
            f"{f' ({how}{when})' if how else ''}; nothing more can be done on it."
        )
    more = extra(state) if extra else ""
    return case_api.CaseError(f"{message}\n{more}") if more else err


def act(
    fn,
    reference: str,
    *args,
    whole: str = "",
    extra=None,
    what: str = "",
    names: dict[str, str] | None = None,
    personal: bool = False,
    **kwargs,
):
    """An action on case *reference*, sent with this invocation's request id. A rejection is
    explained from the case's state (see `explained`); *whole* names the options a problem
    of the input as a whole is about, *names* the command's own names of fields. With
    *personal*, the company's words are sealed (and the result opened) by the vault."""

    async def go():
        settings = get_settings()
        client = await connect(settings)
        async with vault_for(settings, personal) as vault:
            more = {"vault": vault} if personal else {}
            try:
                return await fn(client, reference, *args, request_id=request_id(), **more, **kwargs)
            except case_api.CaseError as err:
                raise await explained(client, reference, err, extra, what) from None

    return run(go(), reference=reference, whole=whole, names=names)


# ------------------------------------------------------------------ commands
@app.command()
def start(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="JSON file with one case (schemas/intake.py)")
    ],
):
    """Start a case from a JSON intake file (the company gets a receipt)."""
    try:
        raw = file.read_bytes()
    except OSError as err:
        complain(f"Cannot read {file}: {err.strerror}")
        raise typer.Exit(1) from None

    async def go():
        intake = case_api.parse_intake(raw)
        settings = get_settings()
        if intake.pre_dialogue_booking:  # an unknown or cancelled booking: nothing starts
            import booking_api

            async with case_api.store(settings.database_url) as sessions:
                await booking_api.check_intake_booking(sessions, intake)
        client = await connect(settings)
        async with vault_for(settings) as vault:
            handle = await case_api.start_case(
                client, intake, settings.temporal_task_queue, vault=vault
            )
        return intake, handle.id, settings

    intake, workflow_id, settings = run(go(), options=False)
    say(
        f"Case {intake.reference} started (workflow {workflow_id}); the receipt goes to the "
        f"company."
    )
    say("Temporal UI:")
    say(
        f"http://127.0.0.1:{settings.temporal_ui_port}/namespaces/"
        f"{settings.temporal_namespace}/workflows/{workflow_id}",
        indent="  ",
    )


def plain(markdown_line: str) -> str:
    """One line of `domain.overview.lines` as plain text (no emphasis, no code marks)."""
    line = markdown_line.replace("**", "").replace("`", "")
    return re.sub(r"^#+ ", "", line)


def officer_lines(state: CaseState) -> list[str]:
    """What only an officer may see (personal data; not in the Temporal UI)."""
    intake = state.intake
    company = f"{intake.company.name}, CVR {intake.company.cvr}"
    if intake.company.p_number:
        company += f", P-number {intake.company.p_number}"
    contact = intake.contact
    out = [
        f"- Company: {company}",
        f"- Contact person: {contact.name}, {contact.email}, tel. {contact.phone}",
    ]
    if state.caseworker:
        cw = state.caseworker
        out.append(f"- Caseworker {cw.id}: {cw.name}, {cw.email}, tel. {cw.phone}")
    for meeting in state.pre_dialogues:
        when = local(meeting.at) if meeting.at else ""
        where = meeting.place or meeting.video_link or ""
        booked = ", ".join(part for part in (when, where) if part)
        if meeting.cancelled:
            how = f"cancelled (was {booked})" if booked else "cancelled"
        elif meeting.at is None:
            how = "requested"
            if meeting.requested_at:
                how += f" {local(meeting.requested_at)}"
        else:
            how = booked + (", held" if meeting.held else "")
        out.append(f"- Pre-dialogue ({meeting.topic.value}): {how}")
    if state.closing_note:
        out.append(f"- Closing note: {state.closing_note}")
    return out


def show_lines(state: CaseState) -> list[str]:
    """`starter.py show`: the Current details of the Temporal UI, then the officer's extras."""
    lines = [plain(line) for line in overview.lines(state)]
    lines += ["", "Only for officers (personal data, not in the Temporal UI):"]
    return lines + officer_lines(state)


@app.command()
def show(reference: Ref):
    """Show one case's live state (a query to its workflow)."""
    state = client_call(case_api.get_state, reference, reference=reference, personal=True)
    for line in show_lines(state):
        say(line)


@app.command()
def assign(
    reference: Ref,
    caseworker_id: Annotated[str, typer.Argument(metavar="CASEWORKER", help="initials, e.g. mkj")],
):
    """Make the first process-responsible caseworker (sends the contact letter)."""
    result = act(case_api.assign_caseworker, reference, caseworker_id)
    say(
        f"Case {reference} assigned to {result.caseworker.name} ({result.caseworker.id}); "
        f"the contact letter went to the company; contacted within the deadline: "
        f"{'yes' if result.within_contact_deadline else 'NO'}."
    )


@app.command()
def reassign(
    reference: Ref,
    new_id: Annotated[
        str, typer.Argument(metavar="NEW_ID", help="the new caseworker's initials, e.g. mkj")
    ],
    replacing: Annotated[
        str,
        typer.Option(metavar="OLD_ID", help="the caseworker handing the case over (see `show`)"),
    ],
):
    """Hand the case over to another caseworker (the company is told who it is now)."""
    result = act(
        case_api.assign_caseworker,
        reference,
        new_id,
        replacing=replacing,
        names={"caseworker_id": "NEW_ID"},
    )
    say(
        f"Case {reference} handed over from {replacing.strip().lower()} to "
        f"{result.caseworker.name} ({result.caseworker.id}); the company is told."
    )


@app.command("refresh-roster")
def refresh_roster(reference: Ref):
    """Let a running case see caseworkers added to the directory since it started."""
    known = act(case_api.refresh_roster, reference)
    say(f"Case {reference} now knows these caseworkers: {', '.join(known)}.")


def checklist_lines(state: CaseState) -> list[str]:
    received = set(state.received_material)
    missing = [m for m in state.required_material if m.code not in received]
    if not state.required_material:
        return [f"Case {state.intake.reference} has no material checklist yet."]
    head = (
        f"Case {state.intake.reference}: all {len(state.required_material)} items received "
        "(fuldt oplyst)."
        if not missing
        else f"Case {state.intake.reference}: {len(missing)} of "
        f"{len(state.required_material)} items missing (report them with `material`)."
    )
    lines = [head]
    for item in state.required_material:
        mark = "received" if item.code in received else "MISSING"
        lines.append(f"{mark:9} {item.code}")
        lines.append(f"{'':9} {item.title}")
    return lines


@app.command()
def checklist(
    reference: Ref,
    missing: Annotated[
        bool,
        typer.Option(
            "--missing",
            help="print only the missing codes, one a line (e.g. for `material REF $(...)`)",
        ),
    ] = False,
):
    """Show the case's required material: received and missing (codes for `material`)."""
    state = client_call(case_api.get_state, reference, reference=reference, personal=True)
    if missing:
        for item in state.required_material:
            if item.code not in state.received_material:
                console.out(item.code, highlight=False)
        return
    head, *items = checklist_lines(state)
    say(head)
    for line in items:
        say(line, hang=" " * 10)


@app.command()
def material(
    reference: Ref,
    codes: Annotated[
        list[str], typer.Argument(metavar="CODE...", help="checklist codes, see `checklist`")
    ],
):
    """Report material received (the company is told what is still missing)."""
    status = act(case_api.report_material, reference, codes)
    if status.complete:
        say(f"Case {reference} is complete (fuldt oplyst); the departments' reviews start.")
    else:
        say(f"Case {reference}: received. Still missing ({len(status.missing)}):")
        for item in status.missing:
            say(item.code, indent="  ")


@app.command("project-change")
def project_change(
    reference: Ref,
    description: Annotated[str, typer.Option(help="what changed, in Danish")],
    department: Annotated[list[str], typer.Option(help="affected department (repeat)")],
    new_material: Annotated[list[str], typer.Option(help="checklist code to deliver again")] = [],  # noqa: B006
):
    """The company reports a project change (may re-open reviews and move the date)."""
    state = act(
        case_api.report_project_change,
        reference,
        personal=True,
        description=description,
        departments=department,
        new_material=new_material,
    )
    say(
        f"Case {reference}: {state.status.value.replace('_', ' ')}; agreed decision date "
        f"{state.agreed_date or '–'}."
    )


@app.command("pre-dialogue")
def pre_dialogue(
    reference: Ref,
    topic: Annotated[str, typer.Option(help="general or sustainability")] = "general",
    note: Annotated[str, typer.Option(help="a note for the caseworker")] = "",
):
    """The company asks for a pre-dialogue."""
    act(case_api.request_pre_dialogue, reference, topic=topic, note=note, personal=True)
    say(f"Pre-dialogue ({topic}) requested in case {reference}; the caseworker books it.")


@app.command()
def book(
    reference: Ref,
    at: Annotated[str, typer.Option(help="ISO time with offset, e.g. 2026-12-03T10:00:00+01:00")],
    place: Annotated[str | None, typer.Option(help="where to meet")] = None,
    video_link: Annotated[str | None, typer.Option(help="a video meeting link")] = None,
    topic: Annotated[str, typer.Option(help="general or sustainability")] = "general",
):
    """The caseworker books (or moves) the pre-dialogue; both sides get a confirmation."""
    meeting = act(
        case_api.book_pre_dialogue,
        reference,
        whole="--place or --video-link",
        at=at,
        place=place,
        video_link=video_link,
        topic=topic,
    )
    verb = "moved to" if meeting.bookings > 1 else "booked for"
    say(
        f"Pre-dialogue ({topic}) in case {reference} {verb} {local(meeting.at)}; "
        "confirmations sent."
    )


@app.command("cancel-meeting")
def cancel_meeting(
    reference: Ref,
    reason: Annotated[str, typer.Option(help="why, in Danish (the company reads it)")],
    topic: Annotated[str, typer.Option(help="general or sustainability")] = "general",
):
    """Cancel the booked pre-dialogue (the company is told)."""
    act(case_api.cancel_pre_dialogue, reference, topic=topic, reason=reason)
    say(f"Pre-dialogue ({topic}) cancelled in case {reference}; the company is told.")


@app.command("meeting-held")
def meeting_held(
    reference: Ref,
    topic: Annotated[str, typer.Option(help="general or sustainability")] = "general",
):
    """Record that the pre-dialogue was held."""
    act(case_api.record_pre_dialogue_held, reference, topic=topic)
    say(f"Pre-dialogue ({topic}) recorded as held in case {reference}.")


@app.command()
def level(
    reference: Ref,
    level: Annotated[int, typer.Argument(metavar="LEVEL", help="1, 2 or 3")],
):
    """Change the sustainability level (level 3 sends the NBE offer)."""
    act(case_api.change_sustainability_level, reference, level)
    say(f"Case {reference} is now at sustainability level {level}.")


@app.command("nbe-answer")
def nbe_answer(reference: Ref, accepted: Annotated[bool, typer.Option("--yes/--no")]):
    """Record the company's answer to the NBE membership offer."""
    act(case_api.answer_nbe_offer, reference, accepted)
    say(f"NBE answer recorded in case {reference}: {'yes' if accepted else 'no'}.")


OUTCOMES = {"approve": "approved", "conditions": "approved_with_conditions", "refuse": "refused"}


@app.command()
def review(
    reference: Ref,
    department: Dept,
    outcome: Annotated[
        str, typer.Argument(metavar="OUTCOME", help="approve, conditions or refuse")
    ],
    text: Annotated[str, typer.Option(help="the department's assessment, in Danish")],
    condition: Annotated[list[str], typer.Option(help="a condition (repeat)")] = [],  # noqa: B006
):
    """A department's officer submits the review."""
    if outcome not in OUTCOMES:
        complain(f"OUTCOME: give one of {', '.join(OUTCOMES)} (not {outcome!r}).")
        raise typer.Exit(1)
    result = act(
        case_api.submit_review,
        reference,
        department,
        whole="--condition",
        what="Review",
        outcome=OUTCOMES[outcome],
        text=text,
        conditions=condition,
    )
    late = " (after the review deadline)" if result.late else ""
    say(f"The {department} review of case {reference} is submitted: {result.outcome.value}{late}.")


@app.command("more-time")
def more_time(
    reference: Ref,
    department: Dept,
    working_days: Annotated[
        int, typer.Argument(metavar="DAYS", help="how many more working days (1-60)")
    ],
    reason: Annotated[str, typer.Option(help="why, in Danish (the company reads it)")],
):
    """A review needs more time: the case moves the dates and tells the company why."""

    async def go():
        client = await connect(get_settings())
        try:
            moved = await case_api.request_more_time(
                client,
                reference,
                department,
                request_id=request_id(),
                working_days=working_days,
                reason=reason,
            )
        except case_api.CaseError as err:
            raise await explained(client, reference, err) from None
        try:  # the new agreed date, for the officer; the request has taken effect already
            return moved, (await case_api.get_state(client, reference)).agreed_date
        except Exception:  # noqa: BLE001
            return moved, None

    moved, agreed = run(go(), reference=reference)
    told = f"agreed decision date {agreed}" if agreed else "the company is told"
    say(
        f"New review deadline for {department} in case {reference}: "
        f"{local(moved.review_deadline)}; {told}."
    )


@app.command("restart-review")
def restart_review(reference: Ref, department: Dept):
    """Start a failed or stopped department review again, as a new round."""
    state = act(case_api.restart_review, reference, department)
    dept = case_api.department_of(department).value
    say(
        f"The {dept} review of case {reference} restarted as round "
        f"{state.review_rounds.get(dept, '?')}."
    )


def what_is_missing(state: CaseState) -> str:
    """Why a decision cannot be issued yet: the reviews not in, the material missing."""
    if state.closing is not None or state.status.value == "closed":
        return ""
    reference = state.intake.reference
    status = overview.review_status(state)
    lines = []
    open_ = [f"{d}: {status[d]}" for d in status if d not in state.reviews]
    if open_:
        lines.append(f"Reviews not in yet: {'; '.join(open_)}.")
    missing = [m for m in state.required_material if m.code not in state.received_material]
    if missing:
        lines.append(
            f"Material missing: {len(missing)} "
            f"{'item' if len(missing) == 1 else 'items'}; see starter.py checklist {reference}."
        )
    return "\n".join(lines)


@app.command()
def decide(reference: Ref, grounds: Annotated[str, typer.Option(help="Begrundelse, in Danish")]):
    """Issue the ONE coordinated decision (all reviews must be in); closes the case."""
    state = act(case_api.issue_decision, reference, grounds, extra=what_is_missing)
    on_time = "on or before" if state.decision_date <= state.agreed_date else "AFTER"
    say(
        f"Decision in case {reference} issued {state.decision_date}, {on_time} the agreed "
        f"date {state.agreed_date}; complaint deadline {state.complaint_deadline}."
    )


@app.command()
def withdraw(
    reference: Ref,
    reason: Annotated[str, typer.Option(help="why, if the company said")] = "",
):
    """The company withdraws the case (closing notice and survey are sent)."""
    state = act(case_api.withdraw, reference, reason, personal=True)
    say(f"Case {reference} withdrawn and closed; survey sent: {yes(state.survey_sent)}.")


@app.command()
def dismiss(
    reference: Ref,
    reason: Annotated[str, typer.Option(help="why, in Danish (the company reads it)")],
):
    """Dismiss the case as incomplete (only after the warning went out)."""
    state = act(case_api.dismiss, reference, reason)
    say(f"Case {reference} dismissed and closed; survey sent: {yes(state.survey_sent)}.")


def yes(value: bool) -> str:
    return "yes" if value else "no"


def database_sessions():
    """A session factory on the settings' database for one command (through the seam)."""
    return case_api.store(get_settings().database_url)


async def fetch_cases(limit: int) -> list[Any]:
    """The newest *limit* cases of the Postgres projection (case_api.list_cases)."""
    async with database_sessions() as sessions:
        page = await case_api.list_cases(sessions, CaseListQuery(limit=min(limit, 200)))
        return page.items


def case_block(row: Any) -> list[str]:
    """One case of `list`: its reference alone on the first line, then label: value lines."""
    status = row.status.replace("_", " ")
    if row.closing_reason:
        on_time = {True: ", on time", False: ", LATE", None: ""}[row.decided_on_time]
        status = f"closed: {row.closing_reason.replace('_', ' ')}{on_time}"
    elif row.missing_material and row.status == "awaiting_material":
        status += f" ({len(row.missing_material)} missing)"
    if row.contact_breached:
        contact = "BREACHED"
    elif row.contacted_at:
        contact = "ok"
    else:
        contact = f"waiting (deadline {local(row.contact_deadline)[:10]})"
    return [
        row.reference,
        f"  Status: {status} · Departments: {', '.join(row.departments)}",
        (
            f"  Received: {local(row.received_at)[:10]} · Caseworker: "
            f"{row.caseworker_id or '–'} · Contact: {contact}"
        ),
        f"  Agreed date: {row.agreed_date or '–'} · Late reviews: {row.late_reviews or 0}",
    ]


@app.command("list")
def list_cases(
    limit: Annotated[int, typer.Option(min=1, help="how many cases at most")] = 50,
):
    """List cases from the Postgres projection, newest first."""
    rows = run(fetch_cases(limit))
    if not rows:
        say("No cases yet (start one: starter.py start examples/case-building.json).")
        return
    say(f"{len(rows)} {'case' if len(rows) == 1 else 'cases'}, newest first:")
    for row in rows:
        say()
        for line in case_block(row):
            say(line, hang="    ")


# ------------------------------------------------------------------ api keys
api_keys = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="API keys of case systems (the web API's `Authorization: Bearer KEY`).",
)
app.add_typer(api_keys, name="api-key")
Name = Annotated[
    str,
    typer.Argument(
        metavar="NAME",
        help="the case system's name: 2-64 characters of a-z, 0-9, '.', '_' and '-'",
    ),
]


def access_call(fn, *args):
    """Call an access function with a session factory from the settings; its refusal is one
    line on stderr and exit code 1, like every rejection."""

    async def go():
        async with database_sessions() as sessions:
            try:
                return await fn(sessions, *args)
            except access.AccessError as err:
                raise case_api.CaseError(str(err), kind=err.kind) from None
            except ProgrammingError as err:
                if getattr(err.orig, "sqlstate", None) != "42P01":  # undefined table
                    raise
                raise case_api.CaseError(
                    "The database has no table for API keys yet: migrate it first "
                    "(.venv/bin/alembic upgrade head; ./dev up does it at start)."
                ) from None

    return run(go(), options=False)


@api_keys.command("create")
def api_key_create(name: Name):
    """Create the API key of case system NAME (shown once, alone on the last line).

    Only its hash is stored; `| tail -1` takes the key in a script."""
    key = access_call(access.create_api_key, name)
    say(
        f"API key for case system {name} created; it is shown only this once, on the next "
        "line. Send it as `Authorization: Bearer KEY`."
    )
    console.out(key, highlight=False)  # `out` never wraps: the key stays whole


@api_keys.command("revoke")
def api_key_revoke(name: Name):
    """Revoke the API key of case system NAME (requests with it are refused from now on)."""
    access_call(access.revoke_api_key, name)
    say(f"The API key of case system {name} is revoked; requests with it are refused from now on.")


# ------------------------------------------------------ the company's case page links
company_links = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="The signed links to the company's case page (/sag?t=...) that the letters carry.",
)
app.add_typer(company_links, name="company-link")


@company_links.command("revoke")
def company_link_revoke(reference: Ref):
    """Revoke every case page link the letters of case REF carried (e.g. a letter that
    reached the wrong person); the next letter to the company brings a new link."""
    from schemas.fields import check_reference

    try:
        reference = check_reference(reference)
    except ValueError as err:
        complain(f"REF: {err}")
        raise typer.Exit(1) from None

    async def go():
        async with database_sessions() as sessions:
            return await case_api.revoke_company_links(sessions, reference)

    count = run(go(), options=False)
    if count:
        say(
            f"Revoked {count} case page {'link' if count == 1 else 'links'} of case {reference}; "
            "they show a refusal from now on, and the next letter brings a new link."
        )
    else:
        say(f"Case {reference} had no working case page links; nothing was changed.")


# ------------------------------------------------ erasing a closed case's personal data
@app.command()
def erase(
    reference: Ref,
    by: Annotated[
        str,
        typer.Option("--by", metavar="CASEWORKER_ID", help="the operator (ERHVERV_OPERATORS)"),
    ],
    reason: Annotated[str, typer.Option(help="why: one line, no personal data (3-200 chars)")],
):
    """Erase a closed case's personal data (an operator; safe to repeat)."""
    import erasure_api

    async def go():
        settings = get_settings()
        who = by.strip().lower()
        if who not in settings.operators:
            raise case_api.CaseError(
                f"--by: {who or '(empty)'} is not an operator (ERHVERV_OPERATORS); only an "
                "operator erases a case's personal data."
            )
        async with case_api.store(settings.database_url) as sessions:
            if await case_api.staff_member(sessions, who) is None:
                raise case_api.CaseError(f"--by: no active caseworker has the id {who}.")
            try:
                return await erasure_api.erase_case(
                    sessions, settings, reference, who, reason, client=await connect(settings)
                )
            except erasure_api.ErasureError as err:
                raise case_api.CaseError(str(err), kind=err.kind) from None

    done = run(go(), reference=reference, options=False)
    if done.already_erased:
        say(
            f"Case {reference}: personal data already erased at {local(done.erased_at)} "
            f"by {done.erased_by}; nothing more to erase."
        )
    else:
        say(
            f"Case {reference}: personal data erased at {local(done.erased_at)} "
            f"by {done.erased_by}."
        )


@app.command()
def demo(
    cases: Annotated[int, typer.Option("--cases", min=1, max=5000, help="how many cases")] = 300,
    seed: Annotated[int, typer.Option(min=0, help="another seed, other cases")] = 1,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="the web service (default ERHVERV_PUBLIC_BASE_URL)"),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="cases at once")] = 12,
):
    """Fill the running stack with a realistic month of cases, through the users' doors.

    It acts only as real users do: the case systems' API, the officers' sign-in, the survey
    page (docs/demo.md). Safe to run twice: a second run with the same seed adds nothing."""
    import demo as demo_run

    try:
        settings = checked_settings()
    except SettingsProblem as err:
        complain(str(err))
        raise typer.Exit(1) from None
    configure_logging("WARNING", settings.log_json)
    raise typer.Exit(demo_run.main(settings, cases, seed, base_url, concurrency))


@app.command()
def report(
    month: Annotated[
        str,
        typer.Option("--month", metavar="YYYY-MM", help="the month, e.g. 2026-10 (over already)"),
    ],
):
    """Make a month's report for the business organisations now (docs/report.md).

    Stored once, e-mailed once with its PDF; a rerun changes and sends nothing.

    The schedule monthly-report makes it by itself on the 1st of the next month."""
    import report_api
    from schemas.report import MONTH_PATTERN

    if not re.match(MONTH_PATTERN, month.strip()):
        complain("--month must be a month as YYYY-MM, e.g. 2026-10.")
        raise typer.Exit(1)
    month = month.strip()

    async def go():
        settings = get_settings()
        client = await connect(settings)
        try:
            return await report_api.make_report(client, month, settings.temporal_task_queue)
        except report_api.ReportError as err:
            raise case_api.CaseError(str(err)) from None

    result = run(go(), options=False)
    base = get_settings().public_base_url.rstrip("/")
    say(
        f"Monthly report {result.month}: {result.cases} closed "
        f"{'case' if result.cases == 1 else 'cases'}; "
        + ("stored now" if result.created else "already stored (unchanged)")
        + "; "
        + ("e-mailed now" if result.mailed else "already e-mailed (not sent again)")
        + "."
    )
    say(f"Web: {base}/figures/rapporter/{result.month}")
    say(f"PDF: {base}/figures/rapporter/{result.month}.pdf")
    say(f"Workflow: {report_api.report_workflow_id(result.month)} (Temporal UI)")


def _exit_code(exit_: SystemExit) -> int:
    return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)


if __name__ == "__main__":
    try:
        app()
    except SystemExit as exit_:
        code = _exit_code(exit_)
    else:
        code = 0
    # The Temporal SDK's core threads can outlive interpreter shutdown and abort it
    # (temporalio/sdk-python#300): leave without finalisation once the work is done.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

"""Command line for case systems, companies and officers.

    python starter.py start examples/case-building.json   # a case system starts a case
    python starter.py list                                 # cases from the Postgres projection
    python starter.py show BYG-2026-00123                  # one case's live state (query)
    python starter.py assign BYG-2026-00123 mkj            # the process-responsible caseworker
    python starter.py material BYG-2026-00123 building.site_plan ...   # material received
    python starter.py review BYG-2026-00123 fire conditions --text ... --condition ...
    python starter.py decide BYG-2026-00123 --grounds "..."             # ONE decision
    (and: checklist, project-change, pre-dialogue, book, cancel-meeting, meeting-held,
     level, nbe-answer, more-time, withdraw, dismiss; each has --help)

Settings come from ERHVERV_* environment variables (see settings.py and the README).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

import case_api
from db.models import Case
from db.session import make_engine, make_sessionmaker
from domain.texts import COPENHAGEN
from log_setup import configure_logging
from settings import get_settings
from temporal_client import connect

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.split("\n\n")[0])
console = Console()


def run(coro):
    """Run *coro*; a CaseError becomes a clear message and exit code 1, not a stack trace."""
    settings = get_settings()
    configure_logging("WARNING", settings.log_json)
    try:
        return asyncio.run(coro)
    except case_api.CaseError as err:
        console.print(str(err), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    except (ConnectionError, OSError, RuntimeError) as err:
        console.print(f"Could not reach a service: {err}", style="red", markup=False)
        console.print("Is the stack running (./dev up), or are the ERHVERV_* settings right?")
        raise typer.Exit(2) from None


def local(dt) -> str:
    return dt.astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M") if dt else "–"


@app.command()
def start(
    file: Annotated[Path, typer.Argument(help="JSON file with one case (schemas/intake.py)")],
):
    """Start a case from a JSON intake file."""
    try:
        raw = file.read_bytes()
    except OSError as err:
        console.print(f"Cannot read {file}: {err.strerror}", style="red", markup=False)
        raise typer.Exit(1) from None

    async def go():
        intake = case_api.parse_intake(raw)
        settings = get_settings()
        client = await connect(settings)
        handle = await case_api.start_case(client, intake, settings.temporal_task_queue)
        console.print(
            f"Case [bold]{intake.reference}[/bold] started as workflow [bold]{handle.id}[/bold]."
        )
        console.print(
            f"Temporal UI: http://127.0.0.1:{settings.temporal_ui_port}/namespaces/"
            f"{settings.temporal_namespace}/workflows/{handle.id}"
        )

    run(go())


@app.command()
def show(reference: str):
    """Show one case's live state (a query to its workflow)."""

    async def go():
        state = await case_api.get_state(await connect(get_settings()), reference)
        table = Table(show_header=False)
        table.add_row("Reference", state.intake.reference)
        table.add_row("Status", state.status.value)
        table.add_row("Case type", state.intake.case_type.value)
        table.add_row("Departments", ", ".join(d.value for d in state.intake.departments))
        table.add_row("Company", f"{state.intake.company.name} (CVR {state.intake.company.cvr})")
        table.add_row("Received", local(state.intake.received_at))
        table.add_row("Contact deadline", local(state.contact_deadline))
        table.add_row(
            "Caseworker", state.caseworker.name if state.caseworker else "not yet assigned"
        )
        table.add_row("Contacted", local(state.contacted_at))
        table.add_row("Deadline breached", "YES" if state.contact_breached else "no")
        table.add_row("Sustainability level", str(state.sustainability_level))
        missing = [m.code for m in state.required_material if m.code not in state.received_material]
        table.add_row("Material missing", ", ".join(missing) or "none (fuldt oplyst)")
        table.add_row("Agreed decision date", str(state.agreed_date or "–"))
        table.add_row(
            "KL clock", " → ".join(f"{c.event.value} {local(c.at)}" for c in state.clock) or "–"
        )
        table.add_row(
            "Reviews",
            ", ".join(
                f"{d}: {state.reviews[d].outcome.value if d in state.reviews else 'open'} (round {r})"
                for d, r in state.review_rounds.items()
            ),
        )
        table.add_row("Late reviews", ", ".join(state.late_reviews) or "none")
        table.add_row(
            "Pre-dialogues",
            ", ".join(
                f"{m.topic.value}: {local(m.at) if m.at else 'requested'}"
                f"{' held' if m.held else ''}{' cancelled' if m.cancelled else ''}"
                for m in state.pre_dialogues
            )
            or "–",
        )
        if state.figures:
            f = state.figures
            table.add_row("Closed", f"{state.closing_reason.value} {local(state.closed_at)}")
            table.add_row(
                "Processing time",
                f"{f.gross_working_days} working days gross; "
                f"{f.net_processing_days} days net (KL); waited {f.waiting_days} days",
            )
        table.add_row("Letters sent", ", ".join(state.letters_sent) or "–")
        console.print(table)

    run(go())


@app.command()
def assign(
    reference: str, caseworker_id: Annotated[str, typer.Argument(help="initials, e.g. mkj")]
):
    """Make a caseworker the process-responsible caseworker (sends the contact letter)."""

    async def go():
        result = await case_api.assign_caseworker(
            await connect(get_settings()), reference, caseworker_id
        )
        verb = "reassigned to" if result.reassignment else "assigned to"
        console.print(
            f"Case {reference} {verb} {result.caseworker.name} ({result.caseworker.id}); "
            f"letter '{result.letter_key}' sent; within contact deadline: "
            f"{'yes' if result.within_contact_deadline else 'NO'}."
        )

    run(go())


def client_call(fn, *args, **kwargs):
    """Connect with the settings and call a case_api function."""

    async def go():
        return await fn(await connect(get_settings()), *args, **kwargs)

    return run(go())


def done(message: str) -> None:
    console.print(message, markup=False, highlight=False)


@app.command("refresh-roster")
def refresh_roster(reference: str):
    """Let a running case see caseworkers added to the directory since it started."""
    known = client_call(case_api.refresh_roster, reference)
    done(f"Case {reference} now knows: {', '.join(known)}.")


@app.command()
def checklist(reference: str):
    """Show the case's required material: received and missing (codes for `material`)."""
    state = client_call(case_api.get_state, reference)
    for item in state.required_material:
        mark = "received" if item.code in state.received_material else "MISSING"
        done(f"{mark:9} {item.code:40} {item.title}")


@app.command()
def material(
    reference: str,
    codes: Annotated[list[str], typer.Argument(help="checklist codes, see `checklist`")],
):
    """Report material received (the company is told what is still missing)."""
    status = client_call(case_api.report_material, reference, codes)
    if status.complete:
        done(f"Case {reference} is complete (fuldt oplyst).")
    else:
        done(f"Still missing: {', '.join(m.code for m in status.missing)}")


@app.command("project-change")
def project_change(
    reference: str,
    description: Annotated[str, typer.Option(help="what changed, in Danish")],
    department: Annotated[list[str], typer.Option(help="affected department (repeat)")],
    new_material: Annotated[list[str], typer.Option(help="checklist code to deliver again")] = [],  # noqa: B006
):
    """The company reports a project change (may re-open reviews and move the date)."""
    state = client_call(
        case_api.report_project_change,
        reference,
        description=description,
        departments=department,
        new_material=new_material,
    )
    done(f"Case {reference}: {state.status.value}; agreed date {state.agreed_date}.")


@app.command("pre-dialogue")
def pre_dialogue(reference: str, topic: str = "general", note: str = ""):
    """The company asks for a pre-dialogue (topic: general or sustainability)."""
    client_call(case_api.request_pre_dialogue, reference, topic=topic, note=note)
    done(f"Pre-dialogue ({topic}) requested in case {reference}.")


@app.command()
def book(
    reference: str,
    at: Annotated[str, typer.Option(help="ISO time with offset, e.g. 2026-12-03T10:00:00+01:00")],
    place: Annotated[str | None, typer.Option(help="where to meet")] = None,
    video_link: Annotated[str | None, typer.Option(help="a video meeting link")] = None,
    topic: str = "general",
):
    """The caseworker books (or moves) the pre-dialogue; both sides get a confirmation."""
    meeting = client_call(
        case_api.book_pre_dialogue,
        reference,
        at=at,
        place=place,
        video_link=video_link,
        topic=topic,
    )
    verb = "moved to" if meeting.bookings > 1 else "booked for"
    done(f"Pre-dialogue ({topic}) {verb} {local(meeting.at)}; confirmations sent.")


@app.command("cancel-meeting")
def cancel_meeting(reference: str, reason: Annotated[str, typer.Option()], topic: str = "general"):
    """Cancel the booked pre-dialogue (the company is told)."""
    client_call(case_api.cancel_pre_dialogue, reference, topic=topic, reason=reason)
    done(f"Pre-dialogue ({topic}) cancelled in case {reference}.")


@app.command("meeting-held")
def meeting_held(reference: str, topic: str = "general"):
    """Record that the pre-dialogue was held."""
    client_call(case_api.record_pre_dialogue_held, reference, topic=topic)
    done(f"Pre-dialogue ({topic}) recorded as held in case {reference}.")


@app.command()
def level(reference: str, level: int):
    """Change the sustainability level (1-3; level 3 sends the NBE offer)."""
    client_call(case_api.change_sustainability_level, reference, level)
    done(f"Case {reference} is now at sustainability level {level}.")


@app.command("nbe-answer")
def nbe_answer(reference: str, accepted: Annotated[bool, typer.Option("--yes/--no")]):
    """Record the company's answer to the NBE membership offer."""
    client_call(case_api.answer_nbe_offer, reference, accepted)
    done(f"NBE answer recorded: {'yes' if accepted else 'no'}.")


OUTCOMES = {"approve": "approved", "conditions": "approved_with_conditions", "refuse": "refused"}


@app.command()
def review(
    reference: str,
    department: str,
    outcome: Annotated[str, typer.Argument(help="approve, conditions or refuse")],
    text: Annotated[str, typer.Option(help="the department's assessment")],
    condition: Annotated[list[str], typer.Option(help="a condition (repeat)")] = [],  # noqa: B006
):
    """A department's officer submits the review."""
    if outcome not in OUTCOMES:
        console.print(f"Outcome must be one of: {', '.join(OUTCOMES)}.", style="red")
        raise typer.Exit(1)
    result = client_call(
        case_api.submit_review,
        reference,
        department,
        outcome=OUTCOMES[outcome],
        text=text,
        conditions=condition,
    )
    late = " (after the review deadline)" if result.late else ""
    done(f"Review of {department} submitted: {result.outcome.value}{late}.")


@app.command("more-time")
def more_time(
    reference: str,
    department: str,
    working_days: int,
    reason: Annotated[str, typer.Option(help="why, in Danish (the company reads it)")],
):
    """A department asks for more time; the coordinator moves the dates and tells the company."""
    moved = client_call(
        case_api.request_more_time,
        reference,
        department,
        working_days=working_days,
        reason=reason,
    )
    done(f"New review deadline for {department}: {local(moved.review_deadline)}.")


@app.command()
def decide(reference: str, grounds: Annotated[str, typer.Option(help="Begrundelse, in Danish")]):
    """Issue the ONE coordinated decision (all reviews must be in); closes the case."""
    state = client_call(case_api.issue_decision, reference, grounds)
    on_time = "on or before" if state.decision_date <= state.agreed_date else "AFTER"
    done(
        f"Decision issued {state.decision_date}, {on_time} the agreed date {state.agreed_date}; "
        f"complaint deadline {state.complaint_deadline}."
    )


@app.command()
def withdraw(reference: str, reason: str = ""):
    """The company withdraws the case (closing notice and survey are sent)."""
    state = client_call(case_api.withdraw, reference, reason)
    done(f"Case {reference} withdrawn and closed; survey sent: {state.survey_sent}.")


@app.command()
def dismiss(reference: str, reason: Annotated[str, typer.Option()]):
    """Dismiss the case as incomplete (only after the warning went out)."""
    state = client_call(case_api.dismiss, reference, reason)
    done(f"Case {reference} dismissed and closed; survey sent: {state.survey_sent}.")


@app.command("list")
def list_cases(limit: int = 50):
    """List cases from the Postgres projection, newest first."""

    async def go():
        engine = make_engine(get_settings().database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                rows = (
                    await session.scalars(
                        select(Case).order_by(Case.received_at.desc()).limit(limit)
                    )
                ).all()
        finally:
            await engine.dispose()
        table = Table(
            "Reference", "Departments", "Status", "Received", "Caseworker", "Contact",
            "Agreed date", "Late reviews", "Closed",
        )  # fmt: skip
        for r in rows:
            contact = "BREACHED" if r.contact_breached else ("ok" if r.contacted_at else "waiting")
            closed = "–"
            if r.closing_reason:
                on_time = {True: ", on time", False: ", LATE", None: ""}[r.decided_on_time]
                closed = f"{r.closing_reason}{on_time}"
            table.add_row(
                r.reference,
                ", ".join(d[:3] for d in r.departments),
                r.status,
                local(r.received_at)[:10],
                r.caseworker_id or "–",
                contact,
                str(r.agreed_date or "–"),
                str(r.late_reviews or 0),
                closed,
            )
        console.print(table)

    run(go())


if __name__ == "__main__":
    try:
        app()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    else:
        code = 0
    # The Temporal SDK's core threads can outlive interpreter shutdown and abort it
    # (temporalio/sdk-python#300): leave without finalisation once the work is done.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

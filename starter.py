"""Command line for case systems and officers.

    python starter.py start examples/case-building.json   # a case system starts a case
    python starter.py list                                 # cases from the Postgres projection
    python starter.py show BYG-2026-00123                  # one case's live state (query)
    python starter.py assign BYG-2026-00123 mkj            # an officer assigns the caseworker

Settings come from ERHVERV_* environment variables (see settings.py and the README).
"""

from __future__ import annotations

import asyncio
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
            "Reference",
            "Type",
            "Departments",
            "Status",
            "Received",
            "Contact deadline",
            "Caseworker",
            "Breached",
        )
        for r in rows:
            table.add_row(
                r.reference,
                r.case_type,
                ", ".join(r.departments),
                r.status,
                local(r.received_at),
                local(r.contact_deadline),
                r.caseworker_id or "–",
                "YES" if r.contact_breached else "no",
            )
        console.print(table)

    run(go())


if __name__ == "__main__":
    app()

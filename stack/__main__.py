"""`python -m stack up`: Postgres, Temporal, the SMTP sink, the worker and the web service in
one command.

While it runs, every part is watched and restarted when it stops (see stack/supervisor.py).
`python -m stack mails` lists what the SMTP sink has received.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import textwrap
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url
from temporalio.runtime import Runtime

from log_setup import temporal_runtime
from settings import ROOT, Settings, get_settings
from stack.dev import DevStack, running_stack, service_env
from stack.errors import PortInUseError, StackError
from stack.smtp_sink import ReceivedMail, read_mails
from stack.supervisor import (
    MAX_ATTEMPTS,
    Backoff,
    Event,
    GaveUpError,
    PostgresPart,
    SmtpPart,
    Supervisor,
    TemporalPart,
    WebPart,
    WorkerPart,
)
from stack.web import PART as WEB_PART
from stack.worker import WorkerProcess

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
SETTING_FOR_PART = {
    "Temporal (gRPC)": "ERHVERV_TEMPORAL_ADDRESS",
    "Temporal (Web UI)": "ERHVERV_TEMPORAL_UI_PORT",
    "Postgres": "ERHVERV_DATABASE_URL",
    "the SMTP sink": "ERHVERV_SMTP_PORT",
    WEB_PART: "ERHVERV_WEB_PORT",
}


_IMPORTED_AT = time.monotonic()


def _process_age() -> float:
    """Seconds since this module was imported (`./dev up` execs into this process after the
    installation, so the process's own age would count the installation too)."""
    return time.monotonic() - _IMPORTED_AT


def _stack_options(settings: Settings) -> dict[str, Any]:
    """`running_stack` options from the settings; refuse settings that point elsewhere."""
    host, _, port = settings.temporal_address.rpartition(":")
    if not port.isdigit():
        raise StackError(f"ERHVERV_TEMPORAL_ADDRESS must be host:port, not {port!r}.")
    url = make_url(settings.database_url)
    for setting, value in (
        ("ERHVERV_TEMPORAL_ADDRESS", host),
        ("ERHVERV_DATABASE_URL", url.host or "127.0.0.1"),
        ("ERHVERV_SMTP_HOST", settings.smtp_host),
        ("ERHVERV_WEB_HOST", settings.web_host),
    ):
        if value not in LOCAL_HOSTS:
            raise StackError(
                f"{setting} points at {value!r}; the embedded stack runs on "
                "127.0.0.1 only. Unset it to use the stack."
            )
    ports = {
        "ERHVERV_TEMPORAL_ADDRESS": int(port),
        "ERHVERV_TEMPORAL_UI_PORT": settings.temporal_ui_port,
        "ERHVERV_DATABASE_URL": url.port or 5432,
        "ERHVERV_SMTP_PORT": settings.smtp_port,
        "ERHVERV_WEB_PORT": settings.web_port,
    }
    if len(set(ports.values())) < len(ports):
        raise StackError(f"Two settings name the same port: {ports}. Give each part its own.")
    return {
        "temporal_port": int(port),
        "ui_port": settings.temporal_ui_port,
        "pg_port": url.port or 5432,
        "smtp_port": settings.smtp_port,
        "pg_user": url.username or "erhverv",
        "pg_database": url.database or "erhverv",
        "namespace": settings.temporal_namespace,
        "web_port": settings.web_port,
    }


def _worker_env(dev: DevStack, settings: Settings) -> dict[str, str]:
    """The worker's environment: the same as the web service's (`service_env`)."""
    return service_env(dev)


async def _prepare_database(url: str, caseworkers: Path) -> None:
    from db.migrate import upgrade
    from db.seed import seed_caseworkers

    if not caseworkers.exists():
        raise StackError(
            f"The caseworker file {caseworkers} does not exist (setting ERHVERV_CASEWORKERS_FILE)."
        )
    await upgrade(url)
    await seed_caseworkers(url, caseworkers)


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _panel(
    dev: DevStack,
    worker: WorkerProcess,
    settings: Settings,
    timings: dict[str, float],
    total: float,
) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan", no_wrap=True)
    grid.add_column()
    grid.add_row("Web / API", f"{dev.web_url}  (docs: /docs, OpenAPI: /openapi.json)")
    grid.add_row(
        "In a browser",
        f"{dev.web_url}/log-ind (staff: pick a caseworker), /sagsbehandler (worklist), "
        "/forhaandsdialog (booking), /vejledning (guidance), /dev/post (the mails, with "
        "the company's case-page links)",
    )
    grid.add_row("Temporal UI", dev.temporal.ui_url)
    grid.add_row(
        "Temporal gRPC",
        f"{dev.temporal_address}  (namespace {dev.temporal.namespace}, "
        f"task queue {settings.temporal_task_queue})",
    )
    grid.add_row("Postgres", dev.database_url)
    grid.add_row(
        "Mails",
        f"{_rel(dev.mail_dir)}/  one .eml file per mail received on "
        f"{dev.smtp.host}:{dev.smtp.port} (nothing is sent on). Read them with "
        "[bold].venv/bin/python -m stack mails[/] or any mail client/editor.",
    )
    grid.add_row("Worker log", f"{_rel(worker.log_file)}  (pid {worker.pid})")
    if dev.web is not None:
        grid.add_row("Web log", f"{_rel(dev.web.log_file)}  (pid {dev.web.pid})")
    grid.add_row("Other logs", f"{_rel(dev.log_dir)}/  (temporal.log, postgres.log)")
    grid.add_row(
        "Start a case", "[bold].venv/bin/python starter.py start examples/case-building.json[/]"
    )
    backoff = Backoff()
    grid.add_row(
        "Watching",
        f"every part; one that stops is restarted ({backoff.initial:g} s, doubling to "
        f"{backoff.cap:g} s); after {MAX_ATTEMPTS} failed attempts in a row the stack stops",
    )
    grid.add_row("Stop", "Ctrl-C (stops web service, worker, SMTP sink, Temporal, Postgres)")
    parts = ", ".join(f"{name} {secs:.2f} s" for name, secs in timings.items())
    grid.add_row("Start-up", f"[bold green]{total:.1f} s[/] in all  ({parts})")
    return Panel(
        grid, title="Erhvervssag development stack is running", border_style="green", expand=False
    )


_stop_requested_at: list[float] = []


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """First SIGINT/SIGTERM: shut down; ignore further ones while stopping."""
    _stop_requested_at.append(time.monotonic())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


_EVENT_STYLE = {"down": "yellow", "back": "green", "failed": "red"}


def _report(event: Event, message: str) -> None:
    """One console line per supervision event, e.g. `12:03:01 worker exited (signal 9,
    SIGKILL); restarting in 0.5 s (attempt 1)`."""
    console.print(
        Text.assemble((f"{datetime.now():%H:%M:%S} ", "dim"), (message, _EVENT_STYLE[event])),
        soft_wrap=True,
    )


def _supervisor(dev: DevStack, worker: WorkerProcess, settings: Settings) -> Supervisor:
    """Watch every part; the worker counts as back once it polls its task queue again."""

    def worker_ready() -> None:
        asyncio.run(
            worker.wait_ready(
                dev.temporal_address,
                dev.temporal.namespace,
                settings.temporal_task_queue,
                timeout=30.0,
            )
        )

    def migrate() -> None:  # idempotent; matters only if the data directory was lost
        asyncio.run(_prepare_database(dev.database_url, settings.caseworkers_file))

    parts = [
        PostgresPart(dev.postgres, after=migrate),
        TemporalPart(dev.temporal),
        SmtpPart(dev.smtp),
        WorkerPart(worker, ready=worker_ready),
    ]
    if dev.web is not None:
        parts.append(WebPart(dev.web))
    return Supervisor(parts, _report)


@app.command()
def up() -> None:
    """Start the whole development stack and run until Ctrl-C."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    settings = get_settings()
    logging.basicConfig(
        level=logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )
    logging.getLogger("stack").setLevel(settings.log_level.upper())
    # The SDK core's warnings (e.g. while Temporal restarts) as log records, not raw text.
    Runtime.set_default(temporal_runtime(), error_if_already_set=False)
    step = "reading settings"
    try:
        options = _stack_options(settings)
        step = "starting the web service, Postgres, Temporal and the SMTP sink"
        with ExitStack() as cleanup:
            with console.status(f"{step.capitalize()} …"):
                dev = cleanup.enter_context(
                    running_stack(settings.state_dir, **options, wait_for_web=False)
                )
            timings = dict(dev.startup_seconds)
            timings.pop("web", None)  # it starts while the rest does; awaited last
            step = "running migrations and seeding caseworkers"
            began = time.monotonic()
            with console.status(f"{step.capitalize()} …"):
                asyncio.run(_prepare_database(dev.database_url, settings.caseworkers_file))
            timings["migrations"] = time.monotonic() - began
            step = "starting the worker"
            worker = WorkerProcess(
                ROOT / "worker.py",
                dev.log_dir / "worker.log",
                _worker_env(dev, settings),
                cwd=ROOT,
                pid_file=dev.state_dir / "worker.pid",
            )
            cleanup.callback(worker.stop)
            if dev.web is not None:
                cleanup.callback(dev.web.stop)  # stopped first: the way in closes first
            with console.status(f"{step.capitalize()} …"):
                worker.start()
                asyncio.run(
                    worker.wait_ready(
                        dev.temporal_address, dev.temporal.namespace, settings.temporal_task_queue
                    )
                )
            timings["worker"] = worker.startup_seconds or 0.0
            if dev.web is not None:
                step = "starting the web service"
                with console.status(f"{step.capitalize()} …"):
                    dev.web.wait_ready()
                timings["web"] = dev.web.startup_seconds or 0.0
            console.print(_panel(dev, worker, settings, timings, _process_age()))
            step = "running"
            # From here on the console shows one line per event, not the parts' own info.
            logging.getLogger("stack").setLevel(
                max(logging.WARNING, logging.getLogger("stack").getEffectiveLevel())
            )
            try:
                _supervisor(dev, worker, settings).run()
            finally:
                console.print("Stopping: web service, worker, SMTP sink, Temporal, Postgres …")
    except KeyboardInterrupt:
        began = _stop_requested_at[0] if _stop_requested_at else time.monotonic()
        console.print(f"[green]Stopped[/] in {time.monotonic() - began:.1f} s.")
    except PortInUseError as err:
        setting = SETTING_FOR_PART.get(err.part, "the matching ERHVERV_* setting")
        console.print(
            f"[red bold]Could not start:[/] {err} Stop whatever uses it, or choose "
            f"another port with {setting}. Everything that had started was stopped."
        )
        raise typer.Exit(1) from None
    except GaveUpError as err:
        console.print(Text.assemble(("Gave up: ", "red bold"), str(err)))
        console.print("Everything the stack had started was stopped.")
        raise typer.Exit(1) from None
    except StackError as err:
        console.print(f"[red bold]Failed while {step}:[/] {escape(str(err))}")
        if step != "reading settings":
            console.print("Everything that had started was stopped.")
        raise typer.Exit(1) from None
    except Exception:  # noqa: BLE001 - unexpected: show the traceback, exit 1
        console.print(
            f"[red bold]Failed while {step}[/] (everything that had started was stopped):"
        )
        console.print_exception()
        raise typer.Exit(1) from None


def _mail_header(
    mail: ReceivedMail, number: int, count: int, width: int, full: bool = True
) -> list[str]:
    """A mail's envelope as label: value lines, wrapped at spaces (never inside an address,
    a reference or the file name); the sender only in *full* (it is always the same)."""
    lines = [f"Mail {number} of {count} · {mail.path.name}"]
    fields = [
        ("Received", f"{mail.received_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"),
        ("From", mail.sender if full else ""),
        ("To", ", ".join(mail.to)),
        ("Cc", ", ".join(mail.cc)),
        ("Subject", mail.subject),
    ]
    for label, value in fields:
        if value:
            lines.append(
                textwrap.fill(
                    f"{label}: {value}",
                    width,
                    initial_indent="  ",
                    subsequent_indent="    ",
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
    return lines


_LIST_ITEM = re.compile(r"^(\s*)(- |\* |\d+\. )?")


def _body_for_terminal(body: str, width: int) -> str:
    """A mail's text as sent, each line longer than the terminal wrapped at spaces (a link,
    an address or a reference stays whole; list items and indented lines keep their indent).
    The letters are one line per paragraph; a mail program wraps them the same way."""
    out = []
    for line in body.rstrip("\n").split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        match = _LIST_ITEM.match(line)
        indent, hang = match.group(1), " " * len(match.group(0))
        out.append(
            textwrap.fill(
                line[len(indent) :],
                width,
                initial_indent=indent,
                subsequent_indent=hang,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(out)


@app.command()
def mails(
    last: int = typer.Option(
        0, "--last", "-n", min=0, help="Print the last N mails in full (headers and text)."
    ),
) -> None:
    """List the mails the SMTP sink has stored (oldest first); -n N prints the last N in full.

    Wrapped to the terminal at spaces, never cut: a link or a reference stays whole.
    """
    mail_dir = get_settings().state_dir / "mail"
    received = read_mails(mail_dir)
    width = max(40, min(console.width, 100))
    if not received:
        console.out(f"No mails in {_rel(mail_dir)} yet.", highlight=False)
        return
    count = len(received)
    if not last:
        heading = (
            f"{count} {'mail' if count == 1 else 'mails'} in {_rel(mail_dir)}, oldest first "
            "(-n N prints the last N in full):"
        )
        console.out(
            textwrap.fill(
                heading,
                width,
                subsequent_indent="  ",
                break_long_words=False,
                break_on_hyphens=False,
            ),
            highlight=False,
        )
        for number, mail in enumerate(received, 1):
            lines = _mail_header(mail, number, count, width, full=False)
            console.out("\n".join(lines), highlight=False)
        return
    first = max(count - last, 0)
    for number, mail in enumerate(received[first:], first + 1):
        console.out("─" * width, highlight=False)
        console.out("\n".join(_mail_header(mail, number, count, width)), highlight=False)
        console.out("", highlight=False)
        console.out(_body_for_terminal(mail.body, width), highlight=False)


if __name__ == "__main__":
    app()

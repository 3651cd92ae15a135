"""Keep the stack's parts running: watch each one, restart it with exponential backoff.

`python -m stack up` checks every part once a second (`CHECK_INTERVAL`): the worker, the web
service and the Temporal dev server (their processes), Postgres (the postmaster's PID from postmaster.pid) and
the SMTP sink (it must greet on its port). A part that stopped is restarted after 0.5 s, then
1, 2, 4, 8 and at most 10 s (`Backoff`) while it keeps failing; the count starts again once a
part has run for `STABLE_AFTER` seconds. After `MAX_ATTEMPTS` attempts in a row the stack gives
up with `GaveUpError`, naming the part and what to check. Every event is one line for the
console, passed to *report*.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from stack.errors import StackError
from stack.pidfile import describe_exit
from stack.postgres import EmbeddedPostgres
from stack.process import ChildProcess
from stack.smtp_sink import SmtpSink
from stack.temporal import TemporalDevServer
from stack.web import WebProcess
from stack.worker import WorkerProcess

CHECK_INTERVAL = 1.0  # seconds between two rounds of checks
STABLE_AFTER = 30.0  # seconds a part must run before its attempt count starts again
MAX_ATTEMPTS = 6  # restarts in a row (0.5 + 1 + 2 + 4 + 8 + 10 s apart) before giving up

Event = Literal["down", "back", "failed"]
Report = Callable[[Event, str], None]


@dataclass(frozen=True)
class Backoff:
    """Delay before restart number *attempt* (1, 2, ...): initial * factor^(attempt-1), capped."""

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 10.0

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.initial * self.factor ** max(attempt - 1, 0))


class Part(Protocol):
    """What the supervisor needs of a part of the stack."""

    name: str

    def problem(self) -> str | None:
        """None while healthy, else what happened (e.g. "exited (signal 9, SIGKILL)")."""

    def restart(self) -> str:
        """Bring the part back (blocking); returns a detail for the console, e.g. "pid 42"."""

    def hint(self) -> str:
        """What a person should check when the part cannot be brought back."""


class GaveUpError(StackError):
    """A part could not be brought back after `MAX_ATTEMPTS` attempts."""

    def __init__(self, part: Part, attempts: int, last: str) -> None:
        super().__init__(
            f"The {part.name} could not be brought back after {attempts} attempts "
            f"(last: {last}). {part.hint()}"
        )
        self.part = part


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


@dataclass
class _Watched:
    part: Part
    up_since: float
    attempt: int = 0  # restarts since the part last ran stably
    due: float | None = None  # when the next restart is due; None while healthy
    down_since: float | None = None
    last: str = ""  # the last problem or restart error


class Supervisor:
    """Checks the parts (in the given order) and restarts those that stopped."""

    def __init__(
        self,
        parts: list[Part],
        report: Report,
        *,
        backoff: Backoff = Backoff(),
        max_attempts: int = MAX_ATTEMPTS,
        stable_after: float = STABLE_AFTER,
        interval: float = CHECK_INTERVAL,
    ) -> None:
        now = time.monotonic()
        self._watched = [_Watched(part, up_since=now) for part in parts]
        self.report = report
        self.backoff = backoff
        self.max_attempts = max_attempts
        self.stable_after = stable_after
        self.interval = interval
        self.restarts = 0  # restarts that brought a part back, in all

    def run(self, until: Callable[[], bool] = lambda: False) -> None:
        """Check and restart until *until()* is true (or Ctrl-C); raises `GaveUpError`."""
        next_check = time.monotonic()
        while not until():
            now = time.monotonic()
            if now >= next_check:
                self.check()
                next_check = now + self.interval
            else:
                self.restart_due()
            dues = [w.due for w in self._watched if w.due is not None]
            wake = min([next_check, *dues])
            time.sleep(min(max(wake - time.monotonic(), 0.02), self.interval))

    def check(self) -> None:
        """One round: notice parts that stopped, restart those whose delay is over."""
        now = time.monotonic()
        for watched in self._watched:
            if watched.due is not None:
                continue  # already known to be down; restarted when due
            problem = watched.part.problem()
            if problem is None:
                if watched.attempt and now - watched.up_since >= self.stable_after:
                    watched.attempt = 0
                continue
            watched.down_since = now
            self._schedule(watched, problem, f"{watched.part.name} {problem}; restarting")
        self.restart_due()

    def restart_due(self) -> None:
        for watched in self._watched:
            if watched.due is not None and time.monotonic() >= watched.due:
                self._restart(watched)

    # -- internals -------------------------------------------------------------------------

    def _schedule(self, watched: _Watched, last: str, what: str) -> None:
        watched.last = last
        watched.attempt += 1
        if watched.attempt > self.max_attempts:
            raise GaveUpError(watched.part, self.max_attempts, last)
        delay = self.backoff.delay(watched.attempt)
        watched.due = time.monotonic() + delay
        self.report("down", f"{what} in {delay:.1f} s (attempt {watched.attempt})")

    def _restart(self, watched: _Watched) -> None:
        part = watched.part
        try:
            detail = part.restart()
        except Exception as err:  # noqa: BLE001 - any failure is one more attempt
            why = _first_line(err)
            self._schedule(watched, why, f"{part.name} did not come back ({why}); retrying")
            return
        now = time.monotonic()
        down = now - (watched.down_since or now)
        watched.due = None
        watched.up_since = now
        self.restarts += 1
        self.report("back", f"{part.name} is back ({detail}) after {down:.1f} s")


# -- the stack's parts ---------------------------------------------------------------------


class ProcessPart:
    """A child process of the stack (`ChildProcess`); *ready* blocks until a new process is
    ready."""

    name: str

    def __init__(self, process: ChildProcess, ready: Callable[[], None]) -> None:
        self.process = process
        self.ready = ready

    def problem(self) -> str | None:
        code = self.process.returncode
        return None if code is None else describe_exit(code)

    def restart(self) -> str:
        self.process.stop()  # reaps the old process, closes its log handle
        self.process.start()
        try:
            self.ready()
        except StackError:
            if (code := self.process.returncode) is None:
                raise
            raise StackError(f"{describe_exit(code)} while starting") from None
        return f"pid {self.process.pid}"

    def hint(self) -> str:
        tail = self.process.log_tail(10)
        return f"Check {self.process.log_file}" + (f"; its last lines:\n{tail}" if tail else ".")


class WorkerPart(ProcessPart):
    """The worker subprocess; *ready* blocks until the new process polls its task queue."""

    name = "worker"

    def __init__(self, worker: WorkerProcess, ready: Callable[[], None]) -> None:
        super().__init__(worker, ready)
        self.worker = worker


class WebPart(ProcessPart):
    """The web service subprocess; back once `/healthz` answers again."""

    name = "web service"

    def __init__(self, web: WebProcess, ready: Callable[[], None] | None = None) -> None:
        super().__init__(web, ready or web.wait_ready)
        self.web = web

    def hint(self) -> str:
        return (
            f"Check whether port {self.web.port} on 127.0.0.1 is taken by another program "
            f"(setting ERHVERV_WEB_PORT). {super().hint()}"
        )


class TemporalPart:
    """The Temporal dev server process (its workflows are in its database file)."""

    name = "Temporal dev server"

    def __init__(self, server: TemporalDevServer) -> None:
        self.server = server

    def problem(self) -> str | None:
        code = self.server.returncode
        return None if code is None else describe_exit(code)

    def restart(self) -> str:
        self.server.stop()
        self.server.start()
        return f"pid {self.server.pid}"

    def hint(self) -> str:
        return (
            f"Check {self.server.log_file}, and whether ports {self.server.port} and "
            f"{self.server.ui_port} on 127.0.0.1 are taken by another program."
        )


class PostgresPart:
    """The postmaster; *after* runs once it is back (e.g. migrations, if the data was lost)."""

    name = "Postgres"

    def __init__(self, postgres: EmbeddedPostgres, after: Callable[[], None] | None = None):
        self.postgres = postgres
        self.after = after

    def problem(self) -> str | None:
        return self.postgres.problem()

    def restart(self) -> str:
        self.postgres.restart()
        if self.after is not None:
            self.after()
        return f"postmaster pid {self.postgres.postmaster_pid()}"

    def hint(self) -> str:
        return (
            f"Check {self.postgres.log_file}, and whether port {self.postgres.port} on "
            "127.0.0.1 is taken by another program."
        )


class SmtpPart:
    """The SMTP sink (a thread of this process)."""

    name = "SMTP sink"

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    def problem(self) -> str | None:
        return self.sink.problem()

    def restart(self) -> str:
        self.sink.restart()
        return f"{self.sink.host}:{self.sink.port}"

    def hint(self) -> str:
        return f"Check whether port {self.sink.port} on 127.0.0.1 is taken by another program."

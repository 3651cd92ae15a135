"""The development stack heals itself (issue 7).

End to end: `python -m stack up` runs as a subprocess on free ports with a tmp state folder,
as `./dev up` would; its worker, its web service, its postmaster and its Temporal dev server
are killed by PID (SIGKILL), and each comes back on its own, with one console line per event,
while new cases still get their receipt exactly once. In process: the supervisor's backoff, its reset after a
stable run, giving up on a worker that keeps crashing, and the SMTP sink coming back.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import asyncpg
import httpx
import pytest

import case_api
from settings import ROOT, Settings
from stack.pidfile import alive
from stack.ports import free_port, port_is_free
from stack.smtp_sink import SmtpSink, read_mails, wait_for_mails
from stack.supervisor import (
    Backoff,
    GaveUpError,
    SmtpPart,
    Supervisor,
    WorkerPart,
)
from stack.worker import WorkerProcess
from temporal_client import connect
from tests.conftest import make_intake
from tests.test_stack import shared_tmp_dir

TIMEOUT = 60.0  # generous: a slow machine still passes; nothing here measures speed


def wait_for(check: Callable[[], object], what: str, timeout: float = TIMEOUT) -> object:
    """Poll *check* until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)
    return result


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


class StackUp:
    """`python -m stack up` as a subprocess; its console output goes to a file."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.ports = {name: free_port() for name in ("temporal", "ui", "pg", "smtp", "web")}
        self.settings = Settings(
            temporal_address=f"127.0.0.1:{self.ports['temporal']}",
            temporal_ui_port=self.ports["ui"],
            database_url=f"postgresql+asyncpg://erhverv@127.0.0.1:{self.ports['pg']}/erhverv",
            smtp_port=self.ports["smtp"],
            web_port=self.ports["web"],
            state_dir=state,
        )
        self.console_file = state.parent / "console.txt"
        env = os.environ | {
            "ERHVERV_STATE_DIR": str(state),
            "ERHVERV_TEMPORAL_ADDRESS": self.settings.temporal_address,
            "ERHVERV_TEMPORAL_UI_PORT": str(self.ports["ui"]),
            "ERHVERV_DATABASE_URL": self.settings.database_url,
            "ERHVERV_SMTP_PORT": str(self.ports["smtp"]),
            "ERHVERV_WEB_PORT": str(self.ports["web"]),
            "ERHVERV_TEMPORAL_TASK_QUEUE": self.settings.temporal_task_queue,
            "PYTHONUNBUFFERED": "1",
            "COLUMNS": "200",
        }
        with self.console_file.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "stack", "up"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(
            lambda: self.proc.poll() is not None or "stack is running" in self.console(),
            "the stack's panel",
        )
        assert self.proc.poll() is None, self.console()

    def console(self) -> str:
        return self.console_file.read_text(errors="replace")

    @property
    def worker_pid(self) -> int | None:
        return read_pid(self.state / "worker.pid")

    @property
    def web_pid(self) -> int | None:
        return read_pid(self.state / "web.pid")

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['web']}"

    @property
    def postmaster_pid(self) -> int | None:
        return read_pid(self.state / "pgdata" / "postmaster.pid")

    @property
    def temporal_pid(self) -> int | None:
        return read_pid(self.state / "temporal.db.pid")

    def back(self, part: str, count: int) -> bool:
        """The console has said *count* times that *part* is back."""
        return self.console().count(f"{part} is back") >= count

    def stop(self) -> int:
        """Ctrl-C; returns the exit code (the stack stops everything it started)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="module")
def stack_up() -> Iterator[StackUp]:
    with shared_tmp_dir("heal") as folder:
        stack = StackUp(folder / "state")
        try:
            yield stack
        finally:
            stack.stop()


async def receipt_exactly_once(stack: StackUp, prefix: str) -> None:
    """A new case gets its receipt into the sink's folder, once."""
    settings = stack.settings
    reference = f"{prefix}-{uuid.uuid4().hex[:8]}"
    intake = make_intake(
        reference=reference,
        received_at=datetime.now(UTC),
        case_type="simple_construction",
        departments=["building"],
    )
    client = await connect(settings)
    handle = await case_api.start_case(client, intake, settings.temporal_task_queue, vault=None)
    message_id = f"<{handle.id}.receipt@{settings.message_id_domain}>"
    deadline = time.monotonic() + TIMEOUT
    while "receipt" not in (await case_api.get_state(client, reference)).letters_sent:
        assert time.monotonic() < deadline, f"no receipt recorded for {reference}"
        await asyncio.sleep(0.1)
    receipts = [
        m for m in read_mails(stack.settings.state_dir / "mail") if m.message_id == message_id
    ]
    assert len(receipts) == 1, f"{len(receipts)} receipts for {reference}"


def kill_and_await_back(stack_up: StackUp, part: str, pid: int | None) -> float:
    """SIGKILL *part* by its PID and wait for the stack's "<part> is back" line; seconds."""
    assert pid is not None and alive(pid), f"no {part} running; the stack:\n{stack_up.console()}"
    backs = stack_up.console().count(f"{part} is back")
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    try:
        wait_for(lambda: stack_up.back(part, backs + 1), f"{part} back")
    except AssertionError as err:
        raise AssertionError(f"{err}; the stack:\n{stack_up.console()}") from None
    return time.monotonic() - killed_at


@pytest.mark.e2e
async def test_killed_worker_is_restarted_and_takes_new_cases(stack_up: StackUp) -> None:
    old = stack_up.worker_pid
    back_after = kill_and_await_back(stack_up, "worker", old)
    new = stack_up.worker_pid
    assert new is not None and new != old and alive(new) and not alive(old)
    assert re.search(
        r"worker exited \(signal 9, SIGKILL\); restarting in \d+\.\d s \(attempt \d\)",
        stack_up.console(),
    ), stack_up.console()
    print(f"worker back {back_after:.1f} s after SIGKILL")

    await receipt_exactly_once(stack_up, "HEAL-W")
    assert stack_up.proc.poll() is None


@pytest.mark.e2e
def test_killed_web_service_is_restarted_and_answers(stack_up: StackUp) -> None:
    panel_row = (
        rf"Web / API +{re.escape(stack_up.web_url)}  \(docs: /docs, OpenAPI: /openapi\.json\)"
    )
    assert re.search(panel_row, stack_up.console()), stack_up.console()
    old = stack_up.web_pid
    back_after = kill_and_await_back(stack_up, "web service", old)
    new = stack_up.web_pid
    assert new is not None and new != old and alive(new) and not alive(old)
    assert "web service exited (signal 9, SIGKILL); restarting in" in stack_up.console()
    with httpx.Client(base_url=stack_up.web_url, trust_env=False, timeout=10.0) as http:
        assert http.get("/healthz").status_code == 200  # it is back once this answers
        wait_for(lambda: http.get("/readyz").status_code == 200, "/readyz 200")
    print(f"web service back {back_after:.1f} s after SIGKILL")


@pytest.mark.e2e
async def test_killed_postgres_is_noticed_and_brought_back(stack_up: StackUp) -> None:
    old = stack_up.postmaster_pid
    back_after = kill_and_await_back(stack_up, "Postgres", old)
    new = stack_up.postmaster_pid
    assert new is not None and new != old and alive(new)
    assert f"Postgres stopped (postmaster pid {old} is gone); restarting in" in stack_up.console()
    conn = await asyncpg.connect(stack_up.settings.database_url.replace("+asyncpg", ""))
    assert await conn.fetchval("select count(*) from caseworkers") > 0  # the data survived
    await conn.close()
    print(f"Postgres back {back_after:.1f} s after SIGKILL")

    await receipt_exactly_once(stack_up, "HEAL-P")  # the worker's pool reconnects


@pytest.mark.e2e
async def test_killed_temporal_server_is_brought_back(stack_up: StackUp) -> None:
    kill_and_await_back(stack_up, "Temporal dev server", stack_up.temporal_pid)
    assert "Temporal dev server exited (signal 9, SIGKILL); restarting in" in stack_up.console()
    await receipt_exactly_once(stack_up, "HEAL-T")  # the same worker polls the new server


@pytest.mark.e2e
def test_ctrl_c_stops_everything_and_worker_and_web_wrote_only_json(stack_up: StackUp) -> None:
    pids = [stack_up.worker_pid, stack_up.web_pid, stack_up.postmaster_pid, stack_up.temporal_pid]
    assert stack_up.stop() == 0, stack_up.console()
    assert "Stopped in" in stack_up.console()
    wait_for(lambda: not any(pid and alive(pid) for pid in pids), "every part stopped")
    wait_for(lambda: all(port_is_free(p) for p in stack_up.ports.values()), "ports free")
    for log in ("worker.log", "web.log"):
        lines = (stack_up.state / "logs" / log).read_text().splitlines()
        assert lines, log
        for line in lines:
            json.loads(line)  # every line, from every process the stack ran
    assert not (stack_up.state / "web.pid").exists()


# -- the supervisor in process -------------------------------------------------------------


def test_backoff_doubles_from_half_a_second_to_ten() -> None:
    assert [Backoff().delay(n) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 10, 10]


class Lines(list):
    def __call__(self, event: str, message: str) -> None:
        self.append(f"{event}: {message}")


def script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "fake_worker.py"
    path.write_text(body)
    return path


def test_supervisor_gives_up_on_a_worker_that_keeps_crashing(tmp_path: Path) -> None:
    crash = script(
        tmp_path, 'import json; print(json.dumps({"event": "boom"})); raise SystemExit(3)'
    )
    worker = WorkerProcess(crash, tmp_path / "worker.log", dict(os.environ), cwd=tmp_path)
    worker.start()
    lines = Lines()
    supervisor = Supervisor(
        [WorkerPart(worker, ready=lambda: None)],
        lines,
        backoff=Backoff(initial=0.1, cap=0.2),
        max_attempts=3,
        interval=0.05,
    )
    try:
        with pytest.raises(GaveUpError) as failure:
            supervisor.run(until=lambda: False)
    finally:
        worker.stop()
    assert lines[0] == "down: worker exited with code 3; restarting in 0.1 s (attempt 1)"
    assert [line.rsplit("(", 1)[1] for line in lines if line.startswith("down")] == [
        "attempt 1)",
        "attempt 2)",
        "attempt 3)",
    ]
    message = str(failure.value)
    assert message.startswith(
        "The worker could not be brought back after 3 attempts (last: exited with code 3). "
        f"Check {tmp_path / 'worker.log'}; its last lines:"
    )
    assert message.endswith('{"event": "boom"}')


def test_supervisor_counts_again_after_a_stable_run(tmp_path: Path) -> None:
    sleeper = script(tmp_path, "import time; time.sleep(120)")
    worker = WorkerProcess(sleeper, tmp_path / "worker.log", dict(os.environ), cwd=tmp_path)
    worker.start()
    lines = Lines()
    supervisor = Supervisor(
        [WorkerPart(worker, ready=lambda: None)],
        lines,
        backoff=Backoff(initial=0.1, cap=0.2),
        stable_after=0.5,
        interval=0.05,
    )

    def kill_and_wait_back() -> None:
        pid = worker.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        restarts = supervisor.restarts
        supervisor.run(until=lambda: supervisor.restarts > restarts)
        assert worker.pid != pid and worker.returncode is None

    try:
        kill_and_wait_back()
        kill_and_wait_back()  # at once: the second attempt in a row
        time.sleep(0.6)
        supervisor.check()  # it ran long enough: the count starts again
        kill_and_wait_back()
    finally:
        worker.stop()
    downs = [line for line in lines if line.startswith("down")]
    assert [d.rsplit("(", 1)[1] for d in downs] == ["attempt 1)", "attempt 2)", "attempt 1)"]
    assert all("worker exited (signal 9, SIGKILL); restarting in" in d for d in downs)
    assert len([line for line in lines if line.startswith("back: worker is back (pid")]) == 3


async def test_smtp_sink_that_stopped_answering_is_restarted(tmp_path: Path) -> None:
    sink = SmtpSink(tmp_path / "mail", free_port())
    sink.start()
    lines = Lines()
    supervisor = Supervisor([SmtpPart(sink)], lines, backoff=Backoff(initial=0.1))
    try:
        assert sink.problem() is None
        supervisor.check()
        assert lines == []
        sink._controller.stop()  # the server thread ends behind the stack's back
        supervisor.check()
        assert lines == [
            f"down: SMTP sink stopped answering on 127.0.0.1:{sink.port} "
            + "(Connection refused); restarting in 0.1 s (attempt 1)"
        ]
        supervisor.run(until=lambda: supervisor.restarts == 1)
        assert lines[-1].startswith(f"back: SMTP sink is back (127.0.0.1:{sink.port}) after")
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "a@kommune.example", "b@firma.dk", "Efter"
        msg.set_content("Sendt efter genstart.")
        await aiosmtplib.send(msg, hostname="127.0.0.1", port=sink.port)
        assert [m.subject for m in await wait_for_mails(sink.mail_dir, 1)] == ["Efter"]
    finally:
        sink.stop()

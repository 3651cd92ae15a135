"""The web service as a part of the stack, and alone (issue 8).

`running_stack(web_port=...)` starts `python -m web` on a free port beside Postgres, Temporal
and the SMTP sink: `/healthz` answers at once, `/readyz` once Temporal and Postgres answer (503
while Postgres is away); killed by its PID it is brought back by the supervisor; every line of
its log is JSON, the access lines without client address or query string. Alone, against
nothing, it starts, says it is not ready, and stops cleanly on SIGINT and SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from settings import ROOT
from stack.__main__ import SETTING_FOR_PART
from stack.dev import DevStack, running_stack
from stack.errors import PortInUseError, StackError
from stack.pidfile import alive
from stack.ports import free_port, port_is_free
from stack.supervisor import Backoff, Supervisor, WebPart
from stack.web import PART, WebProcess
from tests.test_stack import shared_tmp_dir

TIMEOUT = 30.0
ACCESS_FIELDS = {
    "method",
    "path",
    "route",
    "status",
    "duration_ms",
    "event",
    "level",
    "logger",
    "timestamp",
    "trace_id",  # the request's trace id (tracing.py): a token, not the client's headers
}


def wait_for(check: Callable[[], object], what: str, timeout: float = TIMEOUT) -> object:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)
    return result


def http(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=10.0, trust_env=False)


def status(base_url: str, path: str) -> int | None:
    """The status of GET *path*, or None when nothing answers."""
    try:
        with http(base_url) as client:
            return client.get(path).status_code
    except httpx.HTTPError:
        return None


def log_records(path: Path) -> list[dict]:
    lines = path.read_text().splitlines()
    assert lines, f"{path} is empty"
    return [json.loads(line) for line in lines]  # every line is one JSON object


@pytest.fixture(scope="module")
def dev() -> Iterator[DevStack]:
    ports = {name: free_port() for name in ("temporal_port", "ui_port", "pg_port", "smtp_port")}
    with (
        shared_tmp_dir("web") as folder,
        running_stack(folder / "state", **ports, web_port=free_port()) as dev,
    ):
        yield dev


@pytest.mark.e2e
def test_web_service_answers_in_the_stack(dev: DevStack) -> None:
    assert dev.web is not None and dev.web.returncode is None
    assert dev.web_url == f"http://127.0.0.1:{dev.web.port}"
    assert set(dev.startup_seconds) == {"postgres", "temporal", "smtp", "web"}
    print(f"web service ready {dev.startup_seconds['web']:.2f} s after its launch")
    assert (dev.state_dir / "web.pid").read_text().strip() == str(dev.web.pid)
    with http(dev.web_url) as client:
        assert client.get("/healthz").status_code == 200  # running_stack waited for it
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/docs").status_code == 200
    # The web service got the stack's ERHVERV_* addresses: Temporal and Postgres answer.
    wait_for(lambda: status(dev.web_url, "/readyz") == 200, "/readyz 200")


@pytest.mark.e2e
def test_readyz_says_503_while_postgres_is_away(dev: DevStack) -> None:
    dev.postgres.stop()
    try:
        with http(dev.web_url) as client:
            response = client.get("/readyz")
            assert response.status_code == 503
            assert response.headers["content-type"].startswith("application/problem+json")
            assert "Retry-After" in response.headers
            assert client.get("/healthz").status_code == 200  # the process is still up
    finally:
        dev.postgres.start()
    wait_for(lambda: status(dev.web_url, "/readyz") == 200, "/readyz 200 again")


@pytest.mark.e2e
def test_killed_web_service_is_brought_back_by_the_supervisor(dev: DevStack) -> None:
    assert dev.web is not None
    lines: list[str] = []
    supervisor = Supervisor(
        [WebPart(dev.web)],
        lambda event, message: lines.append(f"{event}: {message}"),
        backoff=Backoff(initial=0.1),
        interval=0.05,
    )
    old = int((dev.state_dir / "web.pid").read_text())
    os.kill(old, signal.SIGKILL)
    killed_at = time.monotonic()
    supervisor.run(until=lambda: supervisor.restarts == 1)
    print(f"web service back {time.monotonic() - killed_at:.1f} s after SIGKILL")
    new = int((dev.state_dir / "web.pid").read_text())
    assert new == dev.web.pid and new != old and alive(new) and not alive(old)
    assert (
        lines[0] == "down: web service exited (signal 9, SIGKILL); restarting in 0.1 s (attempt 1)"
    )
    assert re.fullmatch(rf"back: web service is back \(pid {new}\) after \d+\.\d s", lines[1])
    assert status(dev.web_url, "/healthz") == 200
    wait_for(lambda: status(dev.web_url, "/readyz") == 200, "/readyz 200 after the restart")


@pytest.mark.e2e
def test_web_log_is_json_lines_without_client_address_or_query(dev: DevStack) -> None:
    assert dev.web is not None
    with http(dev.web_url) as client:
        client.get("/readyz?token=do-not-log-me")
        client.get("/no-such-page")
    pid = dev.web.pid
    dev.web.stop()  # SIGTERM: a clean stop (running_stack's own stop is then a no-op)
    assert pid is not None and not alive(pid)
    assert not (dev.state_dir / "web.pid").exists()
    wait_for(lambda: port_is_free(dev.web.port), "the web port free")
    log = dev.log_dir / "web.log"
    records = log_records(log)
    assert "do-not-log-me" not in log.read_text()
    access = [r for r in records if r["logger"] == "web.access"]
    assert {"path": "/readyz", "status": 200} in [
        {"path": r["path"], "status": r["status"]} for r in access
    ]
    assert any(r["path"] == "/no-such-page" and r["status"] == 404 for r in access)
    for record in access:
        assert set(record) <= ACCESS_FIELDS, record  # no client address, no headers
        assert record["method"] == "GET" and record["duration_ms"] >= 0
    assert any(r["logger"] == "uvicorn.error" for r in records)  # uvicorn's own lines
    assert not any(r["logger"] == "uvicorn.access" for r in records)  # replaced, see above
    stops = [r for r in records if r["event"] == "web service stopped"]
    assert len(stops) == 1 and stops[0]["signal"] == "SIGTERM"  # the SIGKILLed one said nothing


# -- without the stack ---------------------------------------------------------------------


def unreachable_env(port: int) -> dict[str, str]:
    """Settings that point at nothing: the service must start anyway."""
    return os.environ | {
        "ERHVERV_WEB_HOST": "127.0.0.1",
        "ERHVERV_WEB_PORT": str(port),
        "ERHVERV_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "ERHVERV_DATABASE_URL": f"postgresql+asyncpg://erhverv@127.0.0.1:{free_port()}/erhverv",
        "PYTHONUNBUFFERED": "1",
        "ERHVERV_WEB_SECRET": "a-production-like-secret-of-enough-length-0123456789",
    }


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_python_m_web_runs_alone_and_stops_cleanly(tmp_path: Path, stop_signal: int) -> None:
    port = free_port()
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "web"],
            cwd=ROOT,
            env=unreachable_env(port),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: proc.poll() is not None or status(url, "/healthz") == 200, "/healthz")
        assert proc.poll() is None, log.read_text()
        assert status(url, "/readyz") == 503  # Temporal and Postgres are not there
        proc.send_signal(stop_signal)
        assert proc.wait(TIMEOUT) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    records = log_records(log)
    assert records[-1]["event"] == "web service stopped"
    assert records[-1]["signal"] == signal.Signals(stop_signal).name
    assert port_is_free(port)


def test_outside_the_dev_stack_the_development_secret_is_refused(tmp_path: Path) -> None:
    env = unreachable_env(free_port())
    del env["ERHVERV_WEB_SECRET"]
    env["ERHVERV_DEV_SIGN_IN"] = "false"
    done = subprocess.run(
        [sys.executable, "-m", "web"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 2
    lines = (done.stdout + done.stderr).decode().splitlines()
    (record,) = [json.loads(line) for line in lines if line]
    assert "ERHVERV_WEB_SECRET is the development default" in record["event"]


def test_a_taken_port_is_named_with_its_setting(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        web = WebProcess(port, tmp_path / "web.log", dict(os.environ), cwd=ROOT)
        with pytest.raises(PortInUseError) as taken:
            web.start()
    assert taken.value.part == PART and SETTING_FOR_PART[PART] == "ERHVERV_WEB_PORT"
    assert web.pid is None  # nothing was started


def test_a_web_service_that_cannot_start_says_why(tmp_path: Path) -> None:
    env = os.environ | {"ERHVERV_CLOSING_DAYS": "not a list"}  # settings that do not load
    web = WebProcess(free_port(), tmp_path / "web.log", env, cwd=ROOT)
    web.start()
    try:
        with pytest.raises(StackError, match=r"exited with code 1 while starting") as failed:
            web.wait_ready(timeout=TIMEOUT)
    finally:
        web.stop()
    assert '"web service failed"' in str(failed.value)
    log_records(tmp_path / "web.log")  # JSON even so

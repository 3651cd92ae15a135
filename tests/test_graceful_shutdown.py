"""Graceful shutdown: SIGTERM to a worker process while its receipt letter is in flight.

Through the real parts: the embedded stack (Temporal dev server, Postgres) and `python
worker.py` as a process stopped by PID, sending to a real SMTP server (aiosmtpd) started here
that takes its time to accept a message, so the letter is surely in flight when the signal
comes.

- Within the grace (ERHVERV_WORKER_SHUTDOWN_GRACE_SECONDS): the letter completes, the worker
  exits 0 after it, the letter arrives once and is recorded sent; a new worker goes on with the
  case without sending it again.
- Past a short grace: the activity is cancelled, the worker still exits 0 at once, and the
  letter is retried on the next worker: recorded sent, every copy under the same Message-ID.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType

import case_api
from db.models import OutboxLetter
from settings import ROOT
from stack.dev import service_env
from stack.ports import HOST, free_port
from stack.worker import WorkerProcess
from temporal_client import connect
from tests.conftest import make_intake
from tests.test_durability import product_stack
from tests.test_stack import stack_dir  # noqa: F401 - fixture (a state folder out of pytest's)
from tests.test_two_workers import until

pytestmark = pytest.mark.e2e


@dataclass
class SlowSmtp:
    """aiosmtpd handler: accepts each message *delay* seconds after its DATA arrived."""

    delay: float
    received: list[tuple[float, str, list[str]]] = field(default_factory=list)  # at, id, to
    data_arrived: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.data_arrived.set()
        await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.original_content or envelope.content)
        self.received.append((time.monotonic(), message["Message-ID"], list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[str]:
        return [message_id for _, message_id, to in self.received if address in to]


def start_smtp(handler: SlowSmtp) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(handler, hostname=HOST, port=port)
    controller.start()
    return controller, port


def worker_process(stack, folder, name: str, queue: str, smtp_port: int, grace: float):
    env = service_env(stack) | {
        "ERHVERV_TEMPORAL_TASK_QUEUE": queue,
        "ERHVERV_SMTP_PORT": str(smtp_port),
        "ERHVERV_WORKER_SHUTDOWN_GRACE_SECONDS": str(grace),
        "ERHVERV_WORKER_METRICS_ADDRESS": "",
        "ERHVERV_WORKER_HEALTH_PORT": "0",
    }
    worker = WorkerProcess(ROOT / "worker.py", folder / f"worker-{name}.log", env, cwd=ROOT,
                           pid_file=folder / f"worker-{name}.pid")  # fmt: skip
    assert worker.stop_timeout > grace  # the stack's stop never SIGKILLs within the grace
    return worker


def own_intake(prefix: str):
    tag = uuid.uuid4().hex[:8]
    return make_intake(
        reference=f"{prefix}-{tag}",
        received_at=datetime.now(UTC),
        case_type="simple_construction",
        departments=["building"],
        contact={"name": "Åse Ødegård", "email": f"grace-{tag}@nordjysk-staal.dk",
                 "phone": "98123456"},
    )  # fmt: skip


async def outbox(sessions, case_id: str) -> list[OutboxLetter]:
    async with sessions() as session:
        return list(
            await session.scalars(select(OutboxLetter).where(OutboxLetter.case_id == case_id))
        )


async def sigterm_and_wait(worker: WorkerProcess, limit: float) -> float:
    """SIGTERM to the worker's PID; its exit within *limit* seconds; how long it took."""
    began = time.monotonic()
    os.kill(worker.pid, signal.SIGTERM)
    await until(lambda: worker.returncode is not None, limit, "the worker exited")
    return time.monotonic() - began


async def letter_events(client, case_id: str) -> list[EventType.ValueType]:
    kinds = {
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    }
    history = await client.get_workflow_handle(case_id).fetch_history()
    return [e.event_type for e in history.events if e.event_type in kinds]


async def test_sigterm_lets_the_letter_in_flight_finish(stack_dir):  # noqa: F811
    queue = f"grace-{uuid.uuid4().hex[:6]}"
    grace, delay = 20.0, 4.0
    async with product_stack(stack_dir / "graceful", queue) as (stack, settings, sessions):
        smtp = SlowSmtp(delay)
        controller, port = start_smtp(smtp)
        first = worker_process(stack, stack_dir, "first", queue, port, grace)
        second = worker_process(stack, stack_dir, "second", queue, port, grace)
        try:
            first.start()
            await first.wait_ready(stack.temporal_address, "default", queue)
            client = await connect(settings)
            intake = own_intake("GRACE")
            handle = await case_api.start_case(client, intake, queue, vault=None)
            email = intake.contact.email
            await until(smtp.data_arrived.is_set, 60, "the receipt's DATA at the SMTP server")
            assert smtp.to(email) == []  # in flight: the server has not accepted it yet

            took = await sigterm_and_wait(first, grace)
            assert first.returncode == 0
            # It waited for the letter (accepted ~delay after DATA), and not for the full grace.
            assert len(smtp.to(email)) == 1
            assert took < grace
            [row] = await outbox(sessions, handle.id)
            assert row.kind == "receipt" and row.sent_at is not None and row.send_attempts == 1
            assert smtp.to(email) == [row.message_id]
            events = await letter_events(client, handle.id)
            assert EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in events
            assert EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED not in events
            assert EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT not in events

            # The next worker goes on with the case; the receipt is not sent again.
            smtp.delay = 0.0
            second.start()
            await second.wait_ready(stack.temporal_address, "default", queue)
            await case_api.assign_caseworker(client, intake.reference, "mkj")
            await until(lambda: len(smtp.to(email)) == 2, 60, "the contact letter")
            await asyncio.sleep(1.0)
            ids = smtp.to(email)
            assert len(ids) == 2 and len(set(ids)) == 2, ids  # receipt once, contact once
            rows = await outbox(sessions, handle.id)
            assert sorted(r.kind for r in rows) == ["contact_letter", "receipt"]
            assert all(r.sent_at is not None and r.send_attempts == 1 for r in rows)
        finally:
            first.stop()
            second.stop()
            controller.stop()


async def test_past_the_grace_the_letter_is_cancelled_and_retried(stack_dir):  # noqa: F811
    queue = f"nograce-{uuid.uuid4().hex[:6]}"
    grace, delay = 1.0, 8.0
    async with product_stack(stack_dir / "past-grace", queue) as (stack, settings, sessions):
        smtp = SlowSmtp(delay)
        controller, port = start_smtp(smtp)
        first = worker_process(stack, stack_dir, "short", queue, port, grace)
        second = worker_process(stack, stack_dir, "next", queue, port, grace)
        try:
            first.start()
            await first.wait_ready(stack.temporal_address, "default", queue)
            client = await connect(settings)
            intake = own_intake("NOGRACE")
            handle = await case_api.start_case(client, intake, queue, vault=None)
            email = intake.contact.email
            await until(smtp.data_arrived.is_set, 60, "the receipt's DATA at the SMTP server")

            took = await sigterm_and_wait(first, delay)
            assert first.returncode == 0
            assert took < delay, first.log_tail(40)  # it did not wait for the slow server
            assert smtp.to(email) == []
            [row] = await outbox(sessions, handle.id)
            assert row.sent_at is None and row.send_attempts == 0  # no half-recorded send

            smtp.delay = 0.0
            second.start()
            await second.wait_ready(stack.temporal_address, "default", queue)

            async def recorded_sent() -> bool:
                [row] = await outbox(sessions, handle.id)
                return row.sent_at is not None

            deadline = time.monotonic() + 120
            while not await recorded_sent():
                assert time.monotonic() < deadline, "the receipt was not retried"
                await asyncio.sleep(0.5)
            [row] = await outbox(sessions, handle.id)
            # The cancelled attempt's message may still have been accepted by the server
            # (SMTP's window, activities/letters.py): every copy is the same letter.
            await asyncio.sleep(delay)
            assert 1 <= len(smtp.to(email)) <= 2
            assert set(smtp.to(email)) == {row.message_id}
            assert row.send_attempts == 1
        finally:
            first.stop()
            second.stop()
            controller.stop()

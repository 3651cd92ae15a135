"""Fault 1: the worker is killed (SIGKILL) while a letter is being sent.

The SMTP sink takes the receipt (DATA stored, as a mail server commits a message to its queue)
and holds back its ``250`` reply; the worker process is SIGKILLed inside `send_letter`, between
DATA and ``250``. A new worker retries the activity after its start-to-close timeout (60 s).

What "exactly one copy" means here, measured: the outbox holds ONE row for the letter, sent
once in its own record; the sink, which keeps every DATA it receives, holds the letter TWICE,
both with the same deterministic Message-ID (activities/letters.py: the retry cannot know the
first copy arrived). A receiver that recognises a letter by its Message-ID holds one letter; a
receiver that does not shows two. The test pins that, so a change that closes the window (or
widens it: a second Message-ID, a second outbox row) is seen."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

import case_api
from db.models import OutboxLetter
from settings import ROOT
from stack.dev import service_env
from stack.ports import free_port
from stack.smtp_sink import read_mails
from stack.worker import WorkerProcess
from temporal_client import connect
from tests.conftest import make_intake
from tests.reconcile import settled
from tests.test_durability import product_stack
from tests.test_stack import stack_dir  # noqa: F401 - fixture (a state folder out of pytest's)

pytestmark = pytest.mark.e2e

QUEUE = "faults-letters"


def worker_process(stack, name: str) -> WorkerProcess:
    env = service_env(stack) | {
        "ERHVERV_TEMPORAL_TASK_QUEUE": QUEUE,
        "ERHVERV_WORKER_METRICS_ADDRESS": "",
        "ERHVERV_WORKER_HEALTH_PORT": str(free_port()),
    }
    return WorkerProcess(
        ROOT / "worker.py",
        stack.log_dir / f"worker-{name}.log",
        env,
        cwd=ROOT,
        pid_file=stack.state_dir / f"worker-{name}.pid",
    )


async def until(check, timeout: float, what: str):
    """Wait until *check()* (sync or async) is true; its value."""
    deadline = time.monotonic() + timeout
    while not (result := await _value(check())):
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        await asyncio.sleep(0.1)
    return result


async def test_worker_killed_between_data_and_250_sends_the_letter_once_in_effect(stack_dir):  # noqa: F811
    began = time.monotonic()
    async with product_stack(stack_dir / "faults-letters", QUEUE) as (stack, settings, sessions):
        first = worker_process(stack, "first")
        second = worker_process(stack, "second")
        try:
            first.start()
            await first.wait_ready(stack.temporal_address, "default", QUEUE)
            client = await connect(settings)
            reference = f"FLT-{uuid.uuid4().hex[:8]}"
            intake = make_intake(reference=reference, received_at=datetime.now(UTC))
            case_id = intake.workflow_id
            stack.smtp.hold()
            await case_api.start_case(
                client, intake, QUEUE, vault=case_api.vault(sessions, settings)
            )

            async def held() -> bool:
                return stack.smtp.held == 1

            await until(held, 30, "the receipt's DATA taken, its 250 held back")
            assert [m.message_id for m in read_mails(stack.mail_dir)] == [
                f"<{case_id}.receipt@{settings.message_id_domain}>"
            ]
            os.kill(first.pid, signal.SIGKILL)  # inside send_letter, between DATA and 250
            killed_at = time.monotonic()
            await until(lambda: first.returncode is not None, 10, "the worker gone")
            stack.smtp.release()
            async with sessions() as session:
                row = (
                    await session.scalars(
                        select(OutboxLetter).where(OutboxLetter.case_id == case_id)
                    )
                ).one()
            assert row.sent_at is None  # the kill landed before the send was recorded

            second.start()
            await second.wait_ready(stack.temporal_address, "default", QUEUE)

            async def receipt_recorded() -> bool:
                return "receipt" in (await case_api.get_state(client, reference)).letters_sent

            await until(receipt_recorded, 120, "the receipt retried on the new worker")
            retried_after = time.monotonic() - killed_at

            # The case goes on: the officer assigns, the contact letter follows once.
            await case_api.assign_caseworker(client, reference, "mkj", request_id="flt-assign")
            report = await settled(client, sessions, stack.mail_dir, [case_id])
            async with sessions() as session:
                rows = list(
                    await session.scalars(
                        select(OutboxLetter).where(OutboxLetter.case_id == case_id)
                    )
                )
            receipt_id = f"<{case_id}.receipt@{settings.message_id_domain}>"
            copies = [m for m in read_mails(stack.mail_dir) if m.message_id == receipt_id]

            # The outbox: one row per letter, each sent; the receipt's one row, recorded once.
            assert sorted(r.letter_key for r in rows) == ["contact-letter", "receipt"]
            assert all(r.sent_at is not None for r in rows)
            # The killed attempt's bookkeeping died with its transaction: the row counts one
            # attempt although the server took the letter twice.
            receipt_row = next(r for r in rows if r.letter_key == "receipt")
            assert receipt_row.send_attempts == 1
            # Nothing lost, the projection matches, nothing unsettled.
            assert report.lost == [] and report.mismatched == [] and report.unsettled == []
            # The one window SMTP leaves: the sink took the receipt twice, with ONE Message-ID
            # and the same text; every other letter once.
            assert len(copies) == 2 and copies[0].body == copies[1].body
            assert report.duplicated == [
                f"{case_id}/receipt: 2 copies of one Message-ID in the sink"
            ]
            assert len(report.copies) == len(rows) == 2  # one distinct letter per row
            print(
                report.summary("fault 1 worker SIGKILL between DATA and 250", "1 SIGKILL")
                + f" receipt_copies={len(copies)} distinct_message_ids={len(report.copies)}"
                f" retried_after={retried_after:.0f}s took={time.monotonic() - began:.0f}s"
            )
        finally:
            stack.smtp.release()
            for worker in (first, second):
                worker.stop()


async def _value(result):
    return await result if inspect.isawaitable(result) else result

"""Two worker processes on one task queue; one is killed (SIGKILL) while letters and activities
are in flight. Every case reaches its state on the other worker, and each letter is in the
SMTP sink once (its Message-ID unique).

Through the real parts: the embedded stack (Temporal dev server, Postgres, SMTP sink) and two
`python worker.py` processes with the same settings, stopped by PID. An activity the killed
worker held is retried after its start-to-close timeout (letters: 60 s), so this test takes
a minute or two."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest

import case_api
from settings import ROOT
from stack.dev import service_env
from stack.ports import free_port
from stack.smtp_sink import read_mails
from stack.worker import WorkerProcess
from temporal_client import connect
from tests.conftest import make_intake
from tests.test_durability import product_stack
from tests.test_stack import stack_dir  # noqa: F401 - fixture (a state folder out of pytest's)

pytestmark = pytest.mark.e2e

CASES = 10
QUEUE = "two-workers"


def intake_for(number: int, tag: str):
    contact = {
        "name": "Søren Ærø Østergård",
        "email": f"two-{tag}-{number}@nordjysk-staal.dk",
        "phone": "98123456",
    }
    return make_intake(
        reference=f"TWO-{tag}-{number:02d}",
        received_at=datetime.now(UTC),
        case_type="simple_construction",
        departments=["building"],
        contact=contact,
    )


def mails_by_contact(mail_dir, addresses: set[str]) -> dict[str, list]:
    out: dict[str, list] = {a: [] for a in addresses}
    for mail in read_mails(mail_dir):
        for address in addresses & set(mail.to):
            out[address].append(mail)
    return out


async def until(check, timeout: float, what: str):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        await asyncio.sleep(0.2)
    return result


async def test_two_workers_one_killed_every_case_finishes_each_letter_once(stack_dir):  # noqa: F811
    async with product_stack(stack_dir / "two-workers", QUEUE) as (stack, settings, _):
        env = service_env(stack) | {
            "ERHVERV_TEMPORAL_TASK_QUEUE": QUEUE,
            "ERHVERV_WORKER_METRICS_ADDRESS": "",  # two workers on one host: no shared port
        }
        workers = [
            WorkerProcess(
                ROOT / "worker.py",
                stack.log_dir / f"worker-{name}.log",
                env | {"ERHVERV_WORKER_HEALTH_PORT": str(free_port())},
                cwd=ROOT,
                pid_file=stack.state_dir / f"worker-{name}.pid",
            )
            for name in ("a", "b")
        ]
        try:
            for worker in workers:
                worker.start()
            for worker in workers:
                await worker.wait_ready(stack.temporal_address, "default", QUEUE)
            doomed, survivor = workers
            client = await connect(settings)
            tag = uuid.uuid4().hex[:6]
            intakes = [intake_for(n, tag) for n in range(CASES)]
            addresses = {i.contact.email for i in intakes}
            for intake in intakes:
                await case_api.start_case(client, intake, QUEUE, vault=None)
            # Receipts are being written and sent by both workers: kill one now.
            os.kill(doomed.pid, signal.SIGKILL)
            sent_at_kill = sum(map(len, mails_by_contact(stack.mail_dir, addresses).values()))
            assert sent_at_kill < CASES  # letters were still in flight
            await until(lambda: doomed.returncode is not None, 10, "the killed worker gone")
            assert survivor.returncode is None

            # The officers assign every case (the contact letter follows) on the survivor.
            for intake in intakes:
                await case_api.assign_caseworker(client, intake.reference, "mkj")

            def all_letters() -> bool:
                mails = mails_by_contact(stack.mail_dir, addresses)
                return all(len(m) >= 2 for m in mails.values())

            await until(all_letters, 180, "a receipt and a contact letter for every case")
            for intake in intakes:
                state = await case_api.get_state(client, intake.reference)
                assert state.status.value == "awaiting_material", intake.reference
                assert state.caseworker is not None and state.caseworker.id == "mkj"
            await asyncio.sleep(2.0)  # nothing more arrives (no second copy of any letter)
            mails = mails_by_contact(stack.mail_dir, addresses)
            # Each letter once in effect: per case one receipt and one contact letter, each
            # with its own Message-ID. A worker killed between the SMTP send and the commit may
            # make its retry send the same letter again under the SAME Message-ID (the one
            # window SMTP leaves, see activities/letters.py); a second, different letter never.
            for address, letters in mails.items():
                distinct = {m.message_id: m.subject.split()[0] for m in letters}
                assert sorted(distinct.values()) == ["Jeres", "Kvittering"], (address, distinct)
            ids = Counter(m.message_id for letters in mails.values() for m in letters)
            assert len(ids) == 2 * CASES
            # One worker was killed once: a letter it had in flight is sent at most twice.
            assert max(ids.values()) <= 2, ids
            assert survivor.returncode is None  # the survivor did all of it and still runs
        finally:
            for worker in workers:
                worker.stop()

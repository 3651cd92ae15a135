"""Fault 2: the Temporal server restarted (same database file) with 200 open cases at various
phases, while their due deadlines fire.

The worker runs as its own process (`python worker.py`, as in production) and keeps running
while the server is stopped and started again on the same SQLite file. The cases, 40 per
phase: just started; started with the contact reminder due (received so that the reminder's
instant has passed and the deadline has not); started with the contact deadline passed
(reminder and escalation due); assigned (waiting for material); in review. The cases with due
deadlines are started last, right before the server stops, so their reminders and escalations
fire around the restart. Dates come from `domain.calendar`, never from a weekday assumed.

Asserted: every case resumes (an action after the restart works on each: assign, report the
material, submit the review); every due reminder and escalation went out once and none twice,
and none that was not due; the breach is recorded once; reconciliation finds nothing lost or
duplicated and the projection consistent."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import pytest
from sqlalchemy import func, select

import case_api
from db.models import CaseEvent
from domain import calendar
from domain.material import required_material
from schemas.intake import CaseType, Department
from settings import ROOT
from stack.dev import service_env
from stack.ports import free_port
from stack.smtp_sink import read_mail
from stack.worker import WorkerProcess
from temporal_client import connect
from tests.conftest import make_intake
from tests.reconcile import settled
from tests.test_durability import product_stack
from tests.test_stack import stack_dir  # noqa: F401 - fixture (a state folder out of pytest's)

pytestmark = pytest.mark.e2e

QUEUE = "faults-temporal"
PER_PHASE = 40
PHASES = ("started", "reminder_due", "deadline_passed", "awaiting_material", "in_review")
DUE_LETTERS = ("contact-reminder", "contact-escalation")
CODES = [m.code for m in required_material(CaseType.simple_construction, [Department.building])]


def received_with_reminder_due(now: datetime, closing_days) -> datetime:
    """A receipt instant whose contact reminder has passed while its deadline has not (and
    stays ahead for the test's minutes when the calendar allows)."""
    today = calendar.local_date(now)
    for margin in (timedelta(minutes=20), timedelta(0)):
        for back in range(1, 40):
            day = today - timedelta(days=back)
            at = datetime.combine(day, clock(9, 0), tzinfo=calendar.COPENHAGEN)
            reminder = calendar.contact_reminder_at(at, closing_days)
            deadline = calendar.contact_deadline(at, closing_days)
            if reminder < now and deadline > now + margin:
                return at.astimezone(UTC)
    raise AssertionError("no receipt day with the reminder due and the deadline ahead")


def received_with_deadline_passed(now: datetime, closing_days) -> datetime:
    today = calendar.local_date(now)
    for back in range(7, 60):
        at = datetime.combine(today - timedelta(days=back), clock(9, 0), tzinfo=calendar.COPENHAGEN)
        if calendar.contact_deadline(at, closing_days) < now:
            return at.astimezone(UTC)
    raise AssertionError("no receipt day with the deadline passed")


async def in_parallel(calls, limit: int = 16):
    gate = asyncio.Semaphore(limit)

    async def one(call):
        async with gate:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls))


async def until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        await asyncio.sleep(0.5)


async def test_temporal_restarted_with_200_open_cases_every_case_resumes_deadlines_once(
    stack_dir,  # noqa: F811
):
    began = time.monotonic()
    async with product_stack(stack_dir / "faults-temporal", QUEUE) as (stack, settings, sessions):
        env = service_env(stack) | {
            "ERHVERV_TEMPORAL_TASK_QUEUE": QUEUE,
            "ERHVERV_WORKER_METRICS_ADDRESS": "",
            "ERHVERV_WORKER_HEALTH_PORT": str(free_port()),
        }
        worker = WorkerProcess(
            ROOT / "worker.py",
            stack.log_dir / "worker.log",
            env,
            cwd=ROOT,
            pid_file=stack.state_dir / "worker.pid",
        )
        try:
            worker.start()
            await worker.wait_ready(stack.temporal_address, "default", QUEUE)
            client = await connect(settings)
            vault = case_api.vault(sessions, settings)
            tag = uuid.uuid4().hex[:6]
            now = datetime.now(UTC)
            received = {
                "started": now,
                "reminder_due": received_with_reminder_due(now, settings.closing_days),
                "deadline_passed": received_with_deadline_passed(now, settings.closing_days),
                "awaiting_material": now,
                "in_review": now,
            }
            phase_of = {
                f"TMP-{tag}-{phase[:3]}-{n:02d}": phase
                for phase in PHASES
                for n in range(PER_PHASE)
            }

            async def start(reference: str) -> None:
                intake = make_intake(
                    reference=reference,
                    received_at=received[phase_of[reference]],
                    case_type="simple_construction",
                    departments=["building"],
                )
                await case_api.start_case(client, intake, QUEUE, vault=vault)

            def of(*phases: str) -> list[str]:
                return [r for r, p in phase_of.items() if p in phases]

            # The cases that must be further along first.
            ahead = of("awaiting_material", "in_review")
            await in_parallel([lambda r=r: start(r) for r in ahead])
            await in_parallel(
                [
                    lambda r=r: case_api.assign_caseworker(client, r, "mkj", request_id=f"a-{r}")
                    for r in ahead
                ]
            )
            await in_parallel(
                [
                    lambda r=r: case_api.report_material(client, r, CODES, f"m-{r}")
                    for r in of("in_review")
                ]
            )

            async def reviews_running() -> bool:
                states = await in_parallel(
                    [lambda r=r: case_api.get_state(client, r) for r in of("in_review")]
                )
                return all(s.running_reviews for s in states)

            await until(reviews_running, 60, "the reviews of the in-review cases running")

            # The rest, the due deadlines last; then the server goes down at once.
            await in_parallel([lambda r=r: start(r) for r in of("started")])
            await in_parallel([lambda r=r: start(r) for r in of("reminder_due", "deadline_passed")])

            seen: dict[Path, bool] = {}

            def due_out() -> int:
                """Reminders and escalations in the sink (each file read once)."""
                for path in stack.mail_dir.glob("*.eml"):
                    if path not in seen:
                        message_id = read_mail(path).message_id or ""
                        seen[path] = any(f".{k}@" in message_id for k in DUE_LETTERS)
                return sum(seen.values())

            deadline = time.monotonic() + 60
            while due_out() < 5:
                assert time.monotonic() < deadline, "no due reminder or escalation went out"
                await asyncio.sleep(0.02)
            stack.temporal.stop()  # while the rest of them are firing
            stopped = time.monotonic()
            due_before = due_out()
            await asyncio.sleep(3.0)
            stack.temporal.start()
            down = time.monotonic() - stopped
            assert worker.returncode is None  # the worker waited for the server

            # Every case resumes: an action on each works.
            client = await connect(settings)
            actions = [
                *(
                    lambda r=r: case_api.assign_caseworker(client, r, "mkj", request_id=f"a-{r}")
                    for r in of("started", "reminder_due", "deadline_passed")
                ),
                *(
                    lambda r=r: case_api.report_material(client, r, CODES, f"m-{r}")
                    for r in of("awaiting_material")
                ),
                *(
                    lambda r=r: case_api.submit_review(
                        client, r, "building", f"r-{r}", outcome="approved", text="I orden."
                    )
                    for r in of("in_review")
                ),
            ]
            results = await in_parallel(actions)
            assert len(results) == len(phase_of)

            async def decisions_due() -> bool:
                states = await in_parallel(
                    [lambda r=r: case_api.get_state(client, r) for r in of("in_review")]
                )
                return all(s.status.value == "awaiting_decision" for s in states)

            await until(decisions_due, 60, "the reviewed cases waiting for their decision")
            ids = [f"case-{r}" for r in phase_of]
            report = await settled(client, sessions, stack.mail_dir, ids, timeout=150)
            async with sessions() as session:
                breaches = Counter(
                    dict(
                        (
                            await session.execute(
                                select(CaseEvent.case_id, func.count())
                                .where(CaseEvent.case_id.in_(ids))
                                .where(CaseEvent.kind == "contact_deadline_breached")
                                .group_by(CaseEvent.case_id)
                            )
                        ).all()
                    )
                )
            fired = Counter()
            for reference, phase in phase_of.items():
                state = report.states[f"case-{reference}"]
                sent = Counter(state.letters_sent)
                assert state.contacted_at is not None, reference
                assert max(sent.values()) == 1, (reference, sent)  # no letter twice
                reminder_due = state.contact_reminder_at < state.contacted_at
                deadline_due = state.contact_deadline < state.contacted_at
                assert sent["contact-reminder"] == int(reminder_due), (reference, phase, sent)
                assert sent["contact-escalation"] == int(deadline_due), (reference, phase, sent)
                assert breaches[f"case-{reference}"] == int(deadline_due), (reference, phase)
                assert state.contact_breached == deadline_due, reference
                fired["reminders"] += sent["contact-reminder"]
                fired["escalations"] += sent["contact-escalation"]
                if phase in ("reminder_due", "deadline_passed"):
                    assert reminder_due, (reference, phase)
                if phase == "deadline_passed":
                    assert deadline_due, reference
                if phase in ("started", "awaiting_material", "in_review"):
                    assert not reminder_due, (reference, phase)
                if phase == "awaiting_material":
                    assert state.complete_at is not None, reference
                if phase == "in_review":
                    assert state.status.value == "awaiting_decision", reference
            print(
                report.summary(
                    "fault 2 Temporal restarted with 200 open cases",
                    f"1 restart ({down:.0f}s down)",
                )
                + f" reminders={fired['reminders']} escalations={fired['escalations']}"
                f" due_letters_out_before_the_stop={due_before}"
                f" took={time.monotonic() - began:.0f}s"
            )
            assert report.cases == len(phase_of) == 200
            assert report.lost == [] and report.duplicated == [], report
            assert report.mismatched == [] and report.unsettled == [], report
            assert fired["reminders"] >= 2 * PER_PHASE and fired["escalations"] >= PER_PHASE
            # The restart came while the due deadlines were firing.
            assert 5 <= due_before < fired["reminders"] + fired["escalations"]
        finally:
            worker.stop()

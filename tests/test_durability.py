"""A worker and the Temporal server restart in the middle of a case; nothing is lost.

Through the real parts: the dev server with its database file, embedded Postgres, the SMTP
sink. The case is started and assigned under one worker, then the worker stops and the
server restarts; a new worker (a new client connection) carries the case to the survey."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest

import case_api
from db.session import make_engine, make_sessionmaker
from domain.material import required_material
from mail.channel import EmailChannel
from stack.dev import prepared_settings, running_stack
from stack.ports import free_port
from temporal_client import connect
from tests.conftest import make_intake
from tests.test_e2e import mails_to
from tests.test_stack import stack_dir  # noqa: F401 - fixture (a state folder out of pytest's)
from worker import build_worker

pytestmark = pytest.mark.e2e


@asynccontextmanager
async def product_stack(folder, queue: str):
    """The embedded stack on free ports, migrated and seeded: (stack, settings, sessions)."""
    with running_stack(
        folder,
        temporal_port=free_port(),
        ui_port=free_port(),
        pg_port=free_port(),
        smtp_port=free_port(),
    ) as stack:
        settings = await prepared_settings(stack, queue)
        engine = make_engine(settings.database_url)
        try:
            yield stack, settings, make_sessionmaker(engine)
        finally:
            await engine.dispose()


async def test_case_survives_worker_and_server_restart(stack_dir):  # noqa: F811
    async with product_stack(stack_dir / "stack", "durability") as (stack, settings, sessions):
        reference = f"DUR-{uuid.uuid4().hex[:8]}"
        intake = make_intake(
            reference=reference,
            received_at=datetime.now(UTC),
            case_type="simple_construction",
            departments=["building"],
        )

        client = await connect(settings)
        async with build_worker(client, sessions, EmailChannel(settings), settings):
            await case_api.start_case(client, intake, settings.temporal_task_queue, vault=None)
            await case_api.assign_caseworker(client, reference, "mkj")
            # The contact letter leaves after the assignment answers: wait for it while the
            # worker still runs.
            assert len(await mails_to(stack.mail_dir, intake.contact.email, 2)) == 2

        # The worker is gone; the server restarts on the same database file.
        stack.temporal.stop()
        stack.temporal.start()

        client = await connect(settings)
        async with build_worker(client, sessions, EmailChannel(settings), settings):
            state = await case_api.get_state(client, reference)
            assert state.status.value == "awaiting_material" and state.agreed_date is not None
            codes = [m.code for m in required_material(intake.case_type, intake.departments)]
            assert (await case_api.report_material(client, reference, codes)).complete
            for _ in range(100):
                try:
                    await case_api.submit_review(
                        client, reference, "building", outcome="approved", text="I orden."
                    )
                    break
                except case_api.CaseError:  # the review is not started yet
                    await asyncio.sleep(0.1)
            for _ in range(100):
                if (
                    await case_api.get_state(client, reference)
                ).status.value == "awaiting_decision":
                    break
                await asyncio.sleep(0.1)
            await case_api.issue_decision(client, reference, "Projektet overholder reglerne.")
            final = await case_api.case_handle(client, reference).result()

        assert final.status.value == "closed" and final.survey_sent
        mails = await mails_to(stack.mail_dir, intake.contact.email, 5)
        assert [m.subject.split()[0] for m in mails] == [
            "Kvittering",
            "Jeres",
            "Sag",
            "Afgørelse",
            "Hvad",
        ]
        assert len({m.message_id for m in mails}) == 5  # every letter once


async def test_an_officers_action_during_a_temporal_restart_takes_effect_once(stack_dir):  # noqa: F811
    """Issue 7: the officer's `assign` is sent while the Temporal server is down; case_api
    retries it with the same update id until the server is back, and reports the result,
    never a failure for an action that took effect, and the contact letter goes out once."""
    folder = stack_dir / "stack-restart"
    async with product_stack(folder, "restart") as (stack, settings, sessions):
        reference = f"RST-{uuid.uuid4().hex[:8]}"
        intake = make_intake(reference=reference, received_at=datetime.now(UTC))
        client = await connect(settings)
        async with build_worker(client, sessions, EmailChannel(settings), settings):
            await case_api.start_case(client, intake, settings.temporal_task_queue, vault=None)
            assert len(await mails_to(stack.mail_dir, intake.contact.email, 1)) == 1

            stack.temporal.stop()
            assign = asyncio.create_task(
                case_api.assign_caseworker(client, reference, "mkj", request_id="officer-1")
            )
            await asyncio.sleep(2.0)
            assert not assign.done()  # still trying, not reporting a failure
            stack.temporal.start()
            result = await asyncio.wait_for(assign, timeout=90)
            assert result.caseworker.id == "mkj" and not result.reassignment

            # The officer, unsure, repeats the same request: the first result comes back.
            again = await case_api.assign_caseworker(
                client, reference, "mkj", request_id="officer-1"
            )
            assert again == result
            mails = await mails_to(stack.mail_dir, intake.contact.email, 2, timeout=90)
            assert [m.subject.split()[0] for m in mails] == ["Kvittering", "Jeres"]
            await asyncio.sleep(1.0)
            assert len(read_mails_to(stack.mail_dir, intake.contact.email)) == 2


def read_mails_to(mail_dir, address: str) -> list:
    from stack.smtp_sink import read_mails

    return [m for m in read_mails(mail_dir) if address in m.to]

"""The mail server down for a working day (issue 11, fault item 4): letters go out when it is
back, and the contact promise counts as kept only if the contact letter was DELIVERED by the
deadline (patch "contact-delivered-v1").

The time-skipping server with the real worker, real Postgres and the real SMTP sink, which is
stopped and started again. Two cases received at a pinned instant (the week before
Christmas, so the deadline spans the holidays): one is assigned at once and its contact letter
waits a working day for the mail server, well within the deadline (kept); the other is
assigned an hour before its deadline while the mail server is away, and its letter goes out
after the deadline (broken, counted, and no escalation: a caseworker was assigned).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
import pytest_asyncio

import case_api
from domain import calendar
from stack.smtp_sink import read_mails
from tests.conftest import START_INSTANTS, make_intake, sleep_until, time_skipping_product
from tests.test_e2e import stack  # noqa: F401 - Postgres and the SMTP sink
from workflows.survey import contact_kept

pytestmark = pytest.mark.e2e
RECEIVED = START_INSTANTS["christmas"]  # 17 December next year, 10:00 Copenhagen
DEADLINE = calendar.contact_deadline(RECEIVED)


@pytest_asyncio.fixture
async def product(stack):  # noqa: F811
    async with time_skipping_product(stack, "contact-delivery") as (env, settings, sessions):
        yield env, settings, sessions


async def letters(stack, address: str, subject_start: str, count: int, seconds: float = 30.0):  # noqa: F811
    for _ in range(int(seconds / 0.1)):
        found = [
            m
            for m in read_mails(stack.mail_dir)
            if address in m.to and m.subject.startswith(subject_start)
        ]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{count} letter(s) '{subject_start}…' did not arrive")


async def test_the_contact_promise_counts_the_letters_delivery(stack, product):  # noqa: F811
    env, settings, sessions = product
    vault = case_api.vault(sessions, settings)
    cases = {}
    await sleep_until(env, RECEIVED)
    for name in ("early", "late"):
        address = f"{name}-{uuid.uuid4().hex[:8]}@nordjysk-staal.dk"
        intake = make_intake(
            reference=f"SMTP-{name.upper()}-{uuid.uuid4().hex[:6]}",
            received_at=RECEIVED,
            contact={"name": "Søren Ærø Østergård", "email": address, "phone": "98123456"},
        )
        await case_api.start_case(env.client, intake, settings.temporal_task_queue, vault=vault)
        cases[name] = (intake.reference, address)
    for _, address in cases.values():
        await letters(stack, address, "Kvittering", 1)

    # The mail server goes away for a working day; the first case is assigned at once.
    early, early_address = cases["early"]
    stack.smtp.stop()
    await sleep_until(env, RECEIVED + timedelta(hours=1))
    result = await case_api.assign_caseworker(env.client, early, "mkj")
    assert result.within_contact_deadline  # assigned in time; the letter is still to go
    await sleep_until(env, RECEIVED + timedelta(hours=12))
    waiting = await case_api.get_state(env.client, early)
    assert waiting.letters_pending == ["contact-letter"] and waiting.contact_met is None
    back = RECEIVED + timedelta(days=1)
    await sleep_until(env, back)
    stack.smtp.start()
    [letter] = await letters(stack, early_address, "Jeres procesansvarlige", 1)
    await asyncio.sleep(0.5)  # the case records the send just after the mail server took it
    state = await case_api.get_state(env.client, early)
    assert state.contact_delivered_at is not None
    assert back <= state.contact_delivered_at < back + timedelta(minutes=1)
    assert state.contact_met is True and not state.contact_breached
    assert contact_kept(state) is True and state.letters_pending == []

    # The second case is assigned an hour before its deadline, with the mail server away
    # from two hours before to two hours after it.
    late, late_address = cases["late"]
    await sleep_until(env, DEADLINE - timedelta(hours=2))
    stack.smtp.stop()
    await sleep_until(env, DEADLINE - timedelta(hours=1))
    await case_api.assign_caseworker(env.client, late, "mkj")
    await sleep_until(env, DEADLINE + timedelta(hours=2))
    stack.smtp.start()
    [letter] = await letters(stack, late_address, "Jeres procesansvarlige", 1)
    await asyncio.sleep(0.5)
    state = await case_api.get_state(env.client, late)
    assert state.contact_breached and state.contact_met is False
    assert contact_kept(state) is False
    assert state.contact_delivered_at is not None and state.contact_delivered_at > DEADLINE
    assert state.contacted_at is not None and state.contacted_at <= DEADLINE
    assert "contact-escalation" not in state.letters_sent  # a caseworker was assigned
    # Each letter once, whatever the outages: no Message-ID twice.
    ids = [m.message_id for m in read_mails(stack.mail_dir) if late_address in m.to]
    ids += [m.message_id for m in read_mails(stack.mail_dir) if early_address in m.to]
    assert len(ids) == len(set(ids)) == 4 and letter.message_id in ids

"""Erasure by crypto-shredding, end to end on the dev stack as `./dev up` runs it: real
Temporal (dev server), real Postgres, the real worker and SMTP sink, the web service with the
codec server.

A case is started through the seam with its personal fields sealed, the letters reach the
company with its name and address, the company withdraws (its reason sealed too), the case
closes. The operator erases it: afterwards the case's histories, fetched raw and decoded by
the codec server, hold no personal data and nothing in them opens any more; the live state
reads "[slettet]"; the stored letters are blanked; the figures are the same; the histories
still replay; the erasure is recorded once, with who and why.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from google.protobuf import json_format
from sqlalchemy import select
from temporalio.api.history.v1 import History
from temporalio.client import Client, ScheduleOverlapPolicy
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

import case_api
import erasure_api
import figures_api
from db.measurement_models import ClosedCase
from db.models import Case, OutboxLetter
from db.personal_models import CaseDataKey, Erasure
from domain import retention
from domain.calendar import COPENHAGEN
from retention_schedule import SCHEDULE_ID as RETENTION_SCHEDULE
from retention_schedule import ensure_retention_schedule
from schemas.converter import data_converter
from schemas.sealed import ERASED_PLACEHOLDER, SEALED_TOKEN
from stack.smtp_sink import read_mails
from tests.conftest import make_intake
from tests.test_codec import histories_of_the_case, payloads_with_paths, raw_bytes
from tests.test_codec_server import dev  # noqa: F401 - fixture
from tests.test_e2e import product  # noqa: F401 - fixture
from worker import WORKFLOWS

pytestmark = pytest.mark.e2e
OPERATOR = "jha"
NAME, EMAIL, PHONE = "Kirsten Ølgaard Brøndum", "kirsten.brondum@oelgaard-byg.dk", "+4520304050"
DESCRIPTION = "Tilbygning til værksted, Brøndums Have 7, tegnet af Ib Ølgaard"
WITHDRAW_REASON = "Ib Ølgaard har solgt grunden på Brøndums Have"
MARKERS = (NAME, EMAIL, PHONE, "20304050", "Ølgaard", "Brøndum")


@pytest.fixture(scope="module")
def stack(dev):  # noqa: F811
    """The stack with the web service and the codec server (test_codec_server's), on which
    test_e2e's `product` runs the real worker."""
    return dev


async def until(check, what: str, seconds: float = 60.0):
    for _ in range(int(seconds / 0.1)):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def encoded(history) -> bytes:
    return raw_bytes(history)


async def decoded_texts(client: Client, history) -> list[str]:
    """Every payload of *history* decoded by the product's codec (as the codec server does),
    as text; search attributes and patch markers are stored unencoded."""
    codec = client.data_converter.payload_codec
    payloads = [p for _, p in payloads_with_paths(History(events=history.events))]
    return [p.data.decode("utf-8", "replace") for p in await codec.decode(payloads)]


async def test_an_erased_case_shows_no_personal_data_anywhere_and_still_replays(dev, product):  # noqa: F811
    settings, client, sessions = product
    vault = case_api.vault(sessions, settings)
    reference = f"ERASE-{uuid.uuid4().hex[:8]}"
    intake = make_intake(
        reference=reference,
        received_at=datetime.now(UTC),
        contact={"name": NAME, "email": EMAIL, "phone": PHONE},
        project_description=DESCRIPTION,
    )
    handle = await case_api.start_case(client, intake, settings.temporal_task_queue, vault=vault)

    # The letters are opened for the company: its name and address, in the clear.
    async def receipt():
        return [m for m in read_mails(dev.mail_dir) if EMAIL in m.to]

    [letter] = await until(receipt, "the receipt")
    assert f"Kære {NAME}" in letter.body

    closed = await case_api.withdraw(
        client, reference, WITHDRAW_REASON, request_id=f"w-{reference}", vault=vault
    )
    assert closed.closing_note == WITHDRAW_REASON  # opened for the caller by the seam
    await asyncio.wait_for(handle.result(), 60)

    async def projected():
        async with sessions() as session:
            row = await session.get(Case, handle.id)
            facts = await session.get(ClosedCase, handle.id)
            return row is not None and row.closed_at is not None and facts is not None

    await until(projected, "the closed case in the projection and the figures")
    await until(lambda: figures_api.latest(sessions), "the figures")
    figures_before = await figures_api.latest(sessions)

    histories = await histories_of_the_case(client, handle.id)
    before = [t for h in histories for t in await decoded_texts(client, h)]
    tokens = [t for text in before for t in SEALED_TOKEN.findall(text)]
    assert tokens, "no sealed personal field in the histories"
    for marker in MARKERS:  # sealed already before the erasure, even with the codec
        assert not any(marker in text for text in before), marker
    assert NAME in (await vault.open_tree(handle.id, tokens))  # ... and still opens

    # The operator erases it (a second request finds it erased: one audit row).
    done = await erasure_api.erase_case(
        sessions,
        settings,
        reference,
        OPERATOR,
        "Anmodning fra virksomheden (sag 2026-114)",
        client=client,
    )
    again = await erasure_api.erase_case(sessions, settings, reference, OPERATOR, "igen")
    assert not done.already_erased and again.already_erased
    assert again.erased_at == done.erased_at and done.erased_by == OPERATOR

    # Nothing opens any more: every sealed value in the histories reads "[slettet]".
    assert set(await vault.open_tree(handle.id, tokens)) == {ERASED_PLACEHOLDER}
    state = await case_api.get_state(client, reference, vault)
    assert state.intake.contact.name == state.intake.contact.email == ERASED_PLACEHOLDER
    assert state.intake.project_description == ERASED_PLACEHOLDER
    assert state.closing_note == ERASED_PLACEHOLDER
    assert state.intake.company == intake.company  # a company is not a person: it stays
    trail = json.dumps([e.data for e in await case_api.case_events(sessions, reference)])
    assert "sealed:" not in trail and case_api.SEALED_MARK in trail  # the withdrawal's note

    # Raw (a client without the codec) and decoded: no personal data in any history.
    raw = Client(**{**client.config(), "data_converter": DataConverter.default})
    for history in await histories_of_the_case(raw, handle.id):
        data = encoded(history)
        for marker in MARKERS:
            assert marker.encode() not in data, marker
        for text in await decoded_texts(client, history):
            for marker in MARKERS:
                assert marker not in text, marker

    # Through the codec server, as the operator's Temporal UI asks it.
    started = histories[0].events[0].workflow_execution_started_event_attributes
    body = {"payloads": [json_format.MessageToDict(p) for p in started.input.payloads]}
    async with httpx.AsyncClient(base_url=dev.web_url, timeout=10) as http:
        signed = await http.post("/auth/dev/sign-in", json={"caseworker_id": OPERATOR})
        assert signed.status_code == 200, signed.text
        answer = await http.post(
            "/codec/decode", json=body, headers={"X-Namespace": settings.temporal_namespace}
        )
    assert answer.status_code == 200, answer.text
    texts = [base64.b64decode(p["data"]).decode() for p in answer.json()["payloads"]]
    assert any(SEALED_TOKEN.search(t) for t in texts)
    for marker in MARKERS:
        assert not any(marker in t for t in texts), marker
    assert set(
        await vault.open_tree(handle.id, [t for x in texts for t in SEALED_TOKEN.findall(x)])
    ) == {ERASED_PLACEHOLDER}

    # Postgres: the letters blanked, the key gone, one erasure recorded; the figures the same.
    async with sessions() as session:
        letters = (
            await session.scalars(select(OutboxLetter).where(OutboxLetter.case_id == handle.id))
        ).all()
        key = await session.get(CaseDataKey, handle.id)
        erasures = (
            await session.scalars(select(Erasure).where(Erasure.case_id == handle.id))
        ).all()
        facts = await session.get(ClosedCase, handle.id)
    assert len(letters) >= 3  # receipt, closed notice, survey
    for row in letters:
        assert row.recipients == [] and row.body == ERASED_PLACEHOLDER
        assert row.calendar is None
    assert key.wrapped_key == b"" and key.erased_at == done.erased_at
    assert [(e.erased_by, e.reason) for e in erasures] == [
        (OPERATOR, "Anmodning fra virksomheden (sag 2026-114)")
    ]
    assert facts is not None and facts.closing_reason == "withdrawn"
    assert await figures_api.latest(sessions) == figures_before

    # The erased case still replays with today's workflow code.
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter(settings))
    for history in await histories_of_the_case(client, handle.id):
        await replayer.replay_workflow(history)


def projected_case(reference: str, closed_at: datetime | None) -> Case:
    """A case as the projection holds it (enough for the retention rule's query)."""
    received = (closed_at or datetime.now(UTC)) - timedelta(days=40)
    return Case(
        case_id=f"case-{reference}",
        version=1,
        reference=reference,
        case_type="simple_construction",
        departments=["building"],
        status="closed" if closed_at else "in_review",
        company_cvr="29189420",
        company_name="Nordjysk Stål ApS",
        received_at=received,
        contact_deadline=received + timedelta(days=7),
        contact_breached=False,
        updated_at=closed_at or received,
        closing_reason="decided" if closed_at else None,
        closed_at=closed_at,
    )


async def test_the_retention_schedule_erases_cases_past_their_time_only(dev, product):  # noqa: F811
    """On the real dev server: the Schedule is ensured idempotently (every day at the
    retention hour, Copenhagen, overlap SKIP); a triggered run erases the case closed more
    than ERHVERV_RETENTION_MONTHS ago and leaves a recently closed and an open case alone."""
    settings, client, sessions = product
    vault = case_api.vault(sessions, settings)
    tag = uuid.uuid4().hex[:6]
    now = datetime.now(UTC)
    old, recent, running = f"OLD-{tag}", f"RECENT-{tag}", f"OPEN-{tag}"
    closed_old = now - timedelta(days=31 * settings.retention_months + 2)
    async with sessions.begin() as session:
        session.add_all(
            [
                projected_case(old, closed_old),
                projected_case(recent, now - timedelta(days=20)),
                projected_case(running, None),
            ]
        )
    sealed = {}
    for reference in (old, recent, running):
        sealed[reference] = (await vault.seal_texts(f"case-{reference}", {"name": NAME}))["name"]
    assert retention.is_due(closed_old, settings.retention_months, now)

    assert await ensure_retention_schedule(client, settings) == "created"
    assert await ensure_retention_schedule(client, settings) == "updated"
    handle = client.get_schedule_handle(RETENTION_SCHEDULE)
    described = await handle.describe()
    assert described.schedule.spec.time_zone_name == "Europe/Copenhagen"
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    for upcoming in described.info.next_action_times[:3]:
        local = upcoming.astimezone(COPENHAGEN)
        assert (local.hour, local.minute) == (settings.retention_hour, 0)
    await handle.trigger()

    async def erased():
        async with sessions() as session:
            return await session.scalar(select(Erasure).where(Erasure.case_id == f"case-{old}"))

    record = await until(erased, "the retention run's erasure")
    await handle.delete()
    assert record.erased_by == erasure_api.RETENTION_ACTOR
    assert record.reason == f"retention: {settings.retention_months} months after closing"
    opened = {r: await vault.open_tree(f"case-{r}", v) for r, v in sealed.items()}
    assert opened == {old: ERASED_PLACEHOLDER, recent: NAME, running: NAME}
    runs = [w async for w in client.list_workflows("WorkflowType = 'RetentionWorkflow'")]
    assert runs and all(w.id.startswith("personal-data-retention") for w in runs)


async def test_a_case_still_sending_its_last_letters_is_not_erased_yet(product):  # noqa: F811
    """Closed in the projection, but its workflow still runs (the closing notice and the
    survey letter on their way): the doors' erasure waits, so the company gets them."""
    settings, client, sessions = product
    reference = f"CLOSING-{uuid.uuid4().hex[:6]}"
    async with sessions.begin() as session:
        session.add(projected_case(reference, datetime.now(UTC)))
    running = await client.start_workflow(  # nobody polls this queue: it stays running
        "CaseWorkflow", id=f"case-{reference}", task_queue=f"nobody-{reference}"
    )
    with pytest.raises(erasure_api.ErasureError, match="still on their way") as refused:
        await erasure_api.erase_case(
            sessions, settings, reference, OPERATOR, "for tidligt", client=client
        )
    assert refused.value.kind == "StillClosing"
    async with sessions() as session:
        assert await session.get(CaseDataKey, f"case-{reference}") is None
    await running.terminate("test")
    done = await erasure_api.erase_case(
        sessions, settings, reference, OPERATOR, "nu er den lukket", client=client
    )
    assert not done.already_erased


async def test_input_that_looks_sealed_is_refused_at_the_door(product):  # noqa: F811
    """Nobody outside may hand in a value that would open as something else."""
    settings, client, sessions = product
    reference = f"SEALED-{uuid.uuid4().hex[:6]}"
    forged = "sealed:v1:" + "A" * 60
    intake = make_intake(reference=reference, received_at=datetime.now(UTC))
    intake = intake.model_copy(update={"project_description": forged})
    with pytest.raises(case_api.CaseError, match="may not begin with 'sealed:'") as refused:
        await case_api.start_case(
            client, intake, settings.temporal_task_queue, vault=case_api.vault(sessions, settings)
        )
    assert refused.value.kind == "InvalidInput" and forged not in str(refused.value)
    with pytest.raises(case_api.CaseError, match="No case"):
        await case_api.get_state(client, reference)

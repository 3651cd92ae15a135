"""The case workflow on the time-skipping server, with its activities faked at the boundary
(same activity names, recorded calls). The real activities are covered in test_e2e.py."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pytest
from dateutil.easter import easter
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

import case_api
from activities.records import CaseRecord, HistoryQuery
from db.seed import load_roster
from schemas import search_attributes as sa
from schemas.case import AssignCaseworker, CaseSetup, CaseStatus, Caseworker
from schemas.letters import LetterKind, LetterRequest, LetterResult
from settings import ROOT
from tests.conftest import CPH, make_intake, sleep_until
from worker import case_worker
from workflows.case import CaseWorkflow

# Received on the Tuesday of Holy Week next year (always in the future for the test server's
# clock, which starts today). Maundy Thursday, Good Friday and Easter Monday are closed, so the
# working days after receipt are Wednesday, then Tuesday to Friday after Easter: the reminder
# at the end of Thursday (4th), the deadline at the end of Friday (5th) after Easter Sunday.
EASTER = easter(date.today().year + 1)
RECEIVED = datetime.combine(EASTER - timedelta(days=5), time(10, 0), tzinfo=CPH)
REMINDER = datetime.combine(EASTER + timedelta(days=4), time(23, 59, 59, 999999), tzinfo=CPH)
DEADLINE = datetime.combine(EASTER + timedelta(days=5), time(23, 59, 59, 999999), tzinfo=CPH)

# The caseworker directory the stack seeds; the contact tests use two of them.
ALL_CASEWORKERS = load_roster(ROOT / "config" / "caseworkers.json")
ROSTER = [c for c in ALL_CASEWORKERS if c.id in ("mkj", "abr")]


@dataclass
class Fakes:
    """Boundary fakes that record what the workflow asked for, and when (workflow time)."""

    env: WorkflowEnvironment
    letters: list[tuple[datetime, LetterRequest]] = field(default_factory=list)
    records: list[CaseRecord] = field(default_factory=list)
    history_days: list[float] = field(default_factory=list)
    roster: list[Caseworker] = field(default_factory=lambda: list(ROSTER))
    setup: dict = field(default_factory=dict)
    # faults at the boundary: letter sends that fail (the mail server is down) before one
    # succeeds, and audit event kinds that Postgres refuses for good
    letter_failures: int = 0
    refused_kinds: set[str] = field(default_factory=set)
    letter_attempts: int = 0
    refused_letters: set[str] = field(default_factory=set)  # letter keys refused for good

    def kinds(self) -> list[LetterKind]:
        return [r.kind for _, r in self.letters]

    def activities(self):
        @activity.defn(name="load_case_setup")
        async def load_case_setup() -> CaseSetup:
            return CaseSetup(
                **self.setup,
                caseworkers=self.roster,
                closing_days=[],
                caseworker_team_email="team@kommune.example",
                team_lead_email="lead@kommune.example",
                municipality_name="Aalborg Kommune",
            )

        @activity.defn(name="record_case")
        async def record_case(record: CaseRecord) -> None:
            if {e.kind for e in record.events} & self.refused_kinds:
                raise ApplicationError(
                    "Postgres refused the case record (DataError); retrying cannot help.",
                    type="PermanentDataError",
                    non_retryable=True,
                )
            self.records.append(record)

        @activity.defn(name="processing_history")
        async def processing_history(query: HistoryQuery) -> list[float]:
            return list(self.history_days)

        @activity.defn(name="send_letter")
        async def send_letter(request: LetterRequest) -> LetterResult:
            self.letter_attempts += 1
            if request.letter_key in self.refused_letters:
                raise ApplicationError(
                    "the mail server refused the recipient",
                    type="RecipientRefused",
                    non_retryable=True,
                )
            if self.letter_failures > 0:
                self.letter_failures -= 1
                raise ConnectionRefusedError("the mail server does not answer")
            self.letters.append((await self.env.get_current_time(), request))
            return LetterResult(
                message_id=f"<{request.case_id}.{request.letter_key}@test>", already_sent=False
            )

        return [load_case_setup, record_case, processing_history, send_letter]


async def settle(handle) -> None:
    """Wait until the case has handed over every letter it decided on (its queue is empty)."""
    for _ in range(400):
        state = await handle.query(CaseWorkflow.get_state)
        if not state.letters_queued:
            await asyncio.sleep(0.02)  # the recording of the last letter
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"letters still queued: {state.letters_queued}")


@pytest.fixture
async def case(time_env):
    """A running worker on a unique task queue, the fakes, and a started case."""
    fakes = Fakes(time_env)
    queue = f"test-{uuid.uuid4()}"
    async with case_worker(time_env.client, queue, fakes.activities()):
        intake = make_intake(reference=f"BYG-{uuid.uuid4().hex[:10]}", received_at=RECEIVED)
        await sleep_until(time_env, RECEIVED)
        handle = await case_api.start_case(time_env.client, intake, queue, vault=None)
        # Let the receipt go out.
        await time_env.sleep(timedelta(seconds=5))
        yield handle, fakes, intake, queue


async def test_receipt_then_reminder_and_escalation_at_working_day_instants(time_env, case):
    handle, fakes, intake, _ = case
    await settle(case[0])
    assert fakes.kinds() == [LetterKind.receipt]
    assert fakes.letters[0][1].to == [intake.contact.email]
    state = await handle.query(CaseWorkflow.get_state)
    assert state.contact_deadline == DEADLINE
    assert state.contact_reminder_at == REMINDER

    await sleep_until(time_env, REMINDER - timedelta(minutes=1))
    assert fakes.kinds() == [LetterKind.receipt]
    await time_env.sleep(timedelta(minutes=2))
    await settle(case[0])
    assert fakes.kinds() == [LetterKind.receipt, LetterKind.contact_reminder]
    sent_at, reminder = fakes.letters[1]
    assert REMINDER <= sent_at < REMINDER + timedelta(minutes=1)
    assert reminder.to == ["team@kommune.example"]

    await sleep_until(time_env, DEADLINE - timedelta(minutes=1))
    assert LetterKind.contact_escalation not in fakes.kinds()
    await time_env.sleep(timedelta(minutes=2))
    await settle(case[0])
    assert fakes.kinds() == [
        LetterKind.receipt,
        LetterKind.contact_reminder,
        LetterKind.contact_escalation,
    ]
    sent_at, escalation = fakes.letters[2]
    assert DEADLINE <= sent_at < DEADLINE + timedelta(minutes=1)
    assert escalation.to == ["lead@kommune.example"]

    state = await handle.query(CaseWorkflow.get_state)
    assert state.contact_breached and state.status == CaseStatus.contact_overdue
    attrs = (await handle.describe()).typed_search_attributes
    assert attrs.get(sa.CONTACT_BREACHED) is True
    assert attrs.get(sa.CASE_STATUS) == "contact_overdue"
    assert attrs.get(sa.CONTACT_DEADLINE) == DEADLINE
    assert sorted(attrs.get(sa.DEPARTMENTS)) == ["building", "fire"]
    breaches = [e for r in fakes.records for e in r.events if e.kind == "contact_deadline_breached"]
    assert len(breaches) == 1

    # A caseworker assigned after the breach still gets the contact letter out; the breach stays.
    result = await handle.execute_update(
        CaseWorkflow.assign_caseworker, AssignCaseworker(caseworker_id="mkj")
    )
    assert result.within_contact_deadline is False
    await settle(case[0])
    assert fakes.kinds()[-1] == LetterKind.contact_letter
    assert (await handle.query(CaseWorkflow.get_state)).contact_met is False


async def test_assignment_before_deadline_cancels_reminder_and_escalation(time_env, case):
    handle, fakes, intake, _ = case
    result = await case_api.assign_caseworker(time_env.client, intake.reference, "MKJ")
    assert (
        result.caseworker.id == "mkj" and result.within_contact_deadline and not result.reassignment
    )
    await settle(case[0])
    assert fakes.kinds() == [LetterKind.receipt, LetterKind.contact_letter]
    contact_letter = fakes.letters[1][1]
    assert contact_letter.to == [intake.contact.email]
    assert contact_letter.facts.caseworker.name == "Mette Kjær Jensen"

    await sleep_until(time_env, DEADLINE + timedelta(days=3))
    # No reminder, no escalation (the case's later letters are tested in test_case_life.py).
    contact_kinds = {LetterKind.contact_reminder, LetterKind.contact_escalation}
    await settle(case[0])
    assert not contact_kinds & set(fakes.kinds())
    state = await handle.query(CaseWorkflow.get_state)
    assert state.contact_met is True and not state.contact_breached
    assert (await handle.describe()).typed_search_attributes.get(sa.CONTACT_BREACHED) is False
    # The projection only moves forward and ends in the assigned state.
    versions = [r.projection.version for r in fakes.records]
    assert versions == sorted(versions)
    assert max(fakes.records, key=lambda r: r.projection.version).projection.caseworker_id == "mkj"


async def test_reassignment_tells_the_company(time_env, case):
    _handle, fakes, intake, _ = case
    await case_api.assign_caseworker(time_env.client, intake.reference, "mkj")
    result = await case_api.assign_caseworker(
        time_env.client, intake.reference, "abr", replacing="mkj"
    )
    assert result.reassignment and result.letter_key == "reassignment-2"
    await settle(case[0])
    assert fakes.kinds() == [LetterKind.receipt, LetterKind.contact_letter, LetterKind.reassignment]
    letter = fakes.letters[-1][1]
    assert letter.facts.caseworker.id == "abr" and letter.facts.previous_caseworker.id == "mkj"


INITIALS = (
    "caseworker_id: a caseworker id is the caseworker's initials: 2-16 letters a-z or digits, "
    "e.g. mkj (see config/caseworkers.json)"
)


@pytest.mark.parametrize(
    ("caseworker_id", "message", "officer_sees"),
    [
        ("", f"Invalid AssignCaseworker: {INITIALS}", INITIALS),
        ("   ", f"Invalid AssignCaseworker: {INITIALS}", INITIALS),
        (
            "mk\x00j",
            (
                "Invalid AssignCaseworker: caseworker_id: must not contain the NUL character "
                "(U+0000, at character 3)"
            ),
            "caseworker_id: must not contain the NUL character",
        ),
        (
            "xyz",
            (
                "Unknown caseworker 'xyz'. Known caseworkers: abr, mkj. (Added to the directory "
                "after the case started? Refresh the case's roster first: starter.py "
                "refresh-roster <reference>.)"
            ),
            "Assignment rejected: Unknown caseworker 'xyz'",
        ),
    ],
)
async def test_bad_assignment_is_rejected_with_its_message(
    time_env, case, caseworker_id, message, officer_sees
):
    handle, fakes, intake, _ = case
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        # as a case system or the Temporal CLI would send it: raw JSON
        await handle.execute_update("assign_caseworker", {"caseworker_id": caseworker_id})
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.message == message
    # Through the Python API the officer sees the same reason, and nothing changed.
    with pytest.raises(case_api.CaseError) as rejected:
        await case_api.assign_caseworker(time_env.client, intake.reference, caseworker_id)
    assert officer_sees in str(rejected.value)
    await settle(case[0])
    state = await handle.query(CaseWorkflow.get_state)
    assert state.caseworker is None and fakes.kinds() == [LetterKind.receipt]


async def test_assigning_the_same_caseworker_twice_is_rejected(time_env, case):
    _handle, _, intake, _ = case
    await case_api.assign_caseworker(time_env.client, intake.reference, "mkj")
    with pytest.raises(
        case_api.CaseError, match="'mkj' is already the process-responsible caseworker"
    ):
        await case_api.assign_caseworker(time_env.client, intake.reference, "mkj")


async def test_duplicate_start_is_rejected(time_env, case):
    _handle, fakes, intake, queue = case
    with pytest.raises(case_api.CaseError) as err:
        await case_api.start_case(time_env.client, intake, queue, vault=None)
    assert str(err.value) == (
        f"A case with reference {intake.reference} already exists "
        f"(workflow id case-{intake.reference}); it was not started again."
    )
    await settle(case[0])
    assert fakes.kinds() == [LetterKind.receipt]


async def test_search_attributes_and_details_carry_no_personal_data(time_env, case):
    handle, _, intake, _ = case
    description = await handle.describe()
    values = [str(v) for v in description.typed_search_attributes]
    details = (await handle.query("__temporal_workflow_metadata")).current_details
    for personal in (
        intake.contact.name,
        intake.contact.email,
        intake.contact.phone,
        intake.company.cvr,
        intake.company.name,
    ):
        assert all(personal not in v for v in values)
        assert personal not in details
        assert personal not in handle.id
    assert f"Contact deadline:** {DEADLINE:%Y-%m-%d} 23:59" in details


async def test_a_caseworker_added_later_is_known_after_refresh(time_env, case):
    _handle, fakes, intake, _ = case
    with pytest.raises(case_api.CaseError, match="Unknown caseworker 'jha'"):
        await case_api.assign_caseworker(time_env.client, intake.reference, "jha")
    fakes.roster.extend(c for c in ALL_CASEWORKERS if c.id == "jha")
    assert await case_api.refresh_roster(time_env.client, intake.reference) == ["abr", "jha", "mkj"]
    result = await case_api.assign_caseworker(time_env.client, intake.reference, "jha")
    assert result.caseworker.name == "Jørgen Hald Andersen"

"""The core under real use (issue 7): concurrent and retried officer actions, racing closings,
reviews that fail, input that cannot be trusted, and letters the mail server will not take.

Cases run on the time-skipping server from a pinned receipt instant, with the boundary fakes
of test_case_workflow (which can also fail letters and refuse records)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

import case_api
from domain import calendar
from schemas import search_attributes as sa
from schemas.case import AssignmentResult, CaseStatus
from schemas.letters import LetterKind
from schemas.life import ClosingReason
from tests.conftest import START_INSTANTS, make_intake, sleep_until
from tests.test_case_life import ROSTER, Life
from tests.test_case_workflow import Fakes
from worker import case_worker
from workflows.case import CaseWorkflow
from workflows.review import DepartmentReviewWorkflow

RECEIVED = START_INSTANTS["christmas"]


@pytest.fixture
async def core(time_env):
    fakes = Fakes(time_env, roster=list(ROSTER))
    queue = f"core-{uuid.uuid4()}"
    async with case_worker(time_env.client, queue, fakes.activities()):
        yield Life(time_env, fakes, queue, RECEIVED)


@pytest.fixture
async def dev_core(dev_env):
    """As `core`, on the real dev server, for a case received now."""
    fakes = Fakes(dev_env, roster=list(ROSTER))
    queue = f"core-dev-{uuid.uuid4()}"
    async with case_worker(dev_env.client, queue, fakes.activities()):
        yield Life(dev_env, fakes, queue, await dev_env.get_current_time())


async def new_case(core: Life, **extra) -> Life:
    """Another case on the same server, worker and fakes."""
    received_at = core.received_at if core.env.supports_time_skipping else None
    life = Life(core.env, core.fakes, core.queue, received_at)
    if received_at is None:
        life.received_at = await core.env.get_current_time()
    await life.start(**extra)
    return life


def letters_of(core: Life, reference: str, kind: LetterKind) -> list:
    return [r for _, r in core.fakes.letters if r.kind == kind and reference in r.case_id]


# ------------------------------------------------------------ assignments
async def test_two_officers_assigning_at_once_on_20_cases_give_one_winner_each(core):
    cases = [await new_case(core) for _ in range(20)]

    async def both(life: Life):
        return await asyncio.gather(
            case_api.assign_caseworker(life.client, life.reference, "mkj"),
            case_api.assign_caseworker(life.client, life.reference, "abr"),
            return_exceptions=True,
        )

    outcomes = await asyncio.gather(*(both(life) for life in cases))
    for life, pair in zip(cases, outcomes, strict=True):
        wins = [r for r in pair if isinstance(r, AssignmentResult)]
        losses = [r for r in pair if isinstance(r, case_api.CaseError)]
        assert len(wins) == 1 and len(losses) == 1, pair
        winner = wins[0].caseworker.id
        assert not wins[0].reassignment
        # The officer who lost is told who was assigned, and how to hand the case over.
        assert f"already has a process-responsible caseworker: '{winner}'" in str(losses[0])
        assert losses[0].kind == "AlreadyAssigned"
        assert "--replacing" in str(losses[0])
        await life.settled()
        assert [r.kind for r in letters_to_company(core, life)] == [
            LetterKind.receipt,
            LetterKind.contact_letter,
        ]
        state = await life.state()
        assert state.caseworker.id == winner and state.assignments == 1
    assert len([r for _, r in core.fakes.letters if r.kind == LetterKind.contact_letter]) == 20
    assert not [r for _, r in core.fakes.letters if r.kind == LetterKind.reassignment]


def letters_to_company(core: Life, life: Life) -> list:
    return [
        r
        for _, r in core.fakes.letters
        if r.case_id == life.handle.id and life.intake.contact.email in r.to
    ]


async def test_a_retried_request_returns_the_first_result_and_does_nothing_twice(core):
    life = await new_case(core)
    first = await case_api.assign_caseworker(
        life.client, life.reference, "mkj", request_id="officer-request-1"
    )
    again = await case_api.assign_caseworker(
        life.client, life.reference, "mkj", request_id="officer-request-1"
    )
    assert again == first
    await life.settled()
    assert len(letters_of(core, life.reference, LetterKind.contact_letter)) == 1
    # A new request (a new id) to assign someone else is a conflict, not a reassignment.
    with pytest.raises(case_api.CaseError, match="already has a process-responsible"):
        await case_api.assign_caseworker(life.client, life.reference, "abr")


async def test_reassignment_names_whom_it_replaces(core):
    life = await new_case(core)
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    with pytest.raises(case_api.CaseError, match="'abr' is not the process-responsible"):
        await case_api.assign_caseworker(life.client, life.reference, "jha", replacing="abr")
    with pytest.raises(case_api.CaseError, match="'mkj' is already the process-responsible"):
        await case_api.assign_caseworker(life.client, life.reference, "mkj", replacing="mkj")
    result = await case_api.assign_caseworker(life.client, life.reference, "abr", replacing="MKJ")
    assert result.reassignment and result.caseworker.id == "abr"
    letter = (await life.letters(LetterKind.reassignment))[0]
    assert (letter.facts.previous_caseworker.id, letter.facts.caseworker.id) == ("mkj", "abr")


async def test_nothing_to_replace_before_the_first_assignment(core):
    life = await new_case(core)
    with pytest.raises(case_api.CaseError, match="no one to replace"):
        await case_api.assign_caseworker(life.client, life.reference, "abr", replacing="mkj")


# ---------------------------------------------------------------- closing
async def to_awaiting_decision(life: Life) -> None:
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    await case_api.report_material(life.client, life.reference, life.all_material())
    await life.review("building")
    await life.until_status(CaseStatus.awaiting_decision)


async def to_warned(life: Life) -> None:
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    state = await life.state()
    warn_on = calendar.add_working_days(calendar.local_date(state.waiting_since), 20)
    await sleep_until(life.env, calendar.end_of_day(warn_on) + timedelta(hours=1))
    assert (await life.state()).dismissal_warning_sent


CLOSINGS = {
    "decide": lambda life: case_api.issue_decision(life.client, life.reference, "Godkendt."),
    "withdraw": lambda life: case_api.withdraw(life.client, life.reference, "Opgivet"),
    "dismiss": lambda life: case_api.dismiss(life.client, life.reference, "Materialet mangler"),
}
WINNER = {
    "decide": ClosingReason.decided,
    "withdraw": ClosingReason.withdrawn,
    "dismiss": ClosingReason.dismissed_incomplete,
}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("decide", "decide"),
        ("decide", "withdraw"),
        ("withdraw", "decide"),
        ("withdraw", "withdraw"),
        ("withdraw", "dismiss"),
        ("dismiss", "withdraw"),
        ("dismiss", "dismiss"),
    ],
)
async def test_racing_closings_close_the_case_once(core, first, second):
    life = await new_case(core)
    if "decide" in (first, second):
        await to_awaiting_decision(life)
    else:
        await to_warned(life)
    outcomes = await asyncio.gather(
        CLOSINGS[first](life), CLOSINGS[second](life), return_exceptions=True
    )
    errors = [o for o in outcomes if isinstance(o, case_api.CaseError)]
    assert len(errors) == 1, outcomes
    assert "The case is closing" in str(errors[0])
    assert errors[0].kind in ("Closing", "AlreadyDecided")
    final = await life.handle.result()
    winner = WINNER[first] if outcomes[0] is not errors[0] else WINNER[second]
    assert final.closing_reason == winner and final.status == CaseStatus.closed
    kinds = await life.to_company()
    assert kinds.count(LetterKind.survey) == 1
    assert kinds.count(LetterKind.decision) + kinds.count(LetterKind.closed_notice) == 1
    # A decided case is never called withdrawn afterwards, and the other way round.
    assert (LetterKind.decision in kinds) == (winner == ClosingReason.decided)


# ---------------------------------------------------------------- reviews
async def test_a_terminated_review_is_told_to_the_coordinator_and_restarted(dev_core):
    core = dev_core
    life = await new_case(core)
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    await case_api.report_material(life.client, life.reference, life.all_material())
    await life.review_started("building")
    review = case_api.review_handle(life.client, life.reference, "building", 1)
    await review.terminate(reason="operator stopped it")
    for _ in range(200):
        if (await life.state()).failed_reviews:
            break
        await asyncio.sleep(0.05)
    state = await life.state()
    assert state.failed_reviews == ["building#1"] and state.status == CaseStatus.in_review
    assert any("restart" in why for why in state.attention)
    attrs = (await life.handle.describe()).typed_search_attributes
    assert attrs.get(sa.NEEDS_ATTENTION) is True
    failed = await life.letters(LetterKind.review_failed)
    assert [r.to for r in failed] == [["mkj@kommune.example"]]
    with pytest.raises(case_api.CaseError, match="restart it first"):
        await case_api.submit_review(
            life.client, life.reference, "building", outcome="approved", text="Ok."
        )

    state = await case_api.restart_review(life.client, life.reference, "building")
    assert state.review_rounds["building"] == 2 and not state.failed_reviews
    assert not state.attention
    await life.review("building")
    await life.until_status(CaseStatus.awaiting_decision)
    await case_api.issue_decision(life.client, life.reference, "Godkendt.")
    final = await life.handle.result()
    assert final.reviews["building"].round == 2
    attrs = (await life.handle.describe()).typed_search_attributes
    assert attrs.get(sa.NEEDS_ATTENTION) is False


async def test_more_time_is_asked_of_the_case_which_moves_the_dates(core):
    life = await new_case(core, case_type="industry_warehouse", departments=("building", "fire"))
    await case_api.assign_caseworker(life.client, life.reference, "jha")
    await case_api.report_material(life.client, life.reference, life.all_material())
    await life.review_started("fire")
    agreed = (await life.state()).agreed_date
    moved = await case_api.request_more_time(
        life.client, life.reference, "fire", working_days=3, reason="Afventer brandteknisk notat"
    )
    state = await life.state()
    assert state.agreed_date == calendar.add_working_days(agreed, 3)
    assert state.review_deadlines["fire"] == moved.review_deadline
    review = case_api.review_handle(life.client, life.reference, "fire", 1)
    assert await review.query(DepartmentReviewWorkflow.review_deadline) == moved.review_deadline
    await life.review("fire")
    with pytest.raises(case_api.CaseError, match="already submitted"):
        await case_api.request_more_time(
            life.client, life.reference, "fire", working_days=1, reason="For sent"
        )
    with pytest.raises(case_api.CaseError, match="department: give one of"):
        await case_api.request_more_time(
            life.client, life.reference, [], working_days=1, reason="Forkert"
        )


# ------------------------------------------------------------------ input
async def test_a_case_started_directly_with_invalid_input_fails_at_once(core):
    now = await core.env.get_current_time()
    bad_email = "soeren\x00@nordjysk-staal"
    raw = make_intake(reference="RAW-1", received_at=now).model_dump(mode="json")
    raw["contact"]["email"] = bad_email
    handle = await core.client.start_workflow(
        "CaseWorkflow", raw, id=f"case-RAW-{uuid.uuid4().hex[:8]}", task_queue=core.queue
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidInput"
    assert cause.non_retryable and "contact.email" in cause.message
    assert "soeren" not in cause.message and len(cause.message.encode()) <= 300


async def test_a_case_received_in_the_future_fails_at_once(core):
    now = await core.env.get_current_time()
    intake = make_intake(reference="FUTURE-1", received_at=now + timedelta(days=2))
    handle = await core.client.start_workflow(
        CaseWorkflow.run, intake, id=f"case-FUT-{uuid.uuid4().hex[:8]}", task_queue=core.queue
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert failed.value.cause.type == "InvalidInput"
    assert "received_at" in failed.value.cause.message


@pytest.mark.parametrize(
    ("args", "error_type"),
    [([], "MissingArgument"), ([{"caseworker_id": 5}], "InvalidInput"), (["mkj"], "InvalidInput")],
)
async def test_an_update_with_a_missing_or_malformed_argument_is_rejected_by_name(
    core, args, error_type
):
    life = await new_case(core)
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await life.handle.execute_update("assign_caseworker", args=args)
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == error_type
    # The case is unharmed: a proper assignment still works.
    result = await case_api.assign_caseworker(life.client, life.reference, "mkj")
    assert result.caseworker.id == "mkj"


# ------------------------------------------------------- faults at the edge
async def test_a_letter_the_mail_server_will_not_take_is_shown_as_pending(core):
    core.fakes.letter_failures = 10**6  # the mail server is down
    life = await new_case(core)
    for _ in range(200):
        state = await life.state()
        if state.letters_pending:
            break
        await asyncio.sleep(0.05)
    assert state.letters_pending == ["receipt"]
    attrs = (await life.handle.describe()).typed_search_attributes
    assert attrs.get(sa.LETTERS_PENDING) == 1
    details = (await life.handle.query("__temporal_workflow_metadata")).current_details
    assert "LETTER PENDING" in details and "receipt" in details
    # An officer's action does not wait for the mail server.
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    core.fakes.letter_failures = 0  # the mail server is back
    await life.env.sleep(timedelta(minutes=1))
    await life.settled()
    state = await life.state()
    assert state.letters_pending == [] and state.letters_sent == ["receipt", "contact-letter"]
    assert (await life.handle.describe()).typed_search_attributes.get(sa.LETTERS_PENDING) == 0
    assert [r.kind for r in letters_to_company(core, life)] == [
        LetterKind.receipt,
        LetterKind.contact_letter,
    ]


async def test_the_contact_deadline_runs_from_receipt_whatever_happens_to_the_receipt(core):
    core.fakes.refused_letters = {"receipt"}  # e.g. the company's address is refused for good
    life = await new_case(core)
    state = await life.state()
    await sleep_until(life.env, state.contact_deadline + timedelta(hours=1))
    await life.settled()
    state = await life.state()
    assert state.contact_breached and state.status == CaseStatus.contact_overdue
    assert "receipt" not in state.letters_sent
    assert any("letter receipt not sent" in why for why in state.attention)
    assert [r.kind for r in await life.letters(LetterKind.contact_escalation)] == [
        LetterKind.contact_escalation
    ]
    attrs = (await life.handle.describe()).typed_search_attributes
    assert attrs.get(sa.CONTACT_BREACHED) is True and attrs.get(sa.NEEDS_ATTENTION) is True


async def test_a_record_postgres_refuses_for_good_is_shown_and_the_case_goes_on(core):
    core.fakes.refused_kinds = {"case_received"}
    life = await new_case(core)
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    state = await life.state()
    assert state.status == CaseStatus.awaiting_material
    assert any("case_received" in why for why in state.attention)
    attrs = (await life.handle.describe()).typed_search_attributes
    assert attrs.get(sa.NEEDS_ATTENTION) is True


async def test_the_ui_summary_says_what_the_case_is_without_personal_data(core):
    life = await new_case(core)
    description = await life.handle.describe()
    summary = await description.static_summary()
    assert summary == f"simple_construction · building · received {RECEIVED.date().isoformat()}"
    for personal in (life.intake.contact.name, life.intake.company.name, life.intake.company.cvr):
        assert personal not in summary


async def test_rejections_say_what_is_missing_and_when_the_case_is_closed(core):
    life = await new_case(core, case_type="industry_warehouse", departments=("building", "fire"))
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    with pytest.raises(case_api.CaseError) as early:
        await case_api.issue_decision(life.client, life.reference, "For tidligt.")
    assert "Reviews not in yet: building, fire" in str(early.value)
    with pytest.raises(case_api.CaseError) as waiting:
        await case_api.submit_review(
            life.client, life.reference, "fire", outcome="approved", text="Ok."
        )
    assert "waiting for material" in str(waiting.value) and "fuldt oplyst" in str(waiting.value)
    await case_api.withdraw(life.client, life.reference, "Opgivet")
    with pytest.raises(case_api.CaseError) as closed:
        await case_api.assign_caseworker(life.client, life.reference, "abr", replacing="mkj")
    assert "is completed; nothing more can be done on it" in str(closed.value)

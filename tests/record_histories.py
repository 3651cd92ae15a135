"""Record case histories on the time-skipping server, for the replay tests.

    .venv/bin/python -m tests.record_histories   # records scenarios with no history yet

It never overwrites a committed history: those stand for cases already running in production,
and the workflow code must keep replaying them (use `workflow.patched` for changes). Add a new
scenario when the workflow gains behaviour worth guarding.
"""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import activity
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

import case_api
from schemas.booking import CaseBookingLink, LinkedBooking
from schemas.case import CaseStatus
from schemas.life import PreDialogueTopic
from schemas.retention import RetentionRun
from tests.conftest import make_intake, register_search_attributes, sleep_until, start_time_skipping
from tests.test_case_life import ROSTER, Life, decide_and_close, fire_late_with_more_time
from tests.test_case_workflow import DEADLINE, RECEIVED, Fakes
from worker import case_worker
from workflows.retention import RetentionWorkflow

HISTORIES = Path(__file__).parent / "histories"


async def _breach_then_late_assignment(env: WorkflowEnvironment, queue: str) -> WorkflowHistory:
    intake = make_intake(reference="REPLAY-BREACH", received_at=RECEIVED)
    await sleep_until(env, RECEIVED)
    handle = await case_api.start_case(env.client, intake, queue, vault=None)
    await env.sleep(DEADLINE - await env.get_current_time() + timedelta(hours=10))
    await case_api.assign_caseworker(env.client, intake.reference, "mkj")
    return await handle.fetch_history()


async def _assignment_and_reassignment(env: WorkflowEnvironment, queue: str) -> WorkflowHistory:
    intake = make_intake(reference="REPLAY-ASSIGN", received_at=RECEIVED)
    await sleep_until(env, RECEIVED)
    handle = await case_api.start_case(env.client, intake, queue, vault=None)
    await env.sleep(timedelta(hours=1))
    await case_api.assign_caseworker(env.client, intake.reference, "mkj")
    await case_api.assign_caseworker(env.client, intake.reference, "abr", replacing="mkj")
    await env.sleep(DEADLINE - await env.get_current_time() + timedelta(days=1))
    return await handle.fetch_history()


async def _three_departments_more_time(
    env: WorkflowEnvironment, queue: str, history_of: str = "case"
) -> WorkflowHistory:
    """history_of: "case", or a department whose review history to return."""
    life = Life(env, Fakes(env, roster=list(ROSTER)), queue)
    await life.start(
        case_type="industry_warehouse", departments=("building", "environment", "fire")
    )
    await case_api.assign_caseworker(env.client, life.reference, "jha")
    await fire_late_with_more_time(life, "refused", text="Flugtvejene er for lange.")
    await decide_and_close(life)
    if history_of != "case":
        return await case_api.review_handle(
            env.client, life.reference, history_of, 1
        ).fetch_history()
    return await life.handle.fetch_history()


async def _project_change_withdrawal(env: WorkflowEnvironment, queue: str) -> WorkflowHistory:
    life = Life(env, Fakes(env, roster=list(ROSTER)), queue)
    await life.start(
        case_type="industry_warehouse",
        departments=("building", "fire"),
        sustainability_level=3,
        pre_dialogue_wished=True,
    )
    await case_api.assign_caseworker(env.client, life.reference, "mkj")
    now = await env.get_current_time()
    await case_api.book_pre_dialogue(
        env.client, life.reference, at=(now + timedelta(days=10)).isoformat(), place="Rådhuset"
    )
    await case_api.book_pre_dialogue(
        env.client, life.reference, at=(now + timedelta(days=12)).isoformat(), place="Rådhuset"
    )
    await case_api.report_material(env.client, life.reference, life.all_material())
    await life.review("building")
    await case_api.report_project_change(
        env.client,
        life.reference,
        description="Større hal",
        departments=["building"],
        new_material=[life.all_material()[0]],
    )
    await env.sleep(timedelta(days=13))
    await case_api.answer_nbe_offer(env.client, life.reference, False)
    await case_api.withdraw(env.client, life.reference, "Opgivet")
    return await life.handle.fetch_history()


async def _dismissal(env: WorkflowEnvironment, queue: str) -> WorkflowHistory:
    life = Life(env, Fakes(env, roster=list(ROSTER)), queue)
    await life.start()
    await case_api.assign_caseworker(env.client, life.reference, "mkj")
    await env.sleep(timedelta(weeks=7))
    await life.handle.result()
    return await life.handle.fetch_history()


def load(path: Path) -> WorkflowHistory:
    """A committed history (a bare history, or one wrapped with its workflow id)."""
    data = json.loads(path.read_text())
    if "workflow_id" in data:
        return WorkflowHistory.from_json(data["workflow_id"], data["history"])
    return WorkflowHistory.from_json(path.stem, data)


async def _withdrawal_with_meeting_ahead(env: WorkflowEnvironment, queue: str) -> WorkflowHistory:
    life = Life(env, Fakes(env, roster=list(ROSTER)), queue)
    await life.start()
    await case_api.assign_caseworker(env.client, life.reference, "mkj")
    at = (await env.get_current_time()) + timedelta(days=14)
    await case_api.book_pre_dialogue(
        env.client, life.reference, at=at.isoformat(), place="Rådhuset"
    )
    await case_api.withdraw(env.client, life.reference, "Opgivet")
    return await life.handle.fetch_history()


async def _racing_decision_and_withdrawal(env: WorkflowEnvironment, queue: str) -> WorkflowHistory:
    """Core v2: a reassignment naming whom it replaces, then a decision and a withdrawal sent
    at the same moment (one wins, the other is rejected)."""
    life = Life(env, Fakes(env, roster=list(ROSTER)), queue)
    await life.start()
    await case_api.assign_caseworker(env.client, life.reference, "mkj")
    await case_api.assign_caseworker(env.client, life.reference, "abr", replacing="mkj")
    await case_api.report_material(env.client, life.reference, life.all_material())
    await life.review("building")
    await life.until_status(CaseStatus.awaiting_decision)
    await asyncio.gather(
        case_api.issue_decision(env.client, life.reference, "Godkendt."),
        case_api.withdraw(env.client, life.reference, "Opgivet"),
        return_exceptions=True,
    )
    await life.handle.result()
    return await life.handle.fetch_history()


BOOKED_BEFORE = "FD-7K2M9Q4X"


def _booking_fakes() -> list:
    """The booking's link activity at the boundary: a pre-dialogue booked on the website."""

    @activity.defn(name="link_booking_to_case")
    async def link_booking_to_case(link: CaseBookingLink) -> LinkedBooking:
        return LinkedBooking(
            booking_id=link.booking_id,
            topic=PreDialogueTopic.general,
            starts_at=RECEIVED - timedelta(days=6),
            place="Erhvervsservice, Aalborg Kommune",
            held=False,
            open=True,
        )

    return [link_booking_to_case]


async def _intake_names_a_booking(env: WorkflowEnvironment, queue: str) -> WorkflowHistory:
    """Booking (issue 8): the intake names a pre-dialogue booked before the application."""
    intake = make_intake(
        reference="REPLAY-BOOKED", received_at=RECEIVED, pre_dialogue_booking=BOOKED_BEFORE
    )
    await sleep_until(env, RECEIVED)
    handle = await case_api.start_case(env.client, intake, queue, vault=None)
    await env.sleep(timedelta(hours=1))
    await case_api.assign_caseworker(env.client, intake.reference, "mkj")
    await case_api.withdraw(env.client, intake.reference, "Opgivet")
    await handle.result()
    return await handle.fetch_history()


def _retention_fakes() -> list:
    """The retention rule's activity at the boundary: two cases were due."""

    @activity.defn(name="erase_expired_cases")
    async def erase_expired_cases(at) -> RetentionRun:
        return RetentionRun(erased=2, retention_months=36)

    return [erase_expired_cases]


async def _retention_run(env: WorkflowEnvironment, queue: str) -> WorkflowHistory:
    """Retention (issue 10): one daily run of the Schedule's workflow."""
    handle = await env.client.start_workflow(
        RetentionWorkflow.run, id="personal-data-retention-replay", task_queue=queue
    )
    assert (await handle.result()).erased == 2
    return await handle.fetch_history()


SCENARIOS = {
    "contact_breach_then_late_assignment": _breach_then_late_assignment,
    "contact_assignment_and_reassignment": _assignment_and_reassignment,
    "life_three_departments_more_time": _three_departments_more_time,
    "life_project_change_pre_dialogue_withdrawal": _project_change_withdrawal,
    "life_dismissal": _dismissal,
    "life_withdrawal_with_meeting_ahead": _withdrawal_with_meeting_ahead,
    "review_fire_late_more_time": functools.partial(
        _three_departments_more_time, history_of="fire"
    ),
    # Recorded with core v2 (issue 7): the scenarios above as new cases run them now.
    "core_v2_contact_assignment_and_reassignment": _assignment_and_reassignment,
    "core_v2_three_departments_more_time": _three_departments_more_time,
    "core_v2_project_change_pre_dialogue_withdrawal": _project_change_withdrawal,
    "core_v2_dismissal": _dismissal,
    "core_v2_withdrawal_with_meeting_ahead": _withdrawal_with_meeting_ahead,
    "core_v2_racing_decision_and_withdrawal": _racing_decision_and_withdrawal,
    # Recorded with booking (issue 8, patch "pre-dialogue-booking-v1").
    "core_v2_booking_intake_names_a_booking": _intake_names_a_booking,
    # Recorded with the survey workflow (issue 9, patch "survey-workflow-v1"): the decided
    # case starts its SurveyWorkflow child at closing.
    "core_v2_survey_workflow_three_departments": _three_departments_more_time,
    # The retention Schedule's workflow (issue 10).
    "retention_run": _retention_run,
    # Recorded with patch "contact-delivered-v1" (issue 11): the contact promise counts the
    # contact letter's delivery.
    "contact_delivered_v1_breach_then_late_assignment": _breach_then_late_assignment,
    "contact_delivered_v1_three_departments_more_time": _three_departments_more_time,
    # Recorded with patch "local-records-v1" (issue 11): the records run as local activities.
    "local_records_v1_three_departments_more_time": _three_departments_more_time,
    "local_records_v1_project_change_pre_dialogue_withdrawal": _project_change_withdrawal,
    "local_records_v1_dismissal": _dismissal,
    # Recorded with patch "local-setup-v1" (issue 11): the setup is read by a local activity.
    "local_setup_v1_three_departments_more_time": _three_departments_more_time,
    "local_setup_v1_breach_then_late_assignment": _breach_then_late_assignment,
}


async def record(name: str) -> WorkflowHistory:
    """Run one scenario on its own fresh time-skipping server and return its history."""
    env = await start_time_skipping()
    try:
        await register_search_attributes(env.client)
        queue = f"record-{uuid.uuid4()}"
        fakes = Fakes(env, roster=list(ROSTER)).activities() + _booking_fakes() + _retention_fakes()
        async with case_worker(env.client, queue, fakes):
            return await SCENARIOS[name](env, queue)
    finally:
        await env.shutdown()


async def main() -> None:
    """Record the scenarios that have no committed history yet (never overwrite one)."""
    HISTORIES.mkdir(exist_ok=True)
    for name in SCENARIOS:
        path = HISTORIES / f"{name}.json"
        if path.exists():
            print(f"kept {path.name} (committed histories are never re-recorded)")
            continue
        history = await record(name)
        # Keep the workflow id: child workflow ids derive from it, so replay needs it.
        path.write_text(
            json.dumps(
                {"workflow_id": history.workflow_id, "history": json.loads(history.to_json())}
            )
        )
        print(f"wrote {path.name} ({len(history.events)} events)")


if __name__ == "__main__":
    asyncio.run(main())

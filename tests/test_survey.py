"""The survey loop on the time-skipping server with the real activities: Postgres (migrated,
seeded) and the SMTP sink of the e2e stack. A whole case is driven to its decision; its
survey workflow records the facts, the survey letter goes out, and then:

- no answer: exactly one reminder, at 09:00 on the 5th Danish working day after the letter
  (the week before Christmas of next year: the holidays lie inside that window);
- an answer through `survey_api`: no reminder, the figures move; a second answer changes the
  answer and not the count; the same request twice is one answer;
- the survey closes after 30 days and refuses answers after.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select

import case_api
import figures_api
import survey_api
from db.measurement_models import ClosedCase, SurveyAnswer, SurveyComment
from domain import calendar
from schemas.case import CaseStatus
from schemas.intake import CaseType, Department
from schemas.life import ClosingReason
from schemas.survey import ClosedCaseFacts, SurveyPhase, SurveyStart
from schemas.survey import SurveyAnswer as Answer
from stack.smtp_sink import read_mails
from tests.conftest import (
    START_INSTANTS,
    sleep_until,
    time_skipping_product,
)
from tests.test_case_life import Life
from tests.test_e2e import stack  # noqa: F401 - Postgres and the SMTP sink
from workflows.survey import SurveyWorkflow, survey_workflow_id

pytestmark = pytest.mark.e2e
PINNED = START_INSTANTS["christmas"]  # 17 December next year, 10:00 Copenhagen


@pytest_asyncio.fixture
async def survey_env(stack):  # noqa: F811
    async with time_skipping_product(stack, "survey") as (env, settings, sessions):
        yield env, settings, sessions


def mails(mail_dir, address: str, subject_start: str):
    return [
        m for m in read_mails(mail_dir) if address in m.to and m.subject.startswith(subject_start)
    ]


async def wait_mails(mail_dir, address: str, subject_start: str, count: int, timeout=30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = mails(mail_dir, address, subject_start)
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.1)


async def closed_case(env, settings, departments=("building",)) -> tuple[Life, str]:
    """A case from receipt to decision; returns it and its contact's (unique) address."""
    email = f"survey-{uuid.uuid4().hex[:8]}@nordjysk-staal.dk"
    life = Life(env, None, settings.temporal_task_queue, PINNED)
    contact = {"name": "Søren Ærø Østergård", "email": email, "phone": "98123456"}
    await life.start(departments=list(departments), contact=contact)
    await case_api.assign_caseworker(env.client, life.reference, "mkj")
    await case_api.report_material(env.client, life.reference, life.all_material())
    for department in departments:
        await life.review(department)
    await life.until_status(CaseStatus.awaiting_decision)
    await case_api.issue_decision(env.client, life.reference, "Projektet overholder reglerne.")
    return life, email


async def survey_state(env, case_id: str, phase: SurveyPhase | None = None):
    handle = env.client.get_workflow_handle(survey_workflow_id(case_id))
    for _ in range(300):
        try:
            state = await handle.query(SurveyWorkflow.get_state)
            if state.sent_at is not None and (phase is None or state.phase == phase):
                return state
        except Exception:  # noqa: BLE001, S110 - not started or not queryable yet
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"survey of {case_id} never reached {phase}")


async def row(sessions, model, case_id: str):
    async with sessions() as session:
        return await session.get(model, case_id)


ANSWER = Answer(overall=5, processing_time=4, process=5, guidance=0, comment="Hurtigt og godt.")


async def test_no_answer_one_reminder_then_closes(stack, survey_env):  # noqa: F811
    env, settings, sessions = survey_env
    life, email = await closed_case(env, settings)
    case_id = life.handle.id
    state = await survey_state(env, case_id, SurveyPhase.open)
    assert (await life.state()).survey_sent

    # The facts are recorded once, with the survey's instants.
    case = await row(sessions, ClosedCase, case_id)
    assert case.reference == life.reference and case.case_type == "simple_construction"
    assert case.departments == ["building"] and case.closing_reason == "decided"
    assert case.contacted_within_deadline is True and case.decided_on_or_before_agreed_date
    assert case.kl_target_days == 40 and case.gross_working_days is not None
    assert case.survey_sent_at == state.sent_at and case.survey_closes_at == state.closes_at
    assert case.survey_reminded_at is None
    assert len(await wait_mails(stack.mail_dir, email, "Hvad synes I", 1)) == 1

    # The reminder's instant: 09:00 on the 5th working day after the letter's day.
    sent_day = calendar.local_date(state.sent_at)
    due_day = calendar.add_working_days(sent_day, 5)
    assert calendar.is_working_day(due_day) and (due_day - sent_day).days > 5  # holidays
    assert calendar.local_date(state.reminder_at) == due_day
    assert state.reminder_at.astimezone(calendar.COPENHAGEN).hour == 9
    assert state.closes_at == calendar.end_of_day(sent_day + timedelta(days=30))

    await env.sleep(state.reminder_at - await env.get_current_time() - timedelta(minutes=5))
    await asyncio.sleep(0.5)
    assert mails(stack.mail_dir, email, "Påmindelse") == []
    await env.sleep(timedelta(minutes=10))
    reminders = await wait_mails(stack.mail_dir, email, "Påmindelse", 1)
    assert len(reminders) == 1
    assert f"/survey/{case_id}?token=" in reminders[0].body and "I " in reminders[0].body
    state = await survey_state(env, case_id, SurveyPhase.reminded)
    assert state.reminded_at is not None and state.reminded_at >= state.reminder_at
    assert (await row(sessions, ClosedCase, case_id)).survey_reminded_at == state.reminded_at
    await env.sleep(timedelta(days=3))
    assert len(mails(stack.mail_dir, email, "Påmindelse")) == 1  # exactly once

    # Answered after the reminder: still accepted, until the survey closes (the time-skipping
    # server hangs when an abandoned child ends after its parent: the workflow's own end is
    # tested on a survey started alone, below).
    now = await env.get_current_time()
    assert await survey_api.answer_survey(env.client, sessions, case_id, ANSWER, "r-1", now=now)
    await survey_state(env, case_id, SurveyPhase.answered)
    late = state.closes_at + timedelta(seconds=1)
    with pytest.raises(survey_api.SurveyError) as refused:
        await survey_api.answer_survey(env.client, sessions, case_id, ANSWER, "r-2", now=late)
    assert refused.value.kind == "Closed"
    status = await survey_api.survey_status(sessions, case_id, now=late)
    assert status.closed and status.answer.overall == 5 and status.changes == 0
    assert len(mails(stack.mail_dir, email, "Påmindelse")) == 1


async def test_survey_closes_after_its_days(stack, survey_env):  # noqa: F811
    """A survey started alone (as a closing case starts it): no answer, one reminder, and
    closed at the end of the 30th day after the letter; answers are refused after."""
    env, settings, sessions = survey_env
    await sleep_until(env, PINNED)
    now = await env.get_current_time()
    reference = f"SURVEY-{uuid.uuid4().hex[:8]}"
    case_id = f"case-{reference}"
    email = f"alone-{uuid.uuid4().hex[:8]}@nordjysk-staal.dk"
    facts = ClosedCaseFacts(
        case_id=case_id,
        reference=reference,
        case_type=CaseType.single_family_house,
        departments=[Department.building],
        closing_reason=ClosingReason.withdrawn,
        received_at=now - timedelta(days=20),
        closed_at=now,
        contact_deadline=now - timedelta(days=13),
        contacted_within_deadline=False,
        breach_causes={"contact": ["not contacted within the contact deadline"]},
    )
    start = SurveyStart(
        facts=facts, to=[email], survey_sent_at=now, municipality_name="Aalborg Kommune"
    )
    handle = await env.client.start_workflow(
        SurveyWorkflow.run,
        start,
        id=survey_workflow_id(case_id),
        task_queue=settings.temporal_task_queue,
    )
    final = await handle.result()  # skips the clock to the survey's end
    assert final.phase == SurveyPhase.closed and not final.answered
    assert final.closes_at == calendar.end_of_day(calendar.local_date(now) + timedelta(days=30))
    assert await env.get_current_time() >= final.closes_at
    assert len(await wait_mails(stack.mail_dir, email, "Påmindelse", 1)) == 1
    case = await row(sessions, ClosedCase, case_id)
    assert case.closing_reason == "withdrawn" and case.contacted_within_deadline is False
    assert case.survey_closes_at == final.closes_at and case.survey_reminded_at is not None
    with pytest.raises(survey_api.SurveyError) as refused:
        await survey_api.answer_survey(
            env.client, sessions, case_id, ANSWER, "late-1", now=await env.get_current_time()
        )
    assert refused.value.kind == "Closed"
    assert await row(sessions, SurveyAnswer, case_id) is None
    assert len(mails(stack.mail_dir, email, "Påmindelse")) == 1


async def test_answer_means_no_reminder_and_a_change_is_not_counted(stack, survey_env):  # noqa: F811
    env, settings, sessions = survey_env
    life, email = await closed_case(env, settings, departments=("building", "fire"))
    case_id = life.handle.id
    state = await survey_state(env, case_id, SurveyPhase.open)
    await figures_api.settled()  # refreshes run in the background of the worker and the door
    before = await figures_api.latest(sessions)
    answers_before = before["answers"] if before else 0

    now = await env.get_current_time()
    first = Answer(overall=2, processing_time=1, process=3, guidance=4, coordination=5)
    assert await survey_api.answer_survey(env.client, sessions, case_id, first, "req-a", now=now)
    # The same form sent twice (a double click): one answer, nothing changed.
    assert not await survey_api.answer_survey(env.client, sessions, case_id, first, "req-a")
    stored = await row(sessions, SurveyAnswer, case_id)
    assert (stored.overall, stored.coordination, stored.pre_dialogue, stored.changes) == (
        2,
        5,
        None,  # no pre-dialogue was held: not asked
        0,
    )
    assert await row(sessions, SurveyComment, case_id) is None
    await survey_state(env, case_id, SurveyPhase.answered)
    await figures_api.settled()
    after = await figures_api.latest(sessions)
    assert after["answers"] == answers_before + 1  # the figures moved

    # A change: the answer changes, the count does not; answered_at stays the first time.
    later = now + timedelta(hours=2)
    change = ANSWER.model_copy(update={"coordination": 4})
    assert await survey_api.answer_survey(env.client, sessions, case_id, change, "req-b", now=later)
    stored = await row(sessions, SurveyAnswer, case_id)
    assert (stored.overall, stored.guidance, stored.changes) == (5, 0, 1)
    assert stored.answered_at == now and stored.changed_at == later
    assert (await row(sessions, SurveyComment, case_id)).text == "Hurtigt og godt."
    await figures_api.settled()
    assert (await figures_api.latest(sessions))["answers"] == answers_before + 1
    async with sessions() as session:
        count = len(
            (
                await session.scalars(
                    select(SurveyAnswer.case_id).where(SurveyAnswer.case_id == case_id)
                )
            ).all()
        )
    assert count == 1

    # Past the reminder's instant: no reminder for an answered survey.
    await env.sleep(state.reminder_at - await env.get_current_time() + timedelta(days=1))
    await asyncio.sleep(0.5)
    assert mails(stack.mail_dir, email, "Påmindelse") == []
    state = await survey_state(env, case_id)
    assert state.reminded_at is None and state.phase == SurveyPhase.answered
    assert state.answers == 2
    assert (await row(sessions, ClosedCase, case_id)).survey_reminded_at is None

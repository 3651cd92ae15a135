"""Whole case lives on the time-skipping server: material, the agreed date, reviews as child
workflows, ONE decision, closing and the survey. Activities are faked at the boundary and
record every letter (kind, key, recipients, facts) in order."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from temporalio.service import RPCError

import case_api
from domain import calendar
from domain.material import required_material
from schemas import search_attributes as sa
from schemas.case import CaseStatus
from schemas.intake import Department
from schemas.letters import LetterKind
from schemas.life import ClosingReason, EstimateBasis, ReviewOutcome
from tests.conftest import START_INSTANTS, make_intake, sleep_until
from tests.test_case_workflow import ALL_CASEWORKERS, Fakes, settle
from worker import case_worker

COMPANY = "soeren@nordjysk-staal.dk"
ROSTER = ALL_CASEWORKERS  # mkj building, sfl environment, abr fire, jha coordinator


class Life:
    """One case on a time-skipping server, driven the way officers and companies drive it."""

    def __init__(self, env, fakes: Fakes, queue: str, received_at: datetime | None = None):
        self.env, self.fakes, self.queue = env, fakes, queue
        self.client = env.client
        self.reference = ""
        self.received_at = received_at or START_INSTANTS["easter"]

    async def start(
        self, case_type: str = "simple_construction", departments=("building",), **extra
    ) -> None:
        self.reference = f"LIFE-{uuid.uuid4().hex[:10]}"
        await sleep_until(self.env, self.received_at)
        intake = make_intake(
            reference=self.reference,
            received_at=self.received_at,
            case_type=case_type,
            departments=list(departments),
            **extra,
        )
        self.intake = intake
        self.handle = await case_api.start_case(self.client, intake, self.queue, vault=None)
        if self.env.supports_time_skipping:
            await self.env.sleep(timedelta(minutes=5))
        else:
            await self.settled()

    async def state(self):
        return await case_api.get_state(self.client, self.reference)

    def all_material(self) -> list[str]:
        return [m.code for m in required_material(self.intake.case_type, self.intake.departments)]

    async def review_started(self, department: str, round_: int = 1) -> None:
        handle = case_api.review_handle(self.client, self.reference, department, round_)
        for _ in range(200):
            try:
                await handle.describe()
                return
            except RPCError:
                await asyncio.sleep(0.05)
        raise AssertionError(f"review {department} round {round_} never started")

    async def review(self, department: str, outcome: str = "approved", **fields):
        await self.review_started(
            department, await case_api.current_round(self.client, self.reference, department)
        )
        fields.setdefault("text", f"Gennemgået af {department}.")
        return await case_api.submit_review(
            self.client, self.reference, department, outcome=outcome, **fields
        )

    async def until_status(self, status: CaseStatus) -> None:
        for _ in range(200):
            if (await self.state()).status == status:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"case never reached {status}; it is {(await self.state()).status}")

    async def settled(self) -> None:
        """Wait until every letter the case has decided on has been handed over (letters go
        out from the case's queue, after the action that decided them has returned)."""
        await settle(self.handle)

    async def to_company(self) -> list[LetterKind]:
        await self.settled()
        return [r.kind for _, r in self.fakes.letters if COMPANY in r.to]

    async def letters(self, kind: LetterKind):
        await self.settled()
        return [r for _, r in self.fakes.letters if r.kind == kind]

    async def events(self) -> list[str]:
        await self.settled()
        return [e.kind for r in self.fakes.records for e in r.events]


@pytest.fixture(params=sorted(START_INSTANTS))
async def life(time_env, request):
    """A case life received at a pinned instant: every whole-life test runs once per instant,
    so Christmas/New Year, Easter and Constitution Day each fall inside its windows."""
    fakes = Fakes(time_env, roster=list(ROSTER))
    queue = f"life-{uuid.uuid4()}"
    async with case_worker(time_env.client, queue, fakes.activities()):
        yield Life(time_env, fakes, queue, START_INSTANTS[request.param])


async def fire_late_with_more_time(life: Life, fire_outcome: str = "approved", **fields) -> None:
    """Three departments' case after its assignment: material in two reports three days apart,
    building and environment reviewed, fire late and asking 3 days before the agreed date for
    5 more working days (a date change), then fire's review. Recorded as a history
    (tests/record_histories.py) and timed as M2's life (bench/run.py)."""
    env, client, reference = life.env, life.client, life.reference
    await case_api.report_material(client, reference, life.all_material()[:2])
    await env.sleep(timedelta(days=3))
    await case_api.report_material(client, reference, life.all_material()[2:])
    await life.review("building")
    await life.review("environment")
    await life.review_started("fire")
    agreed = (await life.state()).agreed_date
    await env.sleep(calendar.end_of_day(agreed) - await env.get_current_time() - timedelta(days=3))
    await case_api.request_more_time(
        client, reference, "fire", working_days=5, reason="Afventer brandteknisk vurdering"
    )
    await life.review("fire", fire_outcome, **fields)


async def decide_and_close(life: Life) -> None:
    await life.until_status(CaseStatus.awaiting_decision)
    await case_api.issue_decision(life.client, life.reference, "Projektet overholder reglerne.")
    await life.handle.result()


async def test_simple_building_case_from_receipt_to_survey(life):
    await life.start()
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    state = await life.state()
    assert state.status == CaseStatus.awaiting_material
    assert state.estimate.basis == EstimateBasis.kl_target and state.estimate.processing_days == 40
    contact = (await life.letters(LetterKind.contact_letter))[0]
    assert [m.code for m in contact.facts.missing_material] == life.all_material()
    assert contact.facts.agreed_date == state.agreed_date

    status = await case_api.report_material(life.client, life.reference, life.all_material())
    assert status.complete and status.missing == []
    await life.review("building")
    await decide_and_close(life)

    assert await life.to_company() == [
        LetterKind.receipt,
        LetterKind.contact_letter,
        LetterKind.material_status,
        LetterKind.decision,
        LetterKind.survey,
    ]
    final = await life.handle.result()
    assert final.status == CaseStatus.closed and final.closing_reason == ClosingReason.decided
    assert final.figures.decided_on_or_before_agreed_date is True
    assert final.figures.net_processing_days is not None and final.figures.waiting_days == 0
    assert final.survey_sent and final.letters_sent.count("survey") == 1
    decision = (await life.letters(LetterKind.decision))[0].facts
    assert [r.outcome for r in decision.reviews] == [ReviewOutcome.approved]
    assert decision.complaint_deadline == final.complaint_deadline
    assert [b.department for b in decision.complaint_bodies] == [Department.building]
    assert [c.event for c in final.clock] == ["started", "ended"]


async def test_three_departments_fire_late_asks_more_time_then_one_decision(life):
    life.fakes.setup = {"review_working_days_before": 5}
    await life.start(
        case_type="industry_warehouse", departments=("building", "environment", "fire")
    )
    await case_api.assign_caseworker(life.client, life.reference, "jha")
    await case_api.report_material(life.client, life.reference, life.all_material())
    await life.review("building")
    await life.review(
        "environment",
        "approved_with_conditions",
        conditions=["Støj må ikke overstige 40 dB(A) om natten."],
    )
    await life.review_started("fire")
    state = await life.state()
    agreed = state.agreed_date
    review_deadline = calendar.end_of_day(calendar.add_working_days(agreed, -5))

    # Fire misses its internal deadline: a reminder, then the coordinator is escalated to.
    await life.env.sleep(review_deadline - await life.env.get_current_time() + timedelta(hours=1))
    assert [r.to for r in await life.letters(LetterKind.review_reminder)] == [
        ["abr@kommune.example"]
    ]
    assert [r.to for r in await life.letters(LetterKind.review_escalation)] == [
        ["jha@kommune.example"]
    ]
    state = await life.state()
    assert state.late_reviews == ["fire#1"]
    attrs = (await life.handle.describe()).typed_search_attributes
    assert attrs.get(sa.REVIEW_LATE) is True

    moved = await case_api.request_more_time(
        life.client,
        life.reference,
        "fire",
        working_days=5,
        reason="Afventer brandteknisk vurdering",
    )
    assert calendar.local_date(moved.review_deadline) == calendar.add_working_days(
        calendar.local_date(review_deadline), 5
    )
    state = await life.state()
    assert state.agreed_date == calendar.add_working_days(agreed, 5)
    notices = await life.letters(LetterKind.date_changed)
    assert len(notices) == 1
    assert (notices[0].facts.previous_agreed_date, notices[0].facts.agreed_date) == (
        agreed,
        state.agreed_date,
    )
    assert "brandteknisk" in notices[0].facts.change_reason

    await life.review(
        "fire",
        "approved_with_conditions",
        conditions=["Sprinkleranlæg efter DBI-retningslinje 251."],
    )
    await decide_and_close(life)
    assert (await life.to_company()).count(LetterKind.decision) == 1
    assert await life.to_company() == [
        LetterKind.receipt,
        LetterKind.contact_letter,
        LetterKind.material_status,
        LetterKind.date_changed,
        LetterKind.decision,
        LetterKind.survey,
    ]
    decision = (await life.letters(LetterKind.decision))[0].facts
    assert [r.department for r in decision.reviews] == [
        Department.building,
        Department.environment,
        Department.fire,
    ]
    assert sum(len(r.conditions) for r in decision.reviews) == 2
    final = await life.handle.result()
    assert final.figures.decided_on_or_before_agreed_date is True


async def test_missing_material_for_weeks_then_complete(life):
    await life.start()
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    first = life.all_material()[:1]
    await case_api.report_material(life.client, life.reference, first)
    state = await life.state()
    agreed_at_contact = state.agreed_date
    # 15 working days of waiting (counted with the calendar): still before the warning at 20.
    waited_until = calendar.end_of_day(
        calendar.add_working_days(calendar.local_date(state.waiting_since), 15)
    )
    await sleep_until(life.env, waited_until)
    assert not await life.letters(LetterKind.dismissal_warning)
    status = await case_api.report_material(life.client, life.reference, life.all_material()[1:])
    assert status.complete
    state = await life.state()
    assert state.agreed_date > agreed_at_contact
    notice = (await life.letters(LetterKind.date_changed))[0].facts
    assert notice.previous_agreed_date == agreed_at_contact
    assert "fuldt oplyst" in notice.change_reason
    assert [c.event for c in state.clock] == ["started"]
    assert state.clock[0].at == state.complete_at
    material_letters = await life.letters(LetterKind.material_status)
    assert [len(m.facts.missing_material) for m in material_letters] == [
        len(life.all_material()) - 1,
        0,
    ]

    await life.review("building")
    await decide_and_close(life)
    final = await life.handle.result()
    # Gross counts the weeks of waiting from receipt; the KL clock starts at complete.
    assert final.figures.gross_working_days >= 15
    assert final.figures.net_processing_days < 1


async def test_project_change_after_review_reopens_one_department(life):
    await life.start(case_type="industry_warehouse", departments=("building", "fire"))
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    await case_api.report_material(life.client, life.reference, life.all_material())
    await life.review("building")
    await life.review("fire")
    await life.until_status(CaseStatus.awaiting_decision)
    state = await case_api.report_project_change(
        life.client,
        life.reference,
        description="Hallen forlænges med 20 meter",
        departments=["building"],
    )
    assert state.status == CaseStatus.in_review and state.review_rounds["building"] == 2
    assert "building" not in state.reviews and "fire" in state.reviews
    with pytest.raises(case_api.CaseError, match=r"in review by the departments \(in_review\)"):
        await case_api.issue_decision(life.client, life.reference, "For tidligt.")
    await life.review(
        "building", "approved_with_conditions", conditions=["Facaden udføres som ansøgt."]
    )
    await decide_and_close(life)
    decision = (await life.letters(LetterKind.decision))[0].facts
    assert [(r.department, r.round) for r in decision.reviews] == [
        (Department.building, 2),
        (Department.fire, 1),
    ]
    assert "review_reopened" in await life.events()


async def test_project_change_with_new_material_stops_and_restarts_the_clock(life):
    await life.start()
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    await case_api.report_material(life.client, life.reference, life.all_material())
    await life.review_started("building")
    code = life.all_material()[0]
    state = await case_api.report_project_change(
        life.client,
        life.reference,
        description="Ny placering på grunden",
        departments=["building"],
        new_material=[code],
    )
    assert state.status == CaseStatus.awaiting_material
    agreed = state.agreed_date
    await life.env.sleep(timedelta(days=7))
    await case_api.report_material(life.client, life.reference, [code])
    state = await life.state()
    assert [c.event for c in state.clock] == ["started", "stopped", "restarted"]
    assert state.agreed_date > agreed
    assert "ventet 7 dage" in (await life.letters(LetterKind.date_changed))[-1].facts.change_reason
    await life.review("building")
    await decide_and_close(life)
    final = await life.handle.result()
    assert 6.9 < final.figures.waiting_days < 7.1


async def test_withdrawal_closes_with_notice_and_survey(life):
    await life.start()
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    state = await case_api.withdraw(life.client, life.reference, "Projektet er opgivet")
    assert state.status == CaseStatus.closed and state.closing_reason == ClosingReason.withdrawn
    assert (await life.to_company())[-2:] == [LetterKind.closed_notice, LetterKind.survey]
    assert state.figures.net_processing_days is None  # never complete: the KL clock never ran
    with pytest.raises(case_api.CaseError, match="rejected"):
        await case_api.withdraw(life.client, life.reference, "igen")


async def test_dismissal_as_incomplete_after_warning(life):
    await life.start()
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    with pytest.raises(case_api.CaseError, match="must be warned"):
        await case_api.dismiss(life.client, life.reference, "Materialet mangler")
    waiting_since = calendar.local_date((await life.state()).waiting_since)
    warn_on = calendar.add_working_days(waiting_since, 20)  # the configured waiting time
    await sleep_until(life.env, calendar.end_of_day(warn_on) - timedelta(hours=1))
    assert not await life.letters(LetterKind.dismissal_warning)
    await sleep_until(life.env, calendar.end_of_day(warn_on) + timedelta(hours=1))
    warning = await life.letters(LetterKind.dismissal_warning)
    assert len(warning) == 1
    assert warning[0].facts.dismissal_date == calendar.add_working_days(warn_on, 10)
    dismissal_at = calendar.end_of_day(warning[0].facts.dismissal_date)
    await sleep_until(life.env, dismissal_at - timedelta(minutes=1))
    assert (await life.state()).status == CaseStatus.awaiting_material
    await life.env.sleep(timedelta(hours=1))
    final = await life.handle.result()
    assert final.closing_reason == ClosingReason.dismissed_incomplete
    assert (await life.to_company())[-3:] == [
        LetterKind.dismissal_warning,
        LetterKind.closed_notice,
        LetterKind.survey,
    ]


async def test_pre_dialogue_booked_moved_and_held(life):
    await life.start(pre_dialogue_wished=True)
    state = await life.state()
    assert state.pre_dialogues[0].requested_at == life.intake.received_at
    with pytest.raises(case_api.CaseError, match="Assign the process-responsible caseworker"):
        await case_api.book_pre_dialogue(
            life.client,
            life.reference,
            at=(await life.env.get_current_time()) + timedelta(days=30),
            place="Rådhuset",
        )
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    now = await life.env.get_current_time()
    first = calendar.end_of_day(calendar.add_working_days(calendar.local_date(now), 10))
    first = first.replace(hour=10, minute=0, second=0, microsecond=0)
    await case_api.book_pre_dialogue(
        life.client,
        life.reference,
        at=first.isoformat(),
        place="Stigsborg Brygge 5, 9400 Nørresundby",
    )
    moved = first + timedelta(days=7)
    meeting = await case_api.book_pre_dialogue(
        life.client,
        life.reference,
        at=moved.isoformat(),
        video_link="https://meet.kommune.example/abc",
    )
    assert meeting.bookings == 2
    booked = await life.letters(LetterKind.pre_dialogue_booked)
    assert [b.to for b in booked] == [[COMPANY, "mkj@kommune.example"]] * 2
    assert booked[1].facts.pre_dialogue.bookings == 2

    await life.env.sleep(moved - await life.env.get_current_time() - timedelta(hours=2))
    reminders = await life.letters(LetterKind.pre_dialogue_reminder)
    assert len(reminders) == 1 and reminders[0].to == [COMPANY]
    assert reminders[0].facts.pre_dialogue.at == moved  # only the moved meeting is reminded of
    held = await case_api.record_pre_dialogue_held(life.client, life.reference)
    assert held.held
    assert "pre_dialogue_held" in await life.events()


@pytest.mark.parametrize("level", [1, 2, 3])
async def test_sustainability_levels(life, level):
    await life.start(sustainability_level=level)
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    contact = (await life.letters(LetterKind.contact_letter))[0]
    assert contact.facts.sustainability_level == level
    at = (await life.env.get_current_time()) + timedelta(days=14)
    if level == 1:
        with pytest.raises(case_api.CaseError, match="sustainability level 2 or 3"):
            await case_api.book_pre_dialogue(
                life.client,
                life.reference,
                topic="sustainability",
                at=at.isoformat(),
                place="Rådhuset",
            )
    else:
        meeting = await case_api.book_pre_dialogue(
            life.client, life.reference, topic="sustainability", at=at.isoformat(), place="Rådhuset"
        )
        assert meeting.topic.value == "sustainability"
    if level == 3:
        await life.env.sleep(timedelta(minutes=1))
        assert len(await life.letters(LetterKind.nbe_offer)) == 1
        state = await case_api.answer_nbe_offer(life.client, life.reference, True)
        assert state.nbe_accepted is True
    else:
        assert not await life.letters(LetterKind.nbe_offer)
        with pytest.raises(case_api.CaseError, match="No NBE offer"):
            await case_api.answer_nbe_offer(life.client, life.reference, True)


async def test_phase_rules_name_the_phase(life):
    await life.start()
    with pytest.raises(case_api.CaseError) as err:
        await case_api.issue_decision(life.client, life.reference, "For tidligt")
    assert "waiting for a process-responsible caseworker (awaiting_caseworker)" in str(err.value)
    with pytest.raises(case_api.CaseError, match="Unknown material for this case: building.nope"):
        await case_api.report_material(life.client, life.reference, ["building.nope"])
    with pytest.raises(case_api.CaseError, match="codes"):
        await case_api.report_material(life.client, life.reference, [])


async def test_estimate_from_history_when_enough_cases(life):
    life.fakes.history_days = [20.0] * 9 + [30.0] * 3  # 12 comparable cases: median 20
    await life.start()
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    state = await life.state()
    assert state.estimate.basis == EstimateBasis.history
    assert state.estimate.processing_days == 20 and state.estimate.history_cases == 12


async def test_closing_cancels_a_meeting_still_ahead(life):
    await life.start()
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    at = (await life.env.get_current_time()) + timedelta(days=14)
    await case_api.book_pre_dialogue(
        life.client, life.reference, at=at.isoformat(), place="Rådhuset"
    )
    state = await case_api.withdraw(life.client, life.reference, "Projektet er opgivet")
    cancelled = await life.letters(LetterKind.pre_dialogue_cancelled)
    assert len(cancelled) == 1 and cancelled[0].to == [COMPANY, "mkj@kommune.example"]
    assert "afsluttet" in cancelled[0].facts.cancel_reason
    assert state.pre_dialogues[0].cancelled
    assert (await life.to_company())[-3:] == [
        LetterKind.pre_dialogue_cancelled,
        LetterKind.closed_notice,
        LetterKind.survey,
    ]


async def test_withdrawal_before_first_contact(life):
    await life.start()
    state = await case_api.withdraw(life.client, life.reference, "Ansøgt ved en fejl")
    assert state.status == CaseStatus.closed and state.caseworker is None
    assert await life.to_company() == [
        LetterKind.receipt,
        LetterKind.closed_notice,
        LetterKind.survey,
    ]
    assert state.figures.net_processing_days is None and state.agreed_date is None
    # The contact deadline no longer matters: no reminder, no escalation afterwards.
    await life.env.sleep(timedelta(days=10))
    assert not await life.letters(LetterKind.contact_reminder)


async def test_decision_twice_is_rejected(life):
    await life.start()
    await case_api.assign_caseworker(life.client, life.reference, "mkj")
    await case_api.report_material(life.client, life.reference, life.all_material())
    await life.review("building")
    await life.until_status(CaseStatus.awaiting_decision)
    await case_api.issue_decision(life.client, life.reference, "Godkendt.")
    with pytest.raises(case_api.CaseError, match="rejected"):
        await case_api.issue_decision(life.client, life.reference, "Igen.")
    assert len(await life.letters(LetterKind.decision)) == 1

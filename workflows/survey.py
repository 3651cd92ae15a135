"""The satisfaction survey of one closed case (commitment 9): one workflow per case, id
``survey-<case workflow id>``, started by the case at closing (patch `survey-workflow-v1`) and
living on after it (parent close policy ABANDON).

It records the closed case's facts for the figures (once), then, if the survey letter went
out, waits for an answer (signal `answered`, sent by the web after it stored the answer) or
`survey_reminder_working_days` Danish working days; with no answer by then it sends ONE
reminder (letter key ``survey-reminder``). The survey closes `survey_open_days` calendar days
after it was sent (the end of that day, Copenhagen): `closed_cases.survey_closes_at`, after
which the answer page refuses answers and changes.

Deterministic: settings come from an activity, instants from `workflow.now()` and the calendar.
No personal data in its id, search attributes, logs or Current details; the contact e-mail is
in its input only for the reminder.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.survey import SurveyActivities
    from domain import calendar
    from domain.estimate import KL_TARGET_DAYS
    from schemas.case import CaseState
    from schemas.survey import (
        ClosedCaseFacts,
        SurveyAnswered,
        SurveyPhase,
        SurveyRecord,
        SurveyReminder,
        SurveyStart,
        SurveyState,
    )
    from workflows.timers import until

SURVEY_PATCH = "survey-workflow-v1"
TIMEOUT = timedelta(seconds=60)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=2))
REMINDER_TIME = time(9, 0)  # the reminder leaves at 09:00 Copenhagen on its working day


def survey_workflow_id(case_id: str) -> str:
    return f"survey-{case_id}"


def reminder_at(sent_at: datetime, working_days: int, closing_days=()) -> datetime:
    """09:00 Copenhagen on the *working_days*-th working day after the day the survey went out."""
    day = calendar.add_working_days(calendar.local_date(sent_at), working_days, closing_days)
    return datetime.combine(day, REMINDER_TIME, tzinfo=calendar.COPENHAGEN)


def closes_at(sent_at: datetime, open_days: int) -> datetime:
    """The end (Copenhagen) of the *open_days*-th calendar day after the survey went out."""
    return calendar.end_of_day(calendar.local_date(sent_at) + timedelta(days=open_days))


def facts_of(state: CaseState, industry_code: str | None = None) -> ClosedCaseFacts:
    """The closed case's facts for the figures, from the case's state (no personal data)."""
    s, f = state, state.figures
    assert s.closing_reason is not None and s.closed_at is not None
    causes: dict[str, list[str]] = {}
    if f is not None and f.decided_on_or_before_agreed_date is False:
        moves = [c.reason[:300] for c in s.date_changes if c.old is not None and c.reason]
        causes["decision"] = moves or ["the decision came after the agreed date"]
    if s.contact_breached or (s.contact_met is False):
        causes["contact"] = ["not contacted within the contact deadline"]
    return ClosedCaseFacts(
        case_id=s.case_id,
        reference=s.intake.reference,
        case_type=s.intake.case_type,
        departments=list(s.intake.departments),
        industry_code=industry_code,
        closing_reason=s.closing_reason,
        received_at=s.intake.received_at,
        complete_at=s.complete_at,
        decided_at=s.decided_at,
        closed_at=s.closed_at,
        agreed_date=s.agreed_date,
        contact_deadline=s.contact_deadline,
        contacted_within_deadline=contact_kept(s),
        decided_on_or_before_agreed_date=f.decided_on_or_before_agreed_date if f else None,
        net_processing_days=f.net_processing_days if f else None,
        gross_days=f.gross_days if f else None,
        gross_working_days=f.gross_working_days if f else None,
        kl_target_days=KL_TARGET_DAYS.get(s.intake.case_type),
        pre_dialogue_held=any(p.held for p in s.pre_dialogues),
        breach_causes=causes,
    )


def contact_kept(state: CaseState) -> bool | None:
    """Contacted within the deadline; False when breached; None when never contacted in time
    nor breached (e.g. withdrawn in its first days)."""
    if state.contacted_at is not None:
        return state.contact_met
    return False if state.contact_breached else None


@workflow.defn(name="SurveyWorkflow")
class SurveyWorkflow:
    @workflow.init
    def __init__(self, start: SurveyStart) -> None:
        self.state = SurveyState(case_id=start.facts.case_id)

    @workflow.run
    async def run(self, start: SurveyStart) -> SurveyState:
        s = self.state
        self.show()
        setup = await workflow.execute_activity_method(
            SurveyActivities.load_survey_setup, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )
        if start.survey_sent_at is None:  # the letter could not be sent: the facts only
            await self.record(SurveyRecord(facts=start.facts))
            s.phase = SurveyPhase.not_sent
            self.show()
            return s
        s.sent_at = start.survey_sent_at
        s.reminder_at = reminder_at(s.sent_at, setup.reminder_working_days, start.closing_days)
        s.closes_at = closes_at(s.sent_at, setup.open_days)
        s.phase = SurveyPhase.answered if s.answered else SurveyPhase.open
        await self.record(
            SurveyRecord(facts=start.facts, survey_sent_at=s.sent_at, survey_closes_at=s.closes_at)
        )
        self.show()
        answered = lambda: s.answered
        if s.reminder_at < s.closes_at and not await until(s.reminder_at, answered):
            await self.remind(start)
        await until(s.closes_at, lambda: False)
        s.phase = SurveyPhase.closed
        self.show()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return s

    async def remind(self, start: SurveyStart) -> None:
        s = self.state
        try:
            await workflow.execute_activity_method(
                SurveyActivities.send_survey_reminder,
                SurveyReminder(
                    facts=start.facts,
                    to=start.to,
                    municipality_name=start.municipality_name,
                    caseworker=start.caseworker,
                ),
                start_to_close_timeout=TIMEOUT,
                retry_policy=RETRY,
            )
        except ActivityError:  # refused for good (e.g. the recipient): shown, the survey goes on
            workflow.logger.warning("survey reminder not sent", extra={"case_id": s.case_id})
            return
        s.reminded_at = workflow.now()
        if not s.answered:
            s.phase = SurveyPhase.reminded
        await self.record(SurveyRecord(facts=start.facts, survey_reminded_at=s.reminded_at))
        self.show()

    async def record(self, record: SurveyRecord) -> None:
        await workflow.execute_activity_method(
            SurveyActivities.record_survey,
            record,
            start_to_close_timeout=TIMEOUT,
            retry_policy=RETRY,
        )

    @workflow.signal
    def answered(self, signal: SurveyAnswered) -> None:
        """The web stored an answer (or a change of it)."""
        s = self.state
        s.answers += 1
        s.answered = True
        if s.phase in (SurveyPhase.open, SurveyPhase.reminded):
            s.phase = SurveyPhase.answered
        self.show()

    @workflow.query(name="state")
    def get_state(self) -> SurveyState:
        return self.state

    def show(self) -> None:
        """Current details in the Temporal UI: the survey's phase and dates (no personal data)."""
        s = self.state

        def when(at: datetime | None) -> str:
            return at.astimezone(calendar.COPENHAGEN).strftime("%Y-%m-%d %H:%M") if at else "-"

        workflow.set_current_details(
            "\n".join(
                [
                    f"**Survey** of `{s.case_id}`: **{s.phase.value}**",
                    f"- sent: {when(s.sent_at)}",
                    f"- reminder: {when(s.reminded_at) if s.reminded_at else 'planned ' + when(s.reminder_at)}",
                    f"- answered: {'yes' if s.answered else 'no'} ({s.answers} answer(s) and changes)",
                    f"- closes: {when(s.closes_at)}",
                ]
            )
        )

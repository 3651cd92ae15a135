"""Closing (commitments 8 and 9): ONE coordinated decision, a withdrawal, or a dismissal as
incomplete after a warning; the first to be accepted closes the way in. Then the figures on both
clocks and the satisfaction survey, once."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from domain import calendar, clock, complaints, deadlines, reasons
    from domain.phases import Action
    from schemas.case import CaseState, CaseStatus
    from schemas.letters import LetterKind
    from schemas.life import ClosingReason, Dismiss, IssueDecision, Withdraw
    from schemas.survey import SurveyStart
    from workflows.case_desk import CLOSE_CANCELS_MEETINGS_PATCH, CaseDesk
    from workflows.case_meetings import Meetings
    from workflows.case_reviews import Reviews
    from workflows.survey import SURVEY_PATCH, SurveyWorkflow, survey_workflow_id
    from workflows.survey import facts_of as survey_facts


class Closing:
    def __init__(self, desk: CaseDesk, meetings: Meetings, reviews: Reviews) -> None:
        self.desk, self.meetings, self.reviews = desk, meetings, reviews

    @property
    def state(self) -> CaseState:
        return self.desk.state

    async def await_material(self) -> None:
        """Waiting for the company: a warning (varsel) after a while, then dismissal."""
        assert self.desk.setup is not None and self.state.waiting_since is not None
        s, closing_days = self.state, self.desk.setup.closing_days
        left = lambda: self.desk.closing is not None or s.status != CaseStatus.awaiting_material
        if not s.dismissal_warning_sent:
            warn_on = deadlines.dismissal_warning_on(
                s.waiting_since, self.desk.setup.dismissal_warning_working_days, closing_days
            )
            if await self.desk.until(calendar.end_of_day(warn_on), left):
                return
            s.dismissal_warning_sent = True
            s.dismissal_date = deadlines.dismissal_on(
                warn_on, self.desk.setup.dismissal_after_warning_working_days, closing_days
            )
            await self.desk.send(
                LetterKind.dismissal_warning,
                self.desk.letter_key("dismissal-warning"),
                [s.intake.contact.email],
            )
            await self.desk.record(
                "dismissal_warning_sent", dismissal_date=s.dismissal_date.isoformat()
            )
        assert s.dismissal_date is not None
        if await self.desk.until(calendar.end_of_day(s.dismissal_date), left):
            return
        if s.closing is None:
            s.closing = ClosingReason.dismissed_incomplete
            s.closing_note = "automatic: the material did not arrive"

    async def close(self) -> None:
        """Close the case: the figures on both clocks, and the survey to the applicant."""
        assert self.desk.setup is not None and self.desk.closing is not None
        s, now, closing = self.state, workflow.now(), self.desk.closing
        for handle in self.reviews.children.values():
            handle.cancel()  # a review still running when the case closes ends with it
        if s.clock and s.clock[-1].event != "ended":
            s.clock = clock.end(s.clock, now, closing.value)
        s.closing_reason, s.closed_at = closing, now
        s.figures = clock.figures(
            s.clock,
            s.intake.received_at,
            now,
            s.agreed_date,
            s.decided_at,
            self.desk.setup.closing_days,
        )
        await self.desk.set_status(CaseStatus.closed)
        await self.desk.record(
            "case_closed",
            reason=closing.value,
            note=s.closing_note or None,
            gross_working_days=s.figures.gross_working_days,
            net_processing_days=str(s.figures.net_processing_days),
        )
        if workflow.patched(CLOSE_CANCELS_MEETINGS_PATCH):
            await self.meetings.cancel_future_meetings(reasons.case_closed())
        if closing != ClosingReason.decided:
            await self.desk.send(
                LetterKind.closed_notice, "closed-notice", [s.intake.contact.email]
            )
        await self.desk.send(LetterKind.survey, "survey", [s.intake.contact.email])
        if self.desk.outbox:
            await self.desk.letters_sent()
        s.survey_sent = "survey" in s.letters_sent
        await self.desk.record("survey_sent" if s.survey_sent else "survey_not_sent")
        if workflow.patched(SURVEY_PATCH):
            await self.start_survey()
        s.closing_done = True

    async def start_survey(self) -> None:
        """The survey workflow of this case (issue 9): it records the closed case's facts for
        the figures, reminds once and closes the survey; it lives on after the case (ABANDON).
        A second start of the same id (a retried closing) is refused and changes nothing."""
        assert self.desk.setup is not None
        s = self.state
        start = SurveyStart(
            facts=survey_facts(s, getattr(s.intake, "industry_code", None)),
            to=[s.intake.contact.email],
            survey_sent_at=workflow.now() if s.survey_sent else None,
            closing_days=list(self.desk.setup.closing_days),
            municipality_name=self.desk.setup.municipality_name,
            caseworker=s.caseworker,
        )
        try:
            await workflow.start_child_workflow(
                SurveyWorkflow.run,
                start,
                id=survey_workflow_id(s.case_id),
                parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"Satisfaction survey of case {s.intake.reference}",
            )
        except WorkflowAlreadyStartedError:
            pass
        await self.desk.record("survey_workflow_started")

    # ---------------------------------------------- decision and closing
    async def issue_decision(self, decision: IssueDecision | None = None) -> CaseState:
        """ONE coordinated decision combining every department's review, with complaint guidance.

        Accepting it closes the way in at once: a second decision, a withdrawal or a dismissal
        arriving while the decision letter goes out is rejected."""
        self.desk.require(decision, "IssueDecision {grounds}")
        assert self.desk.setup is not None and decision is not None
        self.desk.check(Action.issue_decision)
        self.desk.claim_closing(ClosingReason.decided)
        s, now = self.state, workflow.now()
        s.decided_at = now
        s.decision_date = calendar.local_date(now)
        bodies = complaints.complaint_bodies(s.intake.departments)
        s.complaint_deadline = complaints.complaint_deadline(
            s.decision_date, min(b.weeks for b in bodies), self.desk.setup.closing_days
        )
        s.clock = clock.end(s.clock, now, "afgørelse") if s.clock else s.clock
        await self.desk.send(
            LetterKind.decision,
            "decision",
            [s.intake.contact.email],
            reviews=[s.reviews[d.value] for d in s.intake.departments],
            decision_date=s.decision_date,
            grounds=decision.grounds,
            complaint_bodies=bodies,
            complaint_deadline=s.complaint_deadline,
        )
        await self.desk.record(
            "decision_issued",
            decision_date=s.decision_date.isoformat(),
            on_or_before_agreed_date=deadlines.decided_on_time(s.decision_date, s.agreed_date),
            refused=any(r.outcome.value == "refused" for r in s.reviews.values()),
        )
        s.decision_issued = True
        return s

    def validate_issue_decision(self, decision: IssueDecision | None = None) -> None:
        self.desk.require(decision, "IssueDecision {grounds}")
        self.desk.check_not_closing()
        try:
            self.desk.check(Action.issue_decision)
        except ApplicationError as err:
            s = self.state
            missing = [d.value for d in s.intake.departments if d.value not in s.reviews]
            if not missing or s.caseworker is None:
                raise
            raise ApplicationError(
                f"{err.message} Reviews not in yet: {', '.join(missing)}; the decision can be "
                "issued when every department's review is in.",
                type=err.type,
            ) from None

    async def withdraw(self, request: Withdraw | None = None) -> CaseState:
        """The company withdraws the case."""
        self.desk.require(request, "Withdraw {reason}")
        assert request is not None
        self.desk.check(Action.withdraw)
        self.desk.claim_closing(ClosingReason.withdrawn, request.reason)
        await workflow.wait_condition(lambda: self.state.closing_done)
        return self.state

    def validate_withdraw(self, request: Withdraw | None = None) -> None:
        self.desk.require(request, "Withdraw {reason}")
        self.desk.check_not_closing()
        self.desk.check(Action.withdraw)

    async def dismiss(self, request: Dismiss | None = None) -> CaseState:
        """The caseworker dismisses the case as incomplete (after the warning went out)."""
        self.desk.require(request, "Dismiss {reason}")
        assert request is not None
        self.desk.check(Action.dismiss)
        self.desk.claim_closing(ClosingReason.dismissed_incomplete, request.reason)
        await workflow.wait_condition(lambda: self.state.closing_done)
        return self.state

    def validate_dismiss(self, request: Dismiss | None = None) -> None:
        self.desk.require(request, "Dismiss {reason}")
        self.desk.check_not_closing()
        self.desk.check(Action.dismiss)
        if not self.state.dismissal_warning_sent:
            raise ApplicationError(
                "The company must be warned (varsel) before the case is dismissed; the warning "
                "goes out automatically after the configured waiting time.",
                type="NotWarned",
            )

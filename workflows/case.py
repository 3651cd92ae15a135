"""The case workflow: one durable workflow per business case, from receipt to closing.

It orchestrates only: rules come from `domain`, I/O happens in `activities`, and each
department's review is a child workflow (`workflows/review.py`).

Phases (`CaseStatus`): awaiting_caseworker / contact_overdue -> (first contact) ->
awaiting_material <-> in_review -> awaiting_decision -> closed. Cases started before the
case life existed (issue 3) stop after first contact: see `LIFE_PATCH`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.records import HistoryQuery, RecordActivities
    from domain import calendar, clock, complaints, material, reasons
    from domain.phases import Action
    from domain.sanity import SanityError, check_received_at
    from schemas import search_attributes as sa
    from schemas.case import (
        AssignCaseworker,
        AssignmentResult,
        CaseSetup,
        CaseState,
        CaseStatus,
    )
    from schemas.intake import CaseIntake, Department
    from schemas.letters import LetterKind
    from schemas.life import (
        ClosingReason,
        Dismiss,
        IssueDecision,
        PreDialogue,
        PreDialogueTopic,
        Withdraw,
    )
    from workflows.case_base import CORE_V2_PATCH, DB_TIMEOUT, RETRY
    from workflows.case_material import MaterialHandlers
    from workflows.case_meetings import MeetingHandlers
    from workflows.case_reviews import ReviewHandlers

# Cases started before issue 4 replay without this marker and keep their old behaviour.
LIFE_PATCH = "case-life-v1"
# A meeting still ahead when the case closes is cancelled, and the company told.
CLOSE_CANCELS_MEETINGS_PATCH = "close-cancels-meetings"


@workflow.defn(name="CaseWorkflow")
class CaseWorkflow(MaterialHandlers, MeetingHandlers, ReviewHandlers):
    @workflow.init
    def __init__(self, intake: CaseIntake) -> None:
        self.setup: CaseSetup | None = None
        self.children: dict[Department, workflow.ChildWorkflowHandle] = {}
        self.tasks: list[asyncio.Task] = []  # the event loop holds tasks only weakly
        self.outbox = deque()
        self.state = CaseState(
            case_id=workflow.info().workflow_id,
            intake=intake,
            contact_deadline=calendar.contact_deadline(intake.received_at),
            contact_reminder_at=calendar.contact_reminder_at(intake.received_at),
            sustainability_level=intake.sustainability_level or 1,
            required_material=material.required_material(intake.case_type, intake.departments),
            review_rounds={d.value: 1 for d in intake.departments},
            core_version=2 if workflow.patched(CORE_V2_PATCH) else 1,
        )
        if intake.pre_dialogue_wished:
            self.state.pre_dialogues.append(
                PreDialogue(topic=PreDialogueTopic.general, requested_at=intake.received_at)
            )

    @workflow.run
    async def run(self, intake: CaseIntake) -> CaseState:
        if self.v2:
            try:  # the clock's check the schema cannot make (received in the future)
                check_received_at(intake.received_at, workflow.now())
            except SanityError as err:
                raise ApplicationError(
                    f"Invalid CaseIntake: {err}", type="InvalidInput", non_retryable=True
                ) from None
        self.setup = await workflow.execute_activity_method(
            RecordActivities.load_case_setup, start_to_close_timeout=DB_TIMEOUT, retry_policy=RETRY
        )
        closing_days = self.setup.closing_days
        self.state.contact_deadline = calendar.contact_deadline(intake.received_at, closing_days)
        self.state.contact_reminder_at = calendar.contact_reminder_at(
            intake.received_at, closing_days
        )
        workflow.upsert_search_attributes(
            [
                sa.CASE_TYPE.value_set(intake.case_type.value),
                sa.DEPARTMENTS.value_set([d.value for d in intake.departments]),
                sa.CASE_STATUS.value_set(self.state.status.value),
                sa.CONTACT_DEADLINE.value_set(self.state.contact_deadline),
                sa.CONTACT_BREACHED.value_set(False),
            ]
        )
        await self._record(
            "case_received",
            case_type=intake.case_type.value,
            departments=",".join(d.value for d in intake.departments),
            contact_deadline=self.state.contact_deadline.isoformat(),
        )
        if self.v2:
            # The letters' sender and the contact deadline run from receipt, whatever
            # happens to any letter.
            self.tasks.append(asyncio.create_task(self._post_letters()))
            self.tasks.append(asyncio.create_task(self._contact_deadline()))
        await self._send(LetterKind.receipt, "receipt", [intake.contact.email])
        self.state.receipt_sent = True
        self._show()
        if not self.v2:
            await self._contact_deadline()
        if not workflow.patched(LIFE_PATCH):
            await workflow.wait_condition(lambda: False)  # a case from before issue 4
        await workflow.wait_condition(
            lambda: self.state.contacted_at is not None or self.closing is not None
        )
        await self._life()
        await self._letters_sent()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    async def _contact_deadline(self) -> None:
        """Commitment 7: a reminder before the deadline, an escalation when it passes."""
        assert self.setup is not None
        if not await self._contacted_by(self.state.contact_reminder_at):
            await self._send(
                LetterKind.contact_reminder, "contact-reminder", [self.setup.caseworker_team_email]
            )
            self.state.contact_reminder_sent = True
            await self._record("contact_reminder_sent")
        if not await self._contacted_by(self.state.contact_deadline):
            await self._breach_contact_deadline()
            await self._send(
                LetterKind.contact_escalation, "contact-escalation", [self.setup.team_lead_email]
            )

    async def _contacted_by(self, instant: datetime) -> bool:
        """Wait until a caseworker is assigned (or the case closes) or *instant* passes."""
        done = lambda: self.state.caseworker is not None or self.closing is not None
        await self._until(instant, done)
        return done()

    async def _breach_contact_deadline(self) -> None:
        if self.state.contact_breached:
            return
        self.state.contact_breached = True
        if self.state.caseworker is None:
            self.state.status = CaseStatus.contact_overdue
        workflow.upsert_search_attributes(
            [
                sa.CONTACT_BREACHED.value_set(True),
                sa.CASE_STATUS.value_set(self.state.status.value),
            ]
        )
        workflow.logger.warning("contact deadline breached", extra={"case_id": self.state.case_id})
        await self._record("contact_deadline_breached")

    # ---------------------------------------------------------- the life
    async def _life(self) -> None:
        """From first contact to closing: material, reviews, the decision, the survey."""
        reminders = asyncio.create_task(self._pre_dialogue_reminders())
        if self.closing is None and self.state.sustainability_level >= 3:
            await self._offer_nbe()
        while self.closing is None:
            status = self.state.status
            if status == CaseStatus.awaiting_material:
                await self._await_material()
            elif status == CaseStatus.in_review:
                await self._run_reviews()
            else:  # awaiting_decision: the caseworker issues it, or something re-opens
                await workflow.wait_condition(
                    lambda status=status: self.closing is not None or self.state.status != status
                )
        reminders.cancel()
        await self._close()

    async def _await_material(self) -> None:
        """Waiting for the company: a warning (varsel) after a while, then dismissal."""
        assert self.setup is not None and self.state.waiting_since is not None
        s, closing_days = self.state, self.setup.closing_days
        left = lambda: self.closing is not None or s.status != CaseStatus.awaiting_material
        if not s.dismissal_warning_sent:
            warn_on = calendar.add_working_days(
                calendar.local_date(s.waiting_since),
                self.setup.dismissal_warning_working_days,
                closing_days,
            )
            if await self._until(calendar.end_of_day(warn_on), left):
                return
            s.dismissal_warning_sent = True
            s.dismissal_date = calendar.add_working_days(
                warn_on, self.setup.dismissal_after_warning_working_days, closing_days
            )
            await self._send(
                LetterKind.dismissal_warning,
                self._letter_key("dismissal-warning"),
                [s.intake.contact.email],
            )
            await self._record(
                "dismissal_warning_sent", dismissal_date=s.dismissal_date.isoformat()
            )
        assert s.dismissal_date is not None
        if await self._until(calendar.end_of_day(s.dismissal_date), left):
            return
        if s.closing is None:
            s.closing = ClosingReason.dismissed_incomplete
            s.closing_note = "automatic: the material did not arrive"

    async def _close(self) -> None:
        """Close the case: the figures on both clocks, and the survey to the applicant."""
        assert self.setup is not None and self.closing is not None
        s, now, closing = self.state, workflow.now(), self.closing
        for handle in self.children.values():
            handle.cancel()  # a review still running when the case closes ends with it
        if s.clock and s.clock[-1].event != "ended":
            s.clock = clock.end(s.clock, now, closing.value)
        s.closing_reason, s.closed_at = closing, now
        s.figures = clock.figures(
            s.clock, s.intake.received_at, now, s.agreed_date, s.decided_at, self.setup.closing_days
        )
        await self._set_status(CaseStatus.closed)
        await self._record(
            "case_closed",
            reason=closing.value,
            note=s.closing_note or None,
            gross_working_days=s.figures.gross_working_days,
            net_processing_days=str(s.figures.net_processing_days),
        )
        if workflow.patched(CLOSE_CANCELS_MEETINGS_PATCH):
            await self._cancel_future_meetings(reasons.case_closed())
        if closing != ClosingReason.decided:
            await self._send(LetterKind.closed_notice, "closed-notice", [s.intake.contact.email])
        await self._send(LetterKind.survey, "survey", [s.intake.contact.email])
        if self.outbox:
            await self._letters_sent()
        s.survey_sent = "survey" in s.letters_sent
        await self._record("survey_sent" if s.survey_sent else "survey_not_sent")
        s.closing_done = True

    # ----------------------------------------------------- first contact
    @workflow.update
    async def assign_caseworker(self, request: AssignCaseworker | None = None) -> AssignmentResult:
        """Make a caseworker process-responsible and tell the company who it is.

        The first assignment is decided here, synchronously, before any wait: of two officers
        assigning at the same moment, one wins and the other is told who was assigned. A
        reassignment names the caseworker it replaces (`AssignCaseworker.replacing`).
        """
        self._require(request, "AssignCaseworker {caseworker_id, replacing}")
        assert request is not None
        if self.v2:
            if not self.state.receipt_sent:
                await self._ready()
            self._check_assignment(request)  # again, now against the state it will change
        else:
            await workflow.wait_condition(lambda: self.state.receipt_sent)
        assert self.setup is not None
        life = workflow.patched(LIFE_PATCH)
        caseworker = self._roster()[request.caseworker_id]
        previous = self.state.caseworker
        self.state.assignments += 1
        self.state.caseworker = caseworker
        if previous is None:
            kind, key = LetterKind.contact_letter, "contact-letter"
            if life:
                await self._first_estimate()
            self.state.status = CaseStatus.caseworker_assigned
            workflow.upsert_search_attributes([sa.CASE_STATUS.value_set(self.state.status.value)])
        else:
            kind, key = LetterKind.reassignment, f"reassignment-{self.state.assignments}"
        await self._record(
            "caseworker_reassigned" if previous else "caseworker_assigned",
            caseworker_id=caseworker.id,
            previous_caseworker_id=previous.id if previous else None,
        )
        await self._send(kind, key, [self.state.intake.contact.email], previous=previous)
        if previous is None:
            self.state.contacted_at = workflow.now()
            if self.state.contacted_at > self.state.contact_deadline:
                await self._breach_contact_deadline()
            await self._record("company_contacted", within_deadline=not self.state.contact_breached)
            if life:
                await self._after_first_contact()
        return AssignmentResult(
            caseworker=caseworker,
            contacted_at=self.state.contacted_at or workflow.now(),
            within_contact_deadline=not self.state.contact_breached,
            letter_key=key,
            reassignment=previous is not None,
        )

    @assign_caseworker.validator
    def validate_assign_caseworker(self, request: AssignCaseworker | None = None) -> None:
        self._require(request, "AssignCaseworker {caseworker_id, replacing}")
        assert request is not None
        if self.setup is None and not self.v2:
            raise ApplicationError(
                "The case is still being registered; try again in a moment.", type="CaseStarting"
            )
        self._check_assignment(request)

    def _check_assignment(self, request: AssignCaseworker) -> None:
        self._check(Action.assign_caseworker)
        self._check_not_closing()
        wanted = request.caseworker_id
        if not wanted:
            raise ApplicationError(
                "caseworker_id is empty: give the caseworker's initials, e.g. 'mkj'.",
                type="InvalidCaseworker",
            )
        if self.setup is None:
            return  # the roster arrives in the case's first second; the handler checks again
        roster = self._roster()
        if wanted not in roster:
            raise ApplicationError(
                f"Unknown caseworker '{wanted}'. Known caseworkers: {', '.join(sorted(roster))}. "
                "(Added to the directory after the case started? Refresh the case's roster "
                "first: starter.py refresh-roster <reference>.)",
                type="UnknownCaseworker",
            )
        current = self.state.caseworker
        if current is not None and current.id == wanted:
            raise ApplicationError(
                f"'{wanted}' is already the process-responsible caseworker of this case.",
                type="AlreadyAssigned",
            )
        if not self.v2:
            return  # cases from before issue 7 reassign with a plain assignment
        if request.replacing is None and current is not None:
            raise ApplicationError(
                f"The case already has a process-responsible caseworker: '{current.id}'. "
                f"To hand it over to '{wanted}', name the caseworker being replaced: "
                f"starter.py reassign <reference> {wanted} --replacing {current.id}.",
                type="AlreadyAssigned",
            )
        if request.replacing is not None and current is None:
            raise ApplicationError(
                "The case has no process-responsible caseworker yet, so there is no one to "
                "replace; assign one without --replacing.",
                type="NothingToReplace",
            )
        if (
            request.replacing is not None
            and current is not None
            and request.replacing != current.id
        ):
            raise ApplicationError(
                f"'{request.replacing}' is not the process-responsible caseworker of this case; "
                f"'{current.id}' is. Check whom you are replacing and try again.",
                type="NotCurrentCaseworker",
            )

    @workflow.update
    async def refresh_roster(self) -> list[str]:
        """Re-read the caseworker directory: staff who joined or left since the case started."""
        if not self.state.receipt_sent:
            await self._ready()
        assert self.setup is not None
        fresh = await workflow.execute_activity_method(
            RecordActivities.load_case_setup, start_to_close_timeout=DB_TIMEOUT, retry_policy=RETRY
        )
        self.setup = self.setup.model_copy(update={"caseworkers": fresh.caseworkers})
        await self._record("roster_refreshed", caseworkers=len(self._roster()))
        return sorted(self._roster())

    @refresh_roster.validator
    def validate_refresh_roster(self) -> None:
        if self.setup is None and not self.v2:
            raise ApplicationError(
                "The case is still being registered; try again in a moment.", type="CaseStarting"
            )
        if self.state.status == CaseStatus.closed:
            raise ApplicationError(
                "The case is closed; its roster no longer matters.", type="NotAllowedInPhase"
            )

    async def _first_estimate(self) -> None:
        """The expected decision date given at first contact (the agreed date)."""
        assert self.setup is not None
        s = self.state
        s.history_days = await workflow.execute_activity_method(
            RecordActivities.processing_history,
            HistoryQuery(case_type=s.intake.case_type, departments=s.intake.departments),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=RETRY,
        )
        complete_on = calendar.local_date(s.complete_at or workflow.now())
        s.estimate = self._estimate(complete_on)
        await self._change_agreed_date(s.estimate.decision_date, None, notify=False)

    async def _after_first_contact(self) -> None:
        s = self.state
        if self._missing():
            s.waiting_since = workflow.now()
            await self._set_status(CaseStatus.awaiting_material)
        else:  # the material came with the application or before first contact
            assert s.complete_at is not None
            s.clock = clock.start(s.clock, s.complete_at, "fuldt oplyst")
            await self._record("case_complete")
            await self._set_status(CaseStatus.in_review)

    # ---------------------------------------------- decision and closing
    @workflow.update
    async def issue_decision(self, decision: IssueDecision | None = None) -> CaseState:
        """ONE coordinated decision combining every department's review, with complaint guidance.

        Accepting it closes the way in at once: a second decision, a withdrawal or a dismissal
        arriving while the decision letter goes out is rejected."""
        self._require(decision, "IssueDecision {grounds}")
        assert self.setup is not None and decision is not None
        self._check(Action.issue_decision)
        self._claim_closing(ClosingReason.decided)
        s, now = self.state, workflow.now()
        s.decided_at = now
        s.decision_date = calendar.local_date(now)
        bodies = complaints.complaint_bodies(s.intake.departments)
        s.complaint_deadline = complaints.complaint_deadline(
            s.decision_date, min(b.weeks for b in bodies), self.setup.closing_days
        )
        s.clock = clock.end(s.clock, now, "afgørelse") if s.clock else s.clock
        await self._send(
            LetterKind.decision,
            "decision",
            [s.intake.contact.email],
            reviews=[s.reviews[d.value] for d in s.intake.departments],
            decision_date=s.decision_date,
            grounds=decision.grounds,
            complaint_bodies=bodies,
            complaint_deadline=s.complaint_deadline,
        )
        await self._record(
            "decision_issued",
            decision_date=s.decision_date.isoformat(),
            on_or_before_agreed_date=s.decision_date <= self._agreed(),
            refused=any(r.outcome.value == "refused" for r in s.reviews.values()),
        )
        s.decision_issued = True
        return s

    @issue_decision.validator
    def validate_issue_decision(self, decision: IssueDecision | None = None) -> None:
        self._require(decision, "IssueDecision {grounds}")
        self._check_not_closing()
        try:
            self._check(Action.issue_decision)
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

    @workflow.update
    async def withdraw(self, request: Withdraw | None = None) -> CaseState:
        """The company withdraws the case."""
        self._require(request, "Withdraw {reason}")
        assert request is not None
        self._check(Action.withdraw)
        self._claim_closing(ClosingReason.withdrawn, request.reason)
        await workflow.wait_condition(lambda: self.state.closing_done)
        return self.state

    @withdraw.validator
    def validate_withdraw(self, request: Withdraw | None = None) -> None:
        self._require(request, "Withdraw {reason}")
        self._check_not_closing()
        self._check(Action.withdraw)

    @workflow.update
    async def dismiss(self, request: Dismiss | None = None) -> CaseState:
        """The caseworker dismisses the case as incomplete (after the warning went out)."""
        self._require(request, "Dismiss {reason}")
        assert request is not None
        self._check(Action.dismiss)
        self._claim_closing(ClosingReason.dismissed_incomplete, request.reason)
        await workflow.wait_condition(lambda: self.state.closing_done)
        return self.state

    @dismiss.validator
    def validate_dismiss(self, request: Dismiss | None = None) -> None:
        self._require(request, "Dismiss {reason}")
        self._check_not_closing()
        self._check(Action.dismiss)
        if not self.state.dismissal_warning_sent:
            raise ApplicationError(
                "The company must be warned (varsel) before the case is dismissed; the warning "
                "goes out automatically after the configured waiting time.",
                type="NotWarned",
            )

    # ------------------------------------------------------------- query
    @workflow.query(name="state")
    def get_state(self) -> CaseState:
        return self.state

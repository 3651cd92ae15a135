"""The case workflow: one durable workflow per business case, from receipt to closing.

It orchestrates only: rules come from `domain`, I/O happens in `activities`, and each
department's review is a child workflow (`workflows/review.py`).

Phases (`CaseStatus`): awaiting_caseworker / contact_overdue -> (first contact) ->
awaiting_material <-> in_review -> awaiting_decision -> closed. Cases started before the
case life existed (issue 3) stop after first contact: see `LIFE_PATCH`.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, CancelledError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.records import CaseRecord, HistoryQuery, RecordActivities
    from domain import calendar, clock, complaints, estimate, material, reasons
    from domain.phases import Action, PhaseError, check_allowed
    from schemas import search_attributes as sa
    from schemas.case import (
        AssignCaseworker,
        AssignmentResult,
        CaseEvent,
        CaseSetup,
        CaseState,
        CaseStatus,
        Caseworker,
        projection_of,
    )
    from schemas.intake import CaseIntake, Department
    from schemas.letters import LetterFacts, LetterKind
    from schemas.life import (
        AnswerNbeOffer,
        BookPreDialogue,
        CancelPreDialogue,
        ChangeSustainabilityLevel,
        ClosingReason,
        DateChange,
        Dismiss,
        IssueDecision,
        MaterialStatus,
        MoreTimeRequested,
        NewReviewDeadline,
        PreDialogue,
        PreDialogueHeld,
        PreDialogueTopic,
        ProjectChange,
        ReportMaterial,
        RequestPreDialogue,
        ReviewLate,
        Withdraw,
    )
    from schemas.review import ReviewInput, review_workflow_id
    from workflows.letters import send_letter
    from workflows.review import DepartmentReviewWorkflow

DB_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
# Cases started before issue 4 replay without this marker and keep their old behaviour.
LIFE_PATCH = "case-life-v1"
# A meeting still ahead when the case closes is cancelled, and the company told.
CLOSE_CANCELS_MEETINGS_PATCH = "close-cancels-meetings"
PRE_DIALOGUE_REMINDER_TIME = time(9, 0)


@workflow.defn(name="CaseWorkflow")
class CaseWorkflow:
    @workflow.init
    def __init__(self, intake: CaseIntake) -> None:
        self.setup: CaseSetup | None = None
        self.receipt_sent = False
        self.assignments = 0
        self.closing: ClosingReason | None = None
        self.closing_note = ""
        self.closed = False  # closing finished: letters and survey sent
        self.review_changes = 0  # bumped when a review result arrives or a review re-opens
        self.booking_changes = 0
        self.running_reviews: dict[Department, int] = {}
        self.review_deadlines: dict[Department, datetime] = {}
        self.children: dict[Department, workflow.ChildWorkflowHandle] = {}
        self.letter_counts: dict[str, int] = {}
        self.state = CaseState(
            case_id=workflow.info().workflow_id,
            intake=intake,
            contact_deadline=calendar.contact_deadline(intake.received_at),
            contact_reminder_at=calendar.contact_reminder_at(intake.received_at),
            sustainability_level=intake.sustainability_level or 1,
            required_material=material.required_material(intake.case_type, intake.departments),
            review_rounds={d.value: 1 for d in intake.departments},
        )
        if intake.pre_dialogue_wished:
            self.state.pre_dialogues.append(
                PreDialogue(topic=PreDialogueTopic.general, requested_at=intake.received_at)
            )

    # ------------------------------------------------------------------ run
    @workflow.run
    async def run(self, intake: CaseIntake) -> CaseState:
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
        await self._send(LetterKind.receipt, "receipt", [intake.contact.email])
        self.receipt_sent = True
        self._show()

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
        if not workflow.patched(LIFE_PATCH):
            await workflow.wait_condition(lambda: False)  # a case from before issue 4
        await workflow.wait_condition(
            lambda: self.state.contacted_at is not None or self.closing is not None
        )
        await self._life()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    async def _contacted_by(self, instant: datetime) -> bool:
        """Wait until a caseworker is assigned (or the case closes) or *instant* passes."""
        done = lambda: self.state.caseworker is not None or self.closing is not None
        remaining = instant - workflow.now()
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(done, timeout=remaining)
            except TimeoutError:
                pass
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

    # ------------------------------------------------------------- the life
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

    async def _until(self, instant: datetime, interrupted) -> bool:
        """Wait until *instant* unless *interrupted()* becomes true first (returns True then)."""
        remaining = instant - workflow.now()
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(interrupted, timeout=remaining)
            except TimeoutError:
                return False
        return interrupted()

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
        self.closing = ClosingReason.dismissed_incomplete
        self.closing_note = "automatic: the material did not arrive"

    async def _run_reviews(self) -> None:
        """Start a review per department that has none, until every review is in."""
        s = self.state
        while s.status == CaseStatus.in_review and self.closing is None:
            for department in s.intake.departments:
                round_ = s.review_rounds[department.value]
                if (
                    department.value not in s.reviews
                    and self.running_reviews.get(department) != round_
                ):
                    self.running_reviews[department] = round_
                    asyncio.create_task(self._review(department, round_))
            if all(d.value in s.reviews for d in s.intake.departments):
                await self._set_status(CaseStatus.awaiting_decision)
                await self._record("reviews_complete")
                return
            seen = self.review_changes
            await workflow.wait_condition(
                lambda seen=seen: (
                    self.closing is not None
                    or s.status != CaseStatus.in_review
                    or self.review_changes != seen
                )
            )

    async def _review(self, department: Department, round_: int) -> None:
        """One department's review as a child workflow; its result joins the case."""
        assert self.setup is not None and self.state.caseworker is not None
        officer = self._officer_for(department)
        deadline_day = estimate.review_deadline(
            self._agreed(), self.setup.review_working_days_before, self.setup.closing_days
        )
        deadline = calendar.end_of_day(deadline_day)
        self.review_deadlines[department] = deadline
        handle = await workflow.start_child_workflow(
            DepartmentReviewWorkflow.run,
            ReviewInput(
                case_id=self.state.case_id,
                department=department,
                round=round_,
                officer_id=officer.id,
                officer_email=officer.email,
                coordinator_email=self.state.caseworker.email,
                review_deadline=deadline,
                reminder_at=self._reminder_before(deadline_day),
                facts=self._facts(),
            ),
            id=review_workflow_id(self.state.case_id, department, round_),
        )
        self.children[department] = handle
        await self._record(
            "review_started", department=department.value, round=round_, officer_id=officer.id
        )
        try:
            result = await handle
        except (ChildWorkflowError, CancelledError, asyncio.CancelledError):
            return  # cancelled because the case closed
        if self.state.review_rounds[department.value] == round_ and self.closing is None:
            self.state.reviews[department.value] = result
            self.review_changes += 1
            await self._record(
                "review_submitted",
                department=department.value,
                round=round_,
                outcome=result.outcome.value,
                late=result.late,
            )

    def _officer_for(self, department: Department) -> Caseworker:
        """The department's officer: the first caseworker of that department in the roster."""
        for caseworker in self._roster().values():
            if department in caseworker.departments:
                return caseworker
        assert self.state.caseworker is not None
        return self.state.caseworker

    def _reminder_before(self, day: date) -> datetime:
        assert self.setup is not None
        return calendar.end_of_day(calendar.add_working_days(day, -1, self.setup.closing_days))

    async def _close(self) -> None:
        """Close the case: the figures on both clocks, and the survey to the applicant."""
        assert self.setup is not None and self.closing is not None
        s, now = self.state, workflow.now()
        for handle in self.children.values():
            handle.cancel()  # a review still running when the case closes ends with it
        if s.clock and s.clock[-1].event != "ended":
            s.clock = clock.end(s.clock, now, self.closing.value)
        s.closing_reason, s.closed_at = self.closing, now
        s.figures = clock.figures(
            s.clock, s.intake.received_at, now, s.agreed_date, s.decided_at, self.setup.closing_days
        )
        await self._set_status(CaseStatus.closed)
        await self._record(
            "case_closed",
            reason=self.closing.value,
            note=self.closing_note or None,
            gross_working_days=s.figures.gross_working_days,
            net_processing_days=str(s.figures.net_processing_days),
        )
        if workflow.patched(CLOSE_CANCELS_MEETINGS_PATCH):
            await self._cancel_future_meetings(reasons.case_closed())
        if self.closing != ClosingReason.decided:
            await self._send(LetterKind.closed_notice, "closed-notice", [s.intake.contact.email])
        await self._send(LetterKind.survey, "survey", [s.intake.contact.email])
        s.survey_sent = "survey" in s.letters_sent
        await self._record("survey_sent" if s.survey_sent else "survey_not_sent")
        self.closed = True

    # ------------------------------------------------------- first contact
    @workflow.update
    async def assign_caseworker(self, request: AssignCaseworker) -> AssignmentResult:
        """Make a caseworker process-responsible and tell the company who it is."""
        await workflow.wait_condition(lambda: self.receipt_sent)
        assert self.setup is not None
        life = workflow.patched(LIFE_PATCH)
        caseworker = self._roster()[request.caseworker_id.lower()]
        previous = self.state.caseworker
        self.assignments += 1
        self.state.caseworker = caseworker
        if previous is None:
            kind, key = LetterKind.contact_letter, "contact-letter"
            if life:
                await self._first_estimate()
            self.state.status = CaseStatus.caseworker_assigned
            workflow.upsert_search_attributes([sa.CASE_STATUS.value_set(self.state.status.value)])
        else:
            kind, key = LetterKind.reassignment, f"reassignment-{self.assignments}"
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
    def validate_assign_caseworker(self, request: AssignCaseworker) -> None:
        if self.setup is None:
            raise ApplicationError(
                "The case is still being registered; try again in a moment.", type="CaseStarting"
            )
        self._check(Action.assign_caseworker)
        wanted = request.caseworker_id.strip().lower()
        if not wanted:
            raise ApplicationError(
                "caseworker_id is empty: give the caseworker's initials, e.g. 'mkj'.",
                type="InvalidCaseworker",
            )
        roster = self._roster()
        if wanted not in roster:
            raise ApplicationError(
                f"Unknown caseworker '{wanted}'. Known caseworkers: {', '.join(sorted(roster))}.",
                type="UnknownCaseworker",
            )
        if self.state.caseworker is not None and self.state.caseworker.id == wanted:
            raise ApplicationError(
                f"'{wanted}' is already the process-responsible caseworker of this case.",
                type="AlreadyAssigned",
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

    def _estimate(self, complete_on: date):
        assert self.setup is not None
        s = self.state
        return estimate.estimate_decision_date(
            complete_on,
            s.intake.case_type,
            s.history_days,
            s.intake.wished_decision_date,
            self.setup.closing_days,
        )

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

    # ---------------------------------------------------------- material
    @workflow.update
    async def report_material(self, report: ReportMaterial) -> MaterialStatus:
        """Material received; the company is told what is still missing (or that it is complete)."""
        s = self.state
        new = [c for c in dict.fromkeys(report.codes) if c not in s.received_material]
        s.received_material.extend(new)
        await self._record("material_received", codes=",".join(new) or None)
        if s.complete_at is None and not self._missing():
            s.complete_at = workflow.now()
        if s.contacted_at is not None:
            if not self._missing() and s.status == CaseStatus.awaiting_material:
                await self._became_complete()
            await self._send(
                LetterKind.material_status,
                self._letter_key("material-status"),
                [s.intake.contact.email],
                received_material=[m for m in s.required_material if m.code in new],
            )
        return self._material_status()

    @report_material.validator
    def validate_report_material(self, report: ReportMaterial) -> None:
        self._check(Action.report_material)
        unknown = material.unknown_codes(self.state.required_material, report.codes)
        if unknown:
            raise ApplicationError(
                f"Unknown material for this case: {', '.join(unknown)}. The checklist of this "
                f"case is: {material.describe_codes(self.state.required_material)}.",
                type="UnknownMaterial",
            )

    async def _became_complete(self) -> None:
        """'Fuldt oplyst': the KL clock starts (or restarts); the agreed date follows."""
        assert self.setup is not None
        s, now = self.state, workflow.now()
        if not s.clock:
            s.complete_at = s.complete_at or now
            s.clock = clock.start(s.clock, now, "fuldt oplyst")
            assert s.estimate is not None
            fresh = self._estimate(calendar.local_date(now))
            if fresh.decision_date > self._agreed():
                s.estimate = fresh
                await self._change_agreed_date(
                    fresh.decision_date,
                    reasons.material_complete(calendar.local_date(now), fresh.processing_days),
                )
        else:
            stopped_at = s.clock[-1].at
            s.clock = clock.restart(s.clock, now, "materiale modtaget")
            waited = (calendar.local_date(now) - calendar.local_date(stopped_at)).days
            if waited > 0:
                moved = estimate.next_working_day(
                    self._agreed() + timedelta(days=waited), self.setup.closing_days
                )
                await self._change_agreed_date(moved, reasons.waited_for_material(waited))
        s.waiting_since, s.dismissal_warning_sent, s.dismissal_date = None, False, None
        await self._record("case_complete")
        await self._set_status(CaseStatus.in_review)

    def _missing(self):
        return material.missing_material(self.state.required_material, self.state.received_material)

    def _material_status(self) -> MaterialStatus:
        s = self.state
        return MaterialStatus(
            received=[m for m in s.required_material if m.code in s.received_material],
            missing=self._missing(),
            complete=not self._missing(),
        )

    # ------------------------------------------------------ project change
    @workflow.update
    async def report_project_change(self, change: ProjectChange) -> CaseState:
        """A project change: material again, re-opened reviews, and maybe a later date."""
        assert self.setup is not None
        s, now = self.state, workflow.now()
        s.project_changes += 1
        await self._record(
            "project_changed",
            departments=",".join(d.value for d in change.departments),
            new_material=",".join(change.new_material) or None,
        )
        reopened = False
        for department in change.departments:
            if department.value in s.reviews:
                del s.reviews[department.value]
                s.review_rounds[department.value] += 1
                reopened = True
                await self._record(
                    "review_reopened",
                    department=department.value,
                    round=s.review_rounds[department.value],
                )
        if reopened:
            self.review_changes += 1
            earliest = calendar.add_working_days(
                calendar.local_date(now), self.setup.reopen_working_days, self.setup.closing_days
            )
            if s.agreed_date is not None and earliest > s.agreed_date:
                await self._change_agreed_date(earliest, reasons.project_change(change.description))
        if change.new_material:
            s.received_material = [c for c in s.received_material if c not in change.new_material]
            if s.contacted_at is not None and s.status != CaseStatus.awaiting_material:
                if clock.is_running(s.clock):
                    s.clock = clock.stop(s.clock, now, "afventer materiale efter projektændring")
                s.waiting_since = now
                await self._set_status(CaseStatus.awaiting_material)
            if s.contacted_at is not None:
                await self._send(
                    LetterKind.material_status,
                    self._letter_key("material-status"),
                    [s.intake.contact.email],
                )
        elif reopened and s.status == CaseStatus.awaiting_decision:
            await self._set_status(CaseStatus.in_review)
        return s

    @report_project_change.validator
    def validate_report_project_change(self, change: ProjectChange) -> None:
        self._check(Action.report_project_change)
        foreign = [d.value for d in change.departments if d not in self.state.intake.departments]
        if foreign:
            raise ApplicationError(
                f"The case does not involve {', '.join(foreign)}; it involves "
                f"{', '.join(d.value for d in self.state.intake.departments)}.",
                type="UnknownDepartment",
            )
        unknown = material.unknown_codes(self.state.required_material, change.new_material)
        if unknown:
            raise ApplicationError(
                f"Unknown material for this case: {', '.join(unknown)}.", type="UnknownMaterial"
            )

    # -------------------------------------------------------- agreed date
    def _agreed(self) -> date:
        assert self.state.agreed_date is not None
        return self.state.agreed_date

    async def _change_agreed_date(self, new: date, reason: str | None, notify: bool = True) -> None:
        """Set the agreed date; every later move is told to the company with its reason."""
        s = self.state
        old = s.agreed_date
        if old == new:
            return
        s.agreed_date = new
        s.date_changes.append(DateChange(at=workflow.now(), old=old, new=new, reason=reason or ""))
        workflow.upsert_search_attributes(
            [sa.AGREED_DATE.value_set(datetime.combine(new, time(), tzinfo=calendar.COPENHAGEN))]
        )
        await self._record(
            "agreed_date_set" if old is None else "agreed_date_moved",
            old=old.isoformat() if old else None,
            new=new.isoformat(),
            reason=reason,
        )
        if notify and old is not None:
            await self._send(
                LetterKind.date_changed,
                self._letter_key("date-changed"),
                [s.intake.contact.email],
                previous_agreed_date=old,
                change_reason=reason,
            )

    @workflow.signal
    async def more_time_requested(self, request: MoreTimeRequested) -> None:
        """From a department's review: the coordinator moves the dates and tells the company."""
        assert self.setup is not None
        department = request.department
        if self.closing is not None or self.running_reviews.get(department) != request.round:
            return
        closing_days = self.setup.closing_days
        old_deadline = calendar.local_date(self.review_deadlines[department])
        new_deadline = calendar.add_working_days(old_deadline, request.working_days, closing_days)
        self.review_deadlines[department] = calendar.end_of_day(new_deadline)
        await self._record(
            "more_time_granted",
            department=department.value,
            working_days=request.working_days,
            reason=request.reason,
        )
        await self._change_agreed_date(
            estimate.move_date(self._agreed(), request.working_days, closing_days),
            reasons.more_time(department, request.reason),
        )
        await self.children[department].signal(
            DepartmentReviewWorkflow.new_review_deadline,
            NewReviewDeadline(
                review_deadline=self.review_deadlines[department],
                reminder_at=self._reminder_before(new_deadline),
            ),
        )

    @workflow.signal
    async def review_late(self, late: ReviewLate) -> None:
        """From a department's review: its deadline passed. Counted, and visible in the UI."""
        self.state.late_reviews.append(f"{late.department.value}#{late.round}")
        workflow.upsert_search_attributes([sa.REVIEW_LATE.value_set(True)])
        await self._record("review_late", department=late.department.value, round=late.round)

    # ------------------------------------------------------- pre-dialogue
    @workflow.update
    async def request_pre_dialogue(self, request: RequestPreDialogue) -> PreDialogue:
        meeting = self._pre_dialogue(request.topic, create=True)
        meeting.requested_at = meeting.requested_at or workflow.now()
        await self._record("pre_dialogue_requested", topic=request.topic.value)
        return meeting

    @request_pre_dialogue.validator
    def validate_request_pre_dialogue(self, request: RequestPreDialogue) -> None:
        self._check(Action.request_pre_dialogue)
        self._check_topic(request.topic)

    @workflow.update
    async def book_pre_dialogue(self, booking: BookPreDialogue) -> PreDialogue:
        """The caseworker books (or moves) the meeting; both sides get a confirmation."""
        assert self.state.caseworker is not None
        meeting = self._pre_dialogue(booking.topic, create=True)
        meeting.at = booking.at
        meeting.place = booking.place
        meeting.video_link = str(booking.video_link) if booking.video_link else None
        meeting.bookings += 1
        meeting.cancelled = False
        self.booking_changes += 1
        await self._record(
            "pre_dialogue_booked",
            topic=booking.topic.value,
            at=booking.at.isoformat(),
            bookings=meeting.bookings,
        )
        await self._send(
            LetterKind.pre_dialogue_booked,
            f"pre-dialogue-{booking.topic.value}-booked-{meeting.bookings}",
            [self.state.intake.contact.email, self.state.caseworker.email],
            pre_dialogue=meeting,
        )
        return meeting

    @book_pre_dialogue.validator
    def validate_book_pre_dialogue(self, booking: BookPreDialogue) -> None:
        self._check(Action.book_pre_dialogue)
        self._check_topic(booking.topic)
        if self.state.caseworker is None:
            raise ApplicationError(
                "Assign the process-responsible caseworker before booking a pre-dialogue.",
                type="NoCaseworker",
            )
        if booking.at <= workflow.now():
            raise ApplicationError("The meeting time must be in the future.", type="InvalidTime")

    @workflow.update
    async def cancel_pre_dialogue(self, request: CancelPreDialogue) -> PreDialogue:
        assert self.state.caseworker is not None
        meeting = self._pre_dialogue(request.topic)
        meeting.cancelled = True
        self.booking_changes += 1
        await self._record("pre_dialogue_cancelled", topic=request.topic.value)
        await self._send(
            LetterKind.pre_dialogue_cancelled,
            f"pre-dialogue-{request.topic.value}-cancelled-{meeting.bookings}",
            [self.state.intake.contact.email, self.state.caseworker.email],
            pre_dialogue=meeting,
            cancel_reason=request.reason,
        )
        return meeting

    async def _cancel_future_meetings(self, reason: str) -> None:
        assert self.state.caseworker is not None
        for meeting in self.state.pre_dialogues:
            if (
                meeting.at
                and meeting.at > workflow.now()
                and not (meeting.cancelled or meeting.held)
            ):
                meeting.cancelled = True
                self.booking_changes += 1
                await self._record("pre_dialogue_cancelled", topic=meeting.topic.value)
                await self._send(
                    LetterKind.pre_dialogue_cancelled,
                    f"pre-dialogue-{meeting.topic.value}-cancelled-{meeting.bookings}",
                    [self.state.intake.contact.email, self.state.caseworker.email],
                    pre_dialogue=meeting,
                    cancel_reason=reason,
                )

    @cancel_pre_dialogue.validator
    def validate_cancel_pre_dialogue(self, request: CancelPreDialogue) -> None:
        self._check(Action.cancel_pre_dialogue)
        self._check_booked(request.topic)

    @workflow.update
    async def record_pre_dialogue_held(self, held: PreDialogueHeld) -> PreDialogue:
        meeting = self._pre_dialogue(held.topic)
        meeting.held = True
        self.booking_changes += 1
        await self._record("pre_dialogue_held", topic=held.topic.value)
        return meeting

    @record_pre_dialogue_held.validator
    def validate_record_pre_dialogue_held(self, held: PreDialogueHeld) -> None:
        self._check(Action.record_pre_dialogue_held)
        self._check_booked(held.topic)

    def _pre_dialogue(self, topic: PreDialogueTopic, create: bool = False) -> PreDialogue:
        for meeting in self.state.pre_dialogues:
            if meeting.topic == topic:
                return meeting
        if not create:
            raise ApplicationError(f"No {topic.value} pre-dialogue.", type="NoPreDialogue")
        meeting = PreDialogue(topic=topic)
        self.state.pre_dialogues.append(meeting)
        return meeting

    def _check_topic(self, topic: PreDialogueTopic) -> None:
        if topic == PreDialogueTopic.sustainability and self.state.sustainability_level < 2:
            raise ApplicationError(
                "A pre-dialogue on sustainability belongs to sustainability level 2 or 3; the "
                f"case is at level {self.state.sustainability_level} (change the level first).",
                type="WrongSustainabilityLevel",
            )

    def _check_booked(self, topic: PreDialogueTopic) -> None:
        booked = [m for m in self.state.pre_dialogues if m.topic == topic and m.at is not None]
        if not booked or booked[0].cancelled or booked[0].held:
            raise ApplicationError(
                f"There is no booked {topic.value} pre-dialogue to change.", type="NotBooked"
            )

    async def _pre_dialogue_reminders(self) -> None:
        """The company's reminder at 09:00 the working day before each booked meeting."""
        assert self.setup is not None
        while True:
            due = [
                (self._pre_dialogue_reminder_at(m), m)
                for m in self.state.pre_dialogues
                if m.at and not m.cancelled and not m.held and m.reminded_booking != m.bookings
            ]
            seen = self.booking_changes
            changed = lambda seen=seen: self.booking_changes != seen
            if not due:
                await workflow.wait_condition(changed)
                continue
            at, meeting = min(due, key=lambda pair: pair[0])
            if await self._until(at, changed):
                continue
            meeting.reminded_booking = meeting.bookings
            if meeting.at and meeting.at > workflow.now():
                await self._send(
                    LetterKind.pre_dialogue_reminder,
                    f"pre-dialogue-{meeting.topic.value}-reminder-{meeting.bookings}",
                    [self.state.intake.contact.email],
                    pre_dialogue=meeting,
                )

    def _pre_dialogue_reminder_at(self, meeting: PreDialogue) -> datetime:
        assert self.setup is not None and meeting.at is not None
        day = calendar.add_working_days(
            calendar.local_date(meeting.at), -1, self.setup.closing_days
        )
        return datetime.combine(day, PRE_DIALOGUE_REMINDER_TIME, tzinfo=calendar.COPENHAGEN)

    # ----------------------------------------------------- sustainability
    @workflow.update
    async def change_sustainability_level(self, change: ChangeSustainabilityLevel) -> CaseState:
        old = self.state.sustainability_level
        self.state.sustainability_level = change.level
        await self._record("sustainability_level_changed", old=old, new=change.level)
        if change.level >= 3 and self.state.contacted_at is not None:
            await self._offer_nbe()
        return self.state

    @change_sustainability_level.validator
    def validate_change_sustainability_level(self, change: ChangeSustainabilityLevel) -> None:
        self._check(Action.change_sustainability_level)

    async def _offer_nbe(self) -> None:
        """Level 3: the offer of membership in NBE, once."""
        if self.state.nbe_offer_sent:
            return
        self.state.nbe_offer_sent = True
        await self._send(LetterKind.nbe_offer, "nbe-offer", [self.state.intake.contact.email])

    @workflow.update
    async def answer_nbe_offer(self, answer: AnswerNbeOffer) -> CaseState:
        self.state.nbe_accepted = answer.accepted
        await self._record("nbe_offer_answered", accepted=answer.accepted)
        return self.state

    @answer_nbe_offer.validator
    def validate_answer_nbe_offer(self, answer: AnswerNbeOffer) -> None:
        self._check(Action.answer_nbe_offer)
        if not self.state.nbe_offer_sent:
            raise ApplicationError(
                "No NBE offer has been sent in this case (sustainability level 3 sends it).",
                type="NoNbeOffer",
            )

    # ----------------------------------------------------------- decision
    @workflow.update
    async def issue_decision(self, decision: IssueDecision) -> CaseState:
        """ONE coordinated decision combining every department's review, with complaint guidance."""
        assert self.setup is not None
        s, now = self.state, workflow.now()
        s.decided_at = now
        s.decision_date = calendar.local_date(now)
        bodies = complaints.complaint_bodies(s.intake.departments)
        s.complaint_deadline = complaints.complaint_deadline(
            s.decision_date, max(b.weeks for b in bodies), self.setup.closing_days
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
        self.closing = ClosingReason.decided
        return s

    @issue_decision.validator
    def validate_issue_decision(self, decision: IssueDecision) -> None:
        self._check(Action.issue_decision)
        if self.closing is not None:
            raise ApplicationError("The decision has already been issued.", type="AlreadyDecided")

    # ------------------------------------------------------------ closing
    @workflow.update
    async def withdraw(self, request: Withdraw) -> CaseState:
        """The company withdraws the case."""
        self.closing, self.closing_note = ClosingReason.withdrawn, request.reason
        await workflow.wait_condition(lambda: self.closed)
        return self.state

    @withdraw.validator
    def validate_withdraw(self, request: Withdraw) -> None:
        self._check(Action.withdraw)
        self._check_not_closing()

    @workflow.update
    async def dismiss(self, request: Dismiss) -> CaseState:
        """The caseworker dismisses the case as incomplete (after the warning went out)."""
        self.closing, self.closing_note = ClosingReason.dismissed_incomplete, request.reason
        await workflow.wait_condition(lambda: self.closed)
        return self.state

    @dismiss.validator
    def validate_dismiss(self, request: Dismiss) -> None:
        self._check(Action.dismiss)
        self._check_not_closing()
        if not self.state.dismissal_warning_sent:
            raise ApplicationError(
                "The company must be warned (varsel) before the case is dismissed; the warning "
                "goes out automatically after the configured waiting time.",
                type="NotWarned",
            )

    def _check_not_closing(self) -> None:
        if self.closing is not None:
            raise ApplicationError(
                f"The case is already closing ({self.closing.value}).", type="Closing"
            )

    # -------------------------------------------------------------- query
    @workflow.query(name="state")
    def get_state(self) -> CaseState:
        return self.state

    # ------------------------------------------------------------ helpers
    def _check(self, action: Action) -> None:
        try:
            check_allowed(action, self.state.status)
        except PhaseError as err:
            raise ApplicationError(str(err), type="NotAllowedInPhase") from None

    def _roster(self) -> dict[str, Caseworker]:
        assert self.setup is not None
        return {c.id: c for c in self.setup.caseworkers if c.active}

    async def _set_status(self, status: CaseStatus) -> None:
        self.state.status = status
        workflow.upsert_search_attributes([sa.CASE_STATUS.value_set(status.value)])
        await self._record("status_changed", status=status.value)

    def _letter_key(self, kind: str) -> str:
        """A fresh key for a letter kind that can be sent several times (material-status-2)."""
        self.letter_counts[kind] = self.letter_counts.get(kind, 0) + 1
        return f"{kind}-{self.letter_counts[kind]}"

    async def _record(self, kind: str, **data: str | int | bool | None) -> None:
        """Write the projection and one audit event (idempotent, one transaction)."""
        self.state.version += 1
        event = CaseEvent(
            case_id=self.state.case_id,
            seq=self.state.version,
            kind=kind,
            at=workflow.now(),
            data=data,
        )
        self._show()
        await workflow.execute_activity_method(
            RecordActivities.record_case,
            CaseRecord(projection=projection_of(self.state, workflow.now()), events=[event]),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=RETRY,
        )

    def _facts(self, previous: Caseworker | None = None, **extra) -> LetterFacts:
        assert self.setup is not None
        s = self.state
        facts = LetterFacts.of_case(
            s.intake,
            contact_deadline=s.contact_deadline,
            municipality_name=self.setup.municipality_name,
            caseworker=s.caseworker,
            previous_caseworker=previous,
        )
        return facts.model_copy(
            update={
                "sustainability_level": s.sustainability_level,
                "missing_material": self._missing(),
                "agreed_date": s.agreed_date,
                "estimate": s.estimate,
                "dismissal_date": s.dismissal_date,
                "closing_reason": self.closing,
                **extra,
            }
        )

    async def _send(
        self, kind: LetterKind, key: str, to: list[str], previous: Caseworker | None = None, **extra
    ) -> None:
        """Send a letter once; a permanent refusal is recorded, not fatal to the case."""
        refused = await send_letter(
            self.state.case_id, kind, key, to, self._facts(previous, **extra)
        )
        if refused is not None:
            await self._record("letter_failed", letter_key=key, reason=refused)
            return
        self.state.letters_sent.append(key)
        await self._record("letter_sent", letter_key=key, letter_kind=kind.value)

    def _show(self) -> None:
        """Tell an operator in the Temporal UI where the case stands (markdown, no personal data)."""
        s = self.state
        deadline = s.contact_deadline.astimezone(calendar.COPENHAGEN)
        caseworker = f"`{s.caseworker.id}`" if s.caseworker else "not yet assigned"
        met = {None: "waiting", True: "yes", False: "no"}[s.contact_met]
        lines = [
            f"### Case {s.intake.reference}",
            f"- **Status:** {s.status.value.replace('_', ' ')}",
            f"- **Type:** {s.intake.case_type.value} · **Departments:** "
            + ", ".join(d.value for d in s.intake.departments),
            f"- **Contact deadline:** {deadline:%Y-%m-%d %H:%M} Europe/Copenhagen",
            f"- **Process-responsible caseworker:** {caseworker}",
            (
                f"- **Contacted within deadline:** {met} · **Reminder sent:** "
                f"{'yes' if s.contact_reminder_sent else 'no'} · **Breached:** "
                f"{'YES' if s.contact_breached else 'no'}"
            ),
        ]
        if s.agreed_date:
            missing = len(self._missing())
            lines += [
                f"- **Agreed decision date:** {s.agreed_date} (moved {len(s.date_changes) - 1}×)",
                (
                    f"- **Material:** {'complete' if not missing else f'{missing} missing'}"
                    f" · **KL clock:** {'running' if clock.is_running(s.clock) else 'stopped'}"
                ),
                "- **Reviews:** "
                + (
                    ", ".join(
                        f"{d.value}: {s.reviews[d.value].outcome.value}"
                        if d.value in s.reviews
                        else f"{d.value}: open"
                        for d in s.intake.departments
                    )
                )
                + (f" · **late:** {', '.join(s.late_reviews)}" if s.late_reviews else ""),
            ]
        if s.closing_reason:
            lines.append(f"- **Closed:** {s.closing_reason.value} · survey sent: {s.survey_sent}")
        lines.append(f"- **Letters sent:** {', '.join(s.letters_sent) or 'none yet'}")
        workflow.set_current_details("\n".join(lines))

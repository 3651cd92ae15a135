"""The case's coordination of its department reviews (commitment 8): one child workflow per
department and round, more time through the case (the owner of the dates), late and failed
reviews shown to the coordinator and operators, a failed review restarted as a new round."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ChildWorkflowError, TerminatedError

with workflow.unsafe.imports_passed_through():
    from domain import calendar, estimate, reasons, staffing
    from domain.phases import Action
    from schemas import search_attributes as sa
    from schemas.case import CaseState, CaseStatus, Caseworker, RequestReviewTime, RestartReview
    from schemas.intake import Department
    from schemas.letters import LetterKind
    from schemas.life import MoreTimeRequested, NewReviewDeadline, ReviewLate
    from schemas.review import ReviewInput, review_workflow_id
    from workflows.case_desk import CaseDesk
    from workflows.review import DepartmentReviewWorkflow


class Reviews:
    """One child workflow per department and round; the dates they depend on stay here."""

    def __init__(self, desk: CaseDesk) -> None:
        self.desk = desk
        self.children: dict[Department, workflow.ChildWorkflowHandle] = {}
        self.tasks: list[asyncio.Task] = []  # the event loop holds tasks only weakly

    @property
    def state(self) -> CaseState:
        return self.desk.state

    # ------------------------------------------------------------ derived
    def _reviews_to_start(self) -> list[Department]:
        """Departments whose current round has no review running, submitted or failed."""
        s = self.state
        return [
            d
            for d in s.intake.departments
            if d.value not in s.reviews
            and s.running_reviews.get(d.value) != s.review_rounds[d.value]
        ]

    def _all_reviews_in(self) -> bool:
        return all(d.value in self.state.reviews for d in self.state.intake.departments)

    def _review_running(self, department: Department) -> bool:
        s, key = self.state, department.value
        round_ = s.review_rounds[key]
        return (
            key not in s.reviews
            and s.running_reviews.get(key) == round_
            and f"{key}#{round_}" not in s.failed_reviews
        )

    # --------------------------------------------------------------- run
    async def run(self) -> None:
        """Start a review per department that has none, until every review is in."""
        s = self.state
        while s.status == CaseStatus.in_review and self.desk.closing is None:
            for department in self._reviews_to_start():
                s.running_reviews[department.value] = s.review_rounds[department.value]
                self.tasks.append(
                    asyncio.create_task(self._review(department, s.review_rounds[department.value]))
                )
            if self._all_reviews_in():
                await self.desk.set_status(CaseStatus.awaiting_decision)
                await self.desk.record("reviews_complete")
                return
            if not self.desk.v2:
                seen = s.legacy_review_changes
                await workflow.wait_condition(
                    lambda seen=seen: (
                        self.desk.closing is not None
                        or s.status != CaseStatus.in_review
                        or s.legacy_review_changes != seen
                    )
                )
                continue
            await workflow.wait_condition(
                lambda: (
                    self.desk.closing is not None
                    or s.status != CaseStatus.in_review
                    or self._all_reviews_in()
                    or bool(self._reviews_to_start())
                )
            )

    async def _review(self, department: Department, round_: int) -> None:
        """One department's review as a child workflow; its result joins the case."""
        assert self.desk.setup is not None and self.state.caseworker is not None
        officer = self._officer_for(department)
        deadline_day = estimate.review_deadline(
            self.desk.agreed(),
            self.desk.setup.review_working_days_before,
            self.desk.setup.closing_days,
        )
        deadline = calendar.end_of_day(deadline_day)
        self.state.review_deadlines[department.value] = deadline
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
                reminder_at=self.desk.reminder_before(deadline_day),
                facts=self.desk.facts(),
            ),
            id=review_workflow_id(self.state.case_id, department, round_),
        )
        self.children[department] = handle
        await self.desk.record(
            "review_started", department=department.value, round=round_, officer_id=officer.id
        )
        try:
            result = await handle
        except ChildWorkflowError as err:
            if self.desk.closing is not None:
                return  # cancelled because the case closed
            await self._review_failed(department, round_, err)
            return
        except asyncio.CancelledError:
            return
        if self.state.review_rounds[department.value] == round_ and self.desk.closing is None:
            self.state.reviews[department.value] = result
            self.state.legacy_review_changes += 1
            await self.desk.record(
                "review_submitted",
                department=department.value,
                round=round_,
                outcome=result.outcome.value,
                late=result.late,
            )

    def _officer_for(self, department: Department) -> Caseworker:
        """The department's officer, or the coordinator when the department has no one."""
        officer = staffing.officer_for(self.desk.roster().values(), department)
        assert self.state.caseworker is not None
        return officer or self.state.caseworker

    async def _review_failed(
        self, department: Department, round_: int, err: ChildWorkflowError
    ) -> None:
        """A review that failed, timed out or was terminated: the coordinator is told, the case
        shows it, and an officer can restart it (`restart_review`); the case never hangs."""
        s, key = self.state, f"{department.value}#{round_}"
        how = "terminated" if isinstance(err.cause, TerminatedError) else "failed"
        s.failed_reviews.append(key)
        self.desk.needs_attention(
            f"review {key} {how}: restart it with restart_review "
            f"(starter.py restart-review {s.intake.reference} {department.value})"
        )
        await self.desk.record("review_failed", department=department.value, round=round_, how=how)
        assert s.caseworker is not None
        await self.desk.send(
            LetterKind.review_failed,
            f"review-{department.value}-{round_}-failed",
            [s.caseworker.email],
            department=department,
        )

    # ------------------------------------------------------ restart a review
    async def restart_review(self, request: RestartReview | None = None) -> CaseState:
        """Start a failed or terminated review again, as the department's next round."""
        self.desk.require(request, "RestartReview {department}")
        assert request is not None
        self._check_restart(request)
        s, key = self.state, request.department.value
        s.failed_reviews.remove(f"{key}#{s.review_rounds[key]}")
        s.review_rounds[key] += 1
        s.attention = [a for a in s.attention if not a.startswith(f"review {key}#")]
        if not s.attention:
            workflow.upsert_search_attributes([sa.NEEDS_ATTENTION.value_set(False)])
        await self.desk.record("review_restarted", department=key, round=s.review_rounds[key])
        return s

    def validate_restart_review(self, request: RestartReview | None = None) -> None:
        self.desk.require(request, "RestartReview {department}")
        assert request is not None
        self._check_restart(request)

    def _check_restart(self, request: RestartReview) -> None:
        self.desk.check_not_closing()
        self.desk.check(Action.restart_review)
        s, key = self.state, request.department.value
        self._check_department(request.department)
        if f"{key}#{s.review_rounds[key]}" not in s.failed_reviews:
            raise ApplicationError(
                f"The {key} review (round {s.review_rounds[key]}) has not failed, so there is "
                "nothing to restart; see its state with starter.py show <reference>.",
                type="ReviewNotFailed",
            )

    def _check_department(self, department: Department) -> None:
        involved = self.state.intake.departments
        if department not in involved:
            raise ApplicationError(
                f"The case does not involve {department.value}; it involves "
                f"{', '.join(d.value for d in involved)}.",
                type="UnknownDepartment",
            )

    # ---------------------------------------------------------- more time
    async def request_more_time(
        self, request: RequestReviewTime | None = None
    ) -> NewReviewDeadline:
        """A department's officer asks the case for more time: the case moves the review's
        deadline and the agreed date, tells the company why, and tells the review."""
        self.desk.require(request, "RequestReviewTime {department, working_days, reason}")
        assert request is not None
        self._check_more_time(request)
        department = request.department
        return await self._grant_more_time(
            department,
            self.state.review_rounds[department.value],
            request.working_days,
            request.reason,
        )

    def validate_request_more_time(self, request: RequestReviewTime | None = None) -> None:
        self.desk.require(request, "RequestReviewTime {department, working_days, reason}")
        assert request is not None
        self._check_more_time(request)

    def _check_more_time(self, request: RequestReviewTime) -> None:
        self.desk.check_not_closing()
        self._check_department(request.department)
        s, key = self.state, request.department.value
        if key in s.reviews:
            done = s.reviews[key]
            raise ApplicationError(
                f"The {key} review (round {done.round}) is already submitted "
                f"({done.outcome.value}); more time is only for a review still open. "
                "A project change re-opens it.",
                type="ReviewAlreadySubmitted",
            )
        self.desk.check(Action.request_more_time)
        if not self._review_running(request.department) or request.department not in self.children:
            raise ApplicationError(
                f"The {key} review is not running (the case is "
                f"{s.status.value.replace('_', ' ')}); more time can be given to a running review.",
                type="ReviewNotRunning",
            )

    async def _grant_more_time(
        self, department: Department, round_: int, working_days: int, reason: str
    ) -> NewReviewDeadline:
        assert self.desk.setup is not None
        s, closing_days = self.state, self.desk.setup.closing_days
        old_deadline = calendar.local_date(s.review_deadlines[department.value])
        new_deadline = calendar.add_working_days(old_deadline, working_days, closing_days)
        s.review_deadlines[department.value] = calendar.end_of_day(new_deadline)
        await self.desk.record(
            "more_time_granted",
            department=department.value,
            working_days=working_days,
            reason=reason,
        )
        await self.desk.change_agreed_date(
            estimate.move_date(self.desk.agreed(), working_days, closing_days),
            reasons.more_time(department, reason, working_days),
        )
        moved = NewReviewDeadline(
            review_deadline=s.review_deadlines[department.value],
            reminder_at=self.desk.reminder_before(new_deadline),
        )
        await self.children[department].signal(DepartmentReviewWorkflow.new_review_deadline, moved)
        return moved

    async def more_time_requested(self, request: MoreTimeRequested) -> None:
        """Kept for reviews started before issue 7, which asked their case by signal."""
        department = request.department
        if self.desk.closing is not None or self.state.running_reviews.get(department.value) != (
            request.round
        ):
            return
        await self._grant_more_time(department, request.round, request.working_days, request.reason)

    async def review_late(self, late: ReviewLate) -> None:
        """From a department's review: its deadline passed. Counted, and visible in the UI."""
        self.state.late_reviews.append(f"{late.department.value}#{late.round}")
        workflow.upsert_search_attributes([sa.REVIEW_LATE.value_set(True)])
        await self.desk.record("review_late", department=late.department.value, round=late.round)

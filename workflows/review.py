"""One department's review of a case: a child workflow of the case, one per department and
round (`case-<reference>-review-<department>-<round>`).

The department's officer submits the review (`submit_review`) or asks for more time
(`request_more_time`; the case's coordinator decides the new dates and signals them back).
A reminder goes to the officer at the end of the working day before the internal review
deadline; when the deadline passes, the case is told (it counts the lateness), the
coordinator gets an escalation, and the review shows `ReviewLate` in the Temporal UI.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import calendar
    from schemas import search_attributes as sa
    from schemas.letters import LetterKind
    from schemas.life import (
        MoreTimeRequested,
        NewReviewDeadline,
        RequestMoreTime,
        ReviewLate,
        ReviewResult,
        SubmitReview,
    )
    from schemas.review import ReviewInput
    from workflows.letters import send_letter
    from workflows.timers import until


@workflow.defn(name="DepartmentReviewWorkflow")
class DepartmentReviewWorkflow:
    @workflow.init
    def __init__(self, review: ReviewInput) -> None:
        self.review = review
        self.deadline = review.review_deadline
        self.reminder_at = review.reminder_at
        # every (deadline, reminder) the review has had; the waits watch the latest one
        self.deadlines: list[NewReviewDeadline] = [
            NewReviewDeadline(
                review_deadline=review.review_deadline, reminder_at=review.reminder_at
            )
        ]
        self.result: ReviewResult | None = None
        self.late = False

    @workflow.run
    async def run(self, review: ReviewInput) -> ReviewResult:
        workflow.upsert_search_attributes(
            [
                sa.DEPARTMENTS.value_set([review.department.value]),
                sa.CASE_STATUS.value_set("review_open"),
                sa.REVIEW_LATE.value_set(False),
            ]
        )
        self._show()
        reminded = -1
        while self.result is None:
            version = self.version
            if reminded != version:
                if await self._interrupted_before(self.reminder_at, version):
                    continue
                reminded = version
                await self._letter(LetterKind.review_reminder, "reminder", review.officer_email)
            if not self.late:
                if await self._interrupted_before(self.deadline, version):
                    continue
                await self._became_late()
            await workflow.wait_condition(
                lambda version=version: self.result is not None or self.version != version
            )
        workflow.upsert_search_attributes([sa.CASE_STATUS.value_set("review_submitted")])
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.result

    async def _interrupted_before(self, instant: datetime, version: int) -> bool:
        """Wait until *instant*; True if the review came in or the deadline moved first."""
        return await until(instant, lambda: self.result is not None or self.version != version)

    async def _became_late(self) -> None:
        self.late = True
        workflow.upsert_search_attributes([sa.REVIEW_LATE.value_set(True)])
        self._show()
        parent = workflow.get_external_workflow_handle(self.review.case_id)
        await parent.signal(
            "review_late", ReviewLate(department=self.review.department, round=self.review.round)
        )
        await self._letter(
            LetterKind.review_escalation, "escalation", self.review.coordinator_email
        )

    async def _letter(self, kind: LetterKind, what: str, to: str) -> None:
        r = self.review
        facts = r.facts.model_copy(
            update={"department": r.department, "review_deadline": self.deadline}
        )
        key = f"review-{r.department.value}-{r.round}-{what}-{self.version}"
        await send_letter(r.case_id, kind, key, [to], facts)

    # ---------------------------------------------------------------- officer
    @workflow.update
    async def submit_review(self, submission: SubmitReview) -> ReviewResult:
        self.result = ReviewResult(
            department=self.review.department,
            round=self.review.round,
            officer_id=self.review.officer_id,
            outcome=submission.outcome,
            text=submission.text,
            conditions=submission.conditions,
            submitted_at=workflow.now(),
            late=workflow.now() > self.deadline,
        )
        self._show()
        return self.result

    @submit_review.validator
    def validate_submit_review(self, submission: SubmitReview) -> None:
        self._ensure_unsubmitted()

    @workflow.update
    async def request_more_time(self, request: RequestMoreTime) -> NewReviewDeadline:
        """Ask the coordinator for more time; returns the new review deadline it decided."""
        version = self.version
        parent = workflow.get_external_workflow_handle(self.review.case_id)
        await parent.signal(
            "more_time_requested",
            MoreTimeRequested(
                department=self.review.department,
                round=self.review.round,
                working_days=request.working_days,
                reason=request.reason,
            ),
        )
        await workflow.wait_condition(lambda: self.version != version)
        return NewReviewDeadline(review_deadline=self.deadline, reminder_at=self.reminder_at)

    @request_more_time.validator
    def validate_request_more_time(self, request: RequestMoreTime) -> None:
        self._ensure_unsubmitted()

    def _ensure_unsubmitted(self) -> None:
        if self.result is not None:
            raise ApplicationError(
                f"The {self.review.department.value} review (round {self.review.round}) was "
                f"already submitted ({self.result.outcome.value}).",
                type="ReviewAlreadySubmitted",
            )

    @workflow.signal
    def new_review_deadline(self, moved: NewReviewDeadline) -> None:
        """From the coordinator: the review deadline moved (more time, or a new agreed date)."""
        self.deadline = moved.review_deadline
        self.reminder_at = moved.reminder_at
        self.deadlines.append(moved)
        if self.late and workflow.now() < self.deadline:
            self.late = False
            workflow.upsert_search_attributes([sa.REVIEW_LATE.value_set(False)])
        self._show()

    @property
    def version(self) -> int:
        """How many times the coordinator has moved the deadline (derived, never bumped)."""
        return len(self.deadlines) - 1

    @workflow.query
    def review_deadline(self) -> datetime:
        return self.deadline

    def _show(self) -> None:
        r = self.review
        deadline = self.deadline.astimezone(calendar.COPENHAGEN)
        outcome = self.result.outcome.value.replace("_", " ") if self.result else "waiting"
        workflow.set_current_details(
            f"### Review: {r.department.value} · case {r.facts.reference} · round {r.round}\n"
            f"- **Officer:** `{r.officer_id}`\n"
            f"- **Review deadline:** {deadline:%Y-%m-%d %H:%M} Europe/Copenhagen\n"
            f"- **Late:** {'YES' if self.late else 'no'}\n"
            f"- **Outcome:** {outcome}"
        )

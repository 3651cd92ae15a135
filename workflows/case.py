"""The case workflow: one durable workflow per business case, from receipt to closing.

It orchestrates only: rules come from `domain`, I/O happens in `activities`, and each
department's review is a child workflow (`workflows/review.py`). The case's state is one model
on its desk (`case_desk.CaseDesk`); the parts of the case are components that act through the
desk: first contact, material, meetings, reviews and closing. This class is their face to
Temporal: it declares every update, signal and query and hands each to its component.

Phases (`CaseStatus`): awaiting_caseworker / contact_overdue -> (first contact) ->
awaiting_material <-> in_review -> awaiting_decision -> closed. Cases started before the
case life existed (issue 3) stop after first contact: see `LIFE_PATCH`.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import calendar, material
    from domain.sanity import SanityError, check_received_at
    from schemas import search_attributes as sa
    from schemas.case import (
        AssignCaseworker,
        AssignmentResult,
        CaseState,
        CaseStatus,
        RequestReviewTime,
        RestartReview,
    )
    from schemas.intake import CaseIntake
    from schemas.letters import LetterKind
    from schemas.life import (
        AnswerNbeOffer,
        BookPreDialogue,
        CancelPreDialogue,
        ChangeSustainabilityLevel,
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
    from workflows.case_closing import Closing
    from workflows.case_contact import FirstContact
    from workflows.case_desk import (
        CONTACT_DELIVERED_PATCH,
        CORE_V2_PATCH,
        LIFE_PATCH,
        LOCAL_RECORDS_PATCH,
        LOCAL_SETUP_PATCH,
        CaseDesk,
    )
    from workflows.case_material import Material
    from workflows.case_meetings import BOOKING_PATCH, Meetings
    from workflows.case_reviews import Reviews


@workflow.defn(name="CaseWorkflow")
class CaseWorkflow:
    @workflow.init
    def __init__(self, intake: CaseIntake) -> None:
        v2 = workflow.patched(CORE_V2_PATCH)
        self.desk = CaseDesk(
            CaseState(
                case_id=workflow.info().workflow_id,
                intake=intake,
                contact_deadline=calendar.contact_deadline(intake.received_at),
                contact_reminder_at=calendar.contact_reminder_at(intake.received_at),
                sustainability_level=intake.sustainability_level or 1,
                required_material=material.required_material(intake.case_type, intake.departments),
                review_rounds={d.value: 1 for d in intake.departments},
                core_version=2 if v2 else 1,
                contact_by_delivery=v2 and workflow.patched(CONTACT_DELIVERED_PATCH),
            )
        )
        if intake.pre_dialogue_wished:
            self.desk.state.pre_dialogues.append(
                PreDialogue(topic=PreDialogueTopic.general, requested_at=intake.received_at)
            )
        self.desk.local_records = v2 and workflow.patched(LOCAL_RECORDS_PATCH)
        self.desk.local_setup = self.desk.local_records and workflow.patched(LOCAL_SETUP_PATCH)
        self.contact = FirstContact(self.desk)
        self.material = Material(self.desk)
        self.meetings = Meetings(self.desk)
        self.reviews = Reviews(self.desk)
        self.closing = Closing(self.desk, self.meetings, self.reviews)

    @workflow.run
    async def run(self, intake: CaseIntake) -> CaseState:
        desk, state = self.desk, self.desk.state
        if desk.v2:
            try:  # the clock's check the schema cannot make (received in the future)
                check_received_at(intake.received_at, workflow.now())
            except SanityError as err:
                raise ApplicationError(
                    f"Invalid CaseIntake: {err}", type="InvalidInput", non_retryable=True
                ) from None
        desk.setup = await desk.load_setup()
        closing_days = desk.setup.closing_days
        state.contact_deadline = calendar.contact_deadline(intake.received_at, closing_days)
        state.contact_reminder_at = calendar.contact_reminder_at(intake.received_at, closing_days)
        workflow.upsert_search_attributes(
            [
                sa.CASE_TYPE.value_set(intake.case_type.value),
                sa.DEPARTMENTS.value_set([d.value for d in intake.departments]),
                sa.CASE_STATUS.value_set(state.status.value),
                sa.CONTACT_DEADLINE.value_set(state.contact_deadline),
                sa.CONTACT_BREACHED.value_set(False),
            ]
        )
        await desk.record(
            "case_received",
            case_type=intake.case_type.value,
            departments=",".join(d.value for d in intake.departments),
            contact_deadline=state.contact_deadline.isoformat(),
        )
        if intake.pre_dialogue_booking and workflow.patched(BOOKING_PATCH):
            await self.meetings.adopt_booking(intake.pre_dialogue_booking)
        if desk.v2:
            # The letters' sender and the contact deadline run from receipt, whatever
            # happens to any letter.
            desk.spawn("the letter sender", desk.post_letters)
            desk.spawn("the contact deadline", self.contact.watch_deadline)
        await desk.send(LetterKind.receipt, "receipt", [intake.contact.email])
        state.receipt_sent = True
        desk.show()
        if not desk.v2:
            await self.contact.watch_deadline()
        if not workflow.patched(LIFE_PATCH):
            await workflow.wait_condition(lambda: False)  # a case from before issue 4
        await workflow.wait_condition(
            lambda: state.contacted_at is not None or desk.closing is not None
        )
        await self._life()
        if desk.outbox:
            await desk.letters_sent()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return state

    async def _life(self) -> None:
        """From first contact to closing: material, reviews, the decision, the survey."""
        desk, state = self.desk, self.desk.state
        reminders = desk.spawn("the meeting reminders", self.meetings.send_reminders)
        if desk.closing is None and state.sustainability_level >= 3:
            await self.meetings.offer_nbe()
        while desk.closing is None:
            status = state.status
            if status == CaseStatus.awaiting_material:
                await self.closing.await_material()
            elif status == CaseStatus.in_review:
                await self.reviews.run()
            else:  # awaiting_decision: the caseworker issues it, or something re-opens
                await workflow.wait_condition(
                    lambda status=status: desk.closing is not None or state.status != status
                )
        reminders.cancel()
        await self.closing.close()

    # ----------------------------------------------------- first contact
    @workflow.update
    async def assign_caseworker(self, request: AssignCaseworker | None = None) -> AssignmentResult:
        """Make a caseworker process-responsible (or hand the case over) and tell the company."""
        return await self.contact.assign_caseworker(request)

    @assign_caseworker.validator
    def validate_assign_caseworker(self, request: AssignCaseworker | None = None) -> None:
        self.contact.validate_assign_caseworker(request)

    @workflow.update
    async def refresh_roster(self) -> list[str]:
        """Re-read the caseworker directory: staff who joined or left since the case started."""
        return await self.contact.refresh_roster()

    @refresh_roster.validator
    def validate_refresh_roster(self) -> None:
        self.contact.validate_refresh_roster()

    # ---------------------------------------------------------- material
    @workflow.update
    async def report_material(self, report: ReportMaterial | None = None) -> MaterialStatus:
        """Material received; the company is told what is still missing (or that it is complete)."""
        return await self.material.report_material(report)

    @report_material.validator
    def validate_report_material(self, report: ReportMaterial | None = None) -> None:
        self.material.validate_report_material(report)

    @workflow.update
    async def report_project_change(self, change: ProjectChange | None = None) -> CaseState:
        """A project change: material again, re-opened reviews, and maybe a later date."""
        return await self.material.report_project_change(change)

    @report_project_change.validator
    def validate_report_project_change(self, change: ProjectChange | None = None) -> None:
        self.material.validate_report_project_change(change)

    # ---------------------------------------- pre-dialogue, sustainability
    @workflow.update
    async def request_pre_dialogue(self, request: RequestPreDialogue | None = None) -> PreDialogue:
        return await self.meetings.request_pre_dialogue(request)

    @request_pre_dialogue.validator
    def validate_request_pre_dialogue(self, request: RequestPreDialogue | None = None) -> None:
        self.meetings.validate_request_pre_dialogue(request)

    @workflow.update
    async def book_pre_dialogue(self, booking: BookPreDialogue | None = None) -> PreDialogue:
        """The caseworker books (or moves) the meeting; both sides get a confirmation."""
        return await self.meetings.book_pre_dialogue(booking)

    @book_pre_dialogue.validator
    def validate_book_pre_dialogue(self, booking: BookPreDialogue | None = None) -> None:
        self.meetings.validate_book_pre_dialogue(booking)

    @workflow.update
    async def cancel_pre_dialogue(self, request: CancelPreDialogue | None = None) -> PreDialogue:
        return await self.meetings.cancel_pre_dialogue(request)

    @cancel_pre_dialogue.validator
    def validate_cancel_pre_dialogue(self, request: CancelPreDialogue | None = None) -> None:
        self.meetings.validate_cancel_pre_dialogue(request)

    @workflow.update
    async def record_pre_dialogue_held(self, held: PreDialogueHeld | None = None) -> PreDialogue:
        return await self.meetings.record_pre_dialogue_held(held)

    @record_pre_dialogue_held.validator
    def validate_record_pre_dialogue_held(self, held: PreDialogueHeld | None = None) -> None:
        self.meetings.validate_record_pre_dialogue_held(held)

    @workflow.update
    async def change_sustainability_level(
        self, change: ChangeSustainabilityLevel | None = None
    ) -> CaseState:
        return await self.meetings.change_sustainability_level(change)

    @change_sustainability_level.validator
    def validate_change_sustainability_level(
        self, change: ChangeSustainabilityLevel | None = None
    ) -> None:
        self.meetings.validate_change_sustainability_level(change)

    @workflow.update
    async def answer_nbe_offer(self, answer: AnswerNbeOffer | None = None) -> CaseState:
        return await self.meetings.answer_nbe_offer(answer)

    @answer_nbe_offer.validator
    def validate_answer_nbe_offer(self, answer: AnswerNbeOffer | None = None) -> None:
        self.meetings.validate_answer_nbe_offer(answer)

    # ----------------------------------------------------------- reviews
    @workflow.update
    async def request_more_time(
        self, request: RequestReviewTime | None = None
    ) -> NewReviewDeadline:
        """A department needs more time: the case moves the review's deadline and the agreed
        date, tells the company why, and tells the review."""
        return await self.reviews.request_more_time(request)

    @request_more_time.validator
    def validate_request_more_time(self, request: RequestReviewTime | None = None) -> None:
        self.reviews.validate_request_more_time(request)

    @workflow.update
    async def restart_review(self, request: RestartReview | None = None) -> CaseState:
        """Start a failed or terminated review again, as the department's next round."""
        return await self.reviews.restart_review(request)

    @restart_review.validator
    def validate_restart_review(self, request: RestartReview | None = None) -> None:
        self.reviews.validate_restart_review(request)

    @workflow.signal
    async def more_time_requested(self, request: MoreTimeRequested) -> None:
        """Kept for reviews started before issue 7, which asked their case by signal."""
        await self.reviews.more_time_requested(request)

    @workflow.signal
    async def review_late(self, late: ReviewLate) -> None:
        """From a department's review: its deadline passed. Counted, and visible in the UI."""
        await self.reviews.review_late(late)

    # ---------------------------------------------- decision and closing
    @workflow.update
    async def issue_decision(self, decision: IssueDecision | None = None) -> CaseState:
        """ONE coordinated decision combining every department's review, with complaint guidance."""
        return await self.closing.issue_decision(decision)

    @issue_decision.validator
    def validate_issue_decision(self, decision: IssueDecision | None = None) -> None:
        self.closing.validate_issue_decision(decision)

    @workflow.update
    async def withdraw(self, request: Withdraw | None = None) -> CaseState:
        """The company withdraws the case."""
        return await self.closing.withdraw(request)

    @withdraw.validator
    def validate_withdraw(self, request: Withdraw | None = None) -> None:
        self.closing.validate_withdraw(request)

    @workflow.update
    async def dismiss(self, request: Dismiss | None = None) -> CaseState:
        """The caseworker dismisses the case as incomplete (after the warning went out)."""
        return await self.closing.dismiss(request)

    @dismiss.validator
    def validate_dismiss(self, request: Dismiss | None = None) -> None:
        self.closing.validate_dismiss(request)

    # ------------------------------------------------------------- query
    @workflow.query(name="state")
    def get_state(self) -> CaseState:
        return self.desk.state

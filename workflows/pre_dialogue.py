"""The pre-dialogue booked before any application (commitment 3): one workflow per booking,
id ``pre-dialogue-<booking id>`` (random; no personal data in ids or search attributes).

It confirms the meeting to the company and to the caseworker (each letter with a calendar
invitation), reminds both at 09:00 the working day before (the same rule as a case's meetings,
`domain.deadlines.pre_dialogue_reminder_at`; no reminder when the booking was made after that
instant), lets either side move or cancel it (updates with ids from the caller's request),
records it held (the caseworker, once the meeting has begun) and learns the case that names it
(signal). It closes after held or cancelled, or as lapsed 30 days after a meeting nobody
recorded.

The slot itself is claimed in Postgres by the seam (`booking_api`) before the workflow hears of
a booking or a move: the one-winner claim lives in a unique index, not here.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.booking import BookingActivities
    from domain import deadlines
    from schemas.booking import (
        BookingHeld,
        BookingLetter,
        BookingLetterKind,
        BookingStart,
        BookingState,
        BookingStatus,
        CancelBooking,
        LinkCase,
        MoveBooking,
    )
    from workflows.timers import until

LAPSE_AFTER = timedelta(days=30)
MAIL_TIMEOUT = timedelta(seconds=60)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)


@workflow.defn(name="PreDialogueWorkflow")
class PreDialogueWorkflow:
    @workflow.init
    def __init__(self, start: BookingStart) -> None:
        self.state = BookingState(
            booking_id=start.booking_id,
            request=start.request,
            caseworker=start.caseworker,
            starts_at=start.starts_at,
            ends_at=start.ends_at,
            place=start.place,
            municipality_name=start.municipality_name,
            changed_at=workflow.now(),
        )
        self.closing_days = list(start.closing_days)
        self._queue: list[BookingLetter | None] = []  # None: record the row
        self._sender: asyncio.Task | None = None

    # ---------------------------------------------------------------- the run
    @workflow.run
    async def run(self, start: BookingStart) -> BookingState:
        self._sender = asyncio.create_task(self._send_all())
        self._letters(BookingLetterKind.confirmed)
        while self.state.status == BookingStatus.booked:
            seen = (self.state.status, self.state.sequence)
            changed = lambda seen=seen: (self.state.status, self.state.sequence) != seen
            reminder_at = deadlines.pre_dialogue_reminder_at(
                self.state.starts_at, self.closing_days
            )
            if self.state.reminded_sequence != self.state.sequence:
                if reminder_at <= self.state.changed_at or reminder_at >= self.state.starts_at:
                    self.state.reminded_sequence = self.state.sequence  # too late to remind
                    continue
                if not await until(reminder_at, changed):
                    self.state.reminded_sequence = self.state.sequence
                    self._letters(BookingLetterKind.reminder)
                continue
            if not await until(self.state.ends_at + LAPSE_AFTER, changed):
                self.state.status = BookingStatus.lapsed
                self._record()
        await workflow.wait_condition(lambda: not self._queue and workflow.all_handlers_finished())
        return self.state

    def _letters(self, kind: BookingLetterKind, caseworker_too: bool = True) -> None:
        snapshot = self.state.model_copy(deep=True)
        for side in ("company", "caseworker") if caseworker_too else ("company",):
            key = f"{kind.value}-{self.state.sequence}-{side}"
            self._queue.append(
                BookingLetter(letter_key=key, kind=kind, to=side, state=snapshot)  # type: ignore[arg-type]
            )
        self._record()

    def _record(self) -> None:
        self._queue.append(None)

    async def _send_all(self) -> None:
        """One ordered queue: letters and row writes leave in the order they were decided."""
        while True:
            await workflow.wait_condition(lambda: bool(self._queue))
            item = self._queue[0]
            try:
                if item is None:
                    await workflow.execute_activity_method(
                        BookingActivities.record_booking,
                        self.state.model_copy(deep=True),
                        start_to_close_timeout=MAIL_TIMEOUT,
                        retry_policy=RECORD_RETRY,
                    )
                else:
                    await workflow.execute_activity_method(
                        BookingActivities.send_booking_letter,
                        item,
                        start_to_close_timeout=MAIL_TIMEOUT,
                        retry_policy=RETRY,
                    )
                    self.state.letters_sent.append(item.letter_key)
            except ActivityError:
                key = "record" if item is None else item.letter_key
                workflow.logger.error(
                    "booking step failed permanently",
                    extra={"booking_id": self.state.booking_id, "step": key},
                )
            self._queue.pop(0)

    # ------------------------------------------------------------- the updates
    def _require_booked(self) -> None:
        if self.state.status != BookingStatus.booked:
            raise ApplicationError(
                f"The pre-dialogue {self.state.booking_id} is {self.state.status.value}; it "
                "cannot be changed any more.",
                type="BookingClosed",
            )

    @workflow.update
    async def move(self, move: MoveBooking) -> BookingState:
        self.validate_move(move)
        old = self.state.caseworker
        if old.id != move.caseworker.id:
            # The caseworker handing over gets the meeting out of their calendar.
            gone = self.state.model_copy(deep=True)
            gone.status = BookingStatus.cancelled
            gone.sequence += 1
            gone.cancelled_by = move.by
            self._queue.append(
                BookingLetter(
                    letter_key=f"handed-over-{gone.sequence}-caseworker",
                    kind=BookingLetterKind.cancelled,
                    to="caseworker",
                    state=gone,
                )
            )
        self.state.caseworker = move.caseworker
        self.state.starts_at = move.starts_at
        self.state.ends_at = move.ends_at
        self.state.sequence += 1
        self.state.moved_by = move.by
        self.state.changed_at = workflow.now()
        self._letters(BookingLetterKind.moved)
        return self.state

    @move.validator
    def validate_move(self, move: MoveBooking) -> None:
        self._require_booked()
        if move.starts_at <= workflow.now() or move.ends_at <= move.starts_at:
            raise ApplicationError(
                "The new time must lie in the future and end after it starts.", type="InvalidTime"
            )
        if (
            move.starts_at == self.state.starts_at
            and move.caseworker.id == self.state.caseworker.id
        ):
            raise ApplicationError("The meeting is already at that time.", type="SameTime")

    @workflow.update
    async def cancel(self, cancel: CancelBooking) -> BookingState:
        self.validate_cancel(cancel)
        self.state.status = BookingStatus.cancelled
        self.state.sequence += 1
        self.state.cancelled_by = cancel.by
        self.state.cancel_reason = cancel.reason
        self.state.changed_at = workflow.now()
        self._letters(BookingLetterKind.cancelled)
        return self.state

    @cancel.validator
    def validate_cancel(self, cancel: CancelBooking) -> None:
        self._require_booked()
        if cancel.by == "company" and self.state.starts_at <= workflow.now():
            raise ApplicationError(
                "The meeting has begun; it can no longer be cancelled.", type="MeetingBegun"
            )

    @workflow.update
    async def record_held(self, held: BookingHeld) -> BookingState:
        self.validate_record_held(held)
        self.state.status = BookingStatus.held
        self.state.changed_at = workflow.now()
        self._record()
        return self.state

    @record_held.validator
    def validate_record_held(self, held: BookingHeld) -> None:
        self._require_booked()
        if workflow.now() < self.state.starts_at:
            raise ApplicationError(
                "The meeting has not begun yet; record it held when it has taken place.",
                type="NotYetHeld",
            )

    @workflow.signal
    def case_started(self, link: LinkCase) -> None:
        """A case started naming this booking."""
        self.state.case_reference = link.reference
        self._record()

    @workflow.query
    def get_state(self) -> BookingState:
        return self.state

"""The case's pre-dialogue and sustainability handlers (commitments 3 and 4)."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import deadlines
    from domain.phases import Action
    from domain.sanity import SanityError, check_meeting_time
    from schemas.booking import CaseBookingLink, LinkCase, LinkedBooking, booking_workflow_id
    from schemas.case import CaseState
    from schemas.letters import LetterKind
    from schemas.life import (
        AnswerNbeOffer,
        BookPreDialogue,
        CancelPreDialogue,
        ChangeSustainabilityLevel,
        PreDialogue,
        PreDialogueHeld,
        PreDialogueTopic,
        RequestPreDialogue,
    )
    from workflows.case_desk import DB_TIMEOUT, RETRY, CaseDesk

# booking (issue 8): a case whose intake names a pre-dialogue booked on the website starts with
# it on record. Only such cases take this branch; no earlier history holds the field.
BOOKING_PATCH = "pre-dialogue-booking-v1"


class Meetings:
    """Pre-dialogue: requested by the company, booked by the caseworker, confirmed, reminded,
    moved or cancelled with notice. Sustainability levels 1-3, with the NBE offer at level 3."""

    def __init__(self, desk: CaseDesk) -> None:
        self.desk = desk

    @property
    def state(self) -> CaseState:
        return self.desk.state

    async def request_pre_dialogue(self, request: RequestPreDialogue | None = None) -> PreDialogue:
        self.desk.require(request, "RequestPreDialogue {topic, note}")
        assert request is not None
        meeting = self._pre_dialogue(request.topic, create=True)
        meeting.requested_at = meeting.requested_at or workflow.now()
        await self.desk.record("pre_dialogue_requested", topic=request.topic.value)
        return meeting

    def validate_request_pre_dialogue(self, request: RequestPreDialogue | None = None) -> None:
        self.desk.require(request, "RequestPreDialogue {topic, note}")
        assert request is not None
        self.desk.check_not_closing()
        self.desk.check(Action.request_pre_dialogue)
        self._check_topic(request.topic)

    async def book_pre_dialogue(self, booking: BookPreDialogue | None = None) -> PreDialogue:
        """The caseworker books (or moves) the meeting; both sides get a confirmation."""
        self.desk.require(booking, "BookPreDialogue {topic, at, place or video_link}")
        assert booking is not None
        assert self.state.caseworker is not None
        meeting = self._pre_dialogue(booking.topic, create=True)
        meeting.at = booking.at
        meeting.place = booking.place
        meeting.video_link = str(booking.video_link) if booking.video_link else None
        meeting.bookings += 1
        meeting.cancelled = False
        await self.desk.record(
            "pre_dialogue_booked",
            topic=booking.topic.value,
            at=booking.at.isoformat(),
            bookings=meeting.bookings,
        )
        await self.desk.send(
            LetterKind.pre_dialogue_booked,
            f"pre-dialogue-{booking.topic.value}-booked-{meeting.bookings}",
            [self.state.intake.contact.email, self.state.caseworker.email],
            pre_dialogue=meeting,
        )
        return meeting

    def validate_book_pre_dialogue(self, booking: BookPreDialogue | None = None) -> None:
        self.desk.require(booking, "BookPreDialogue {topic, at, place or video_link}")
        assert booking is not None
        self.desk.check_not_closing()
        self.desk.check(Action.book_pre_dialogue)
        self._check_topic(booking.topic)
        if self.state.caseworker is None:
            raise ApplicationError(
                "Assign the process-responsible caseworker before booking a pre-dialogue.",
                type="NoCaseworker",
            )
        if booking.at <= workflow.now():
            raise ApplicationError(
                "The meeting time must be in the future; give a later time with its UTC offset, "
                "e.g. 2027-03-04T10:00:00+01:00.",
                type="InvalidTime",
            )
        try:
            check_meeting_time(booking.at, self.state.intake.received_at, workflow.now())
        except SanityError as err:
            raise ApplicationError(str(err), type="InvalidTime") from None

    async def cancel_pre_dialogue(self, request: CancelPreDialogue | None = None) -> PreDialogue:
        self.desk.require(request, "CancelPreDialogue {topic, reason}")
        assert request is not None
        assert self.state.caseworker is not None
        meeting = self._pre_dialogue(request.topic)
        meeting.cancelled = True
        await self.desk.record("pre_dialogue_cancelled", topic=request.topic.value)
        await self.desk.send(
            LetterKind.pre_dialogue_cancelled,
            f"pre-dialogue-{request.topic.value}-cancelled-{meeting.bookings}",
            [self.state.intake.contact.email, self.state.caseworker.email],
            pre_dialogue=meeting,
            cancel_reason=request.reason,
        )
        return meeting

    async def cancel_future_meetings(self, reason: str) -> None:
        if self.state.caseworker is None:
            return  # no caseworker, so nothing can have been booked
        for meeting in self.state.pre_dialogues:
            if (
                meeting.at
                and meeting.at > workflow.now()
                and not (meeting.cancelled or meeting.held)
            ):
                meeting.cancelled = True
                await self.desk.record("pre_dialogue_cancelled", topic=meeting.topic.value)
                await self.desk.send(
                    LetterKind.pre_dialogue_cancelled,
                    f"pre-dialogue-{meeting.topic.value}-cancelled-{meeting.bookings}",
                    [self.state.intake.contact.email, self.state.caseworker.email],
                    pre_dialogue=meeting,
                    cancel_reason=reason,
                )

    def validate_cancel_pre_dialogue(self, request: CancelPreDialogue | None = None) -> None:
        self.desk.require(request, "CancelPreDialogue {topic, reason}")
        assert request is not None
        self.desk.check_not_closing()
        self.desk.check(Action.cancel_pre_dialogue)
        self._check_booked(request.topic)

    async def record_pre_dialogue_held(self, held: PreDialogueHeld | None = None) -> PreDialogue:
        self.desk.require(held, "PreDialogueHeld {topic}")
        assert held is not None
        meeting = self._pre_dialogue(held.topic)
        meeting.held = True
        await self.desk.record("pre_dialogue_held", topic=held.topic.value)
        return meeting

    def validate_record_pre_dialogue_held(self, held: PreDialogueHeld | None = None) -> None:
        self.desk.require(held, "PreDialogueHeld {topic}")
        assert held is not None
        self.desk.check_not_closing()
        self.desk.check(Action.record_pre_dialogue_held)
        self._check_booked(held.topic)

    async def adopt_booking(self, booking_id: str) -> None:
        """The pre-dialogue the company booked before applying: linked to the case (its row
        learns the case, the booking workflow is told), and on the case's record as booked or
        held with its time. The booking workflow keeps reminding of it, so the case does not
        (``reminded_booking``). An unknown or cancelled booking is shown to an operator."""
        link = CaseBookingLink(booking_id=booking_id, reference=self.state.intake.reference)
        try:
            linked = await workflow.execute_activity(
                "link_booking_to_case",
                link,
                result_type=LinkedBooking,
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=RETRY,
            )
        except ActivityError:
            self.desk.needs_attention("pre_dialogue_booking_unknown")
            await self.desk.record("pre_dialogue_booking_unknown", booking=booking_id)
            return
        meeting = self._pre_dialogue(linked.topic, create=True)
        meeting.requested_at = meeting.requested_at or self.state.intake.received_at
        meeting.at = linked.starts_at
        meeting.place = linked.place
        meeting.bookings = meeting.reminded_booking = 1
        meeting.held = linked.held
        await self.desk.record(
            "pre_dialogue_linked", booking=booking_id, at=linked.starts_at.isoformat()
        )
        if linked.open:
            try:
                await workflow.get_external_workflow_handle(booking_workflow_id(booking_id)).signal(
                    "case_started", LinkCase(reference=self.state.intake.reference)
                )
            except Exception:  # noqa: BLE001 - the booking has ended: its row holds the link
                workflow.logger.info("booking workflow not told", extra={"booking": booking_id})

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

    def _bookings(self) -> tuple:
        """What the reminders depend on: each meeting's time, booking number and state."""
        return tuple(
            (m.topic, m.at, m.bookings, m.cancelled, m.held, m.reminded_booking)
            for m in self.state.pre_dialogues
            if m.bookings  # a meeting only requested has nothing to remind of
        )

    async def send_reminders(self) -> None:
        """The company's reminder at 09:00 the working day before each booked meeting."""
        assert self.desk.setup is not None
        while True:
            due = [
                (self._pre_dialogue_reminder_at(m), m)
                for m in self.state.pre_dialogues
                if m.at and not m.cancelled and not m.held and m.reminded_booking != m.bookings
            ]
            seen = self._bookings()
            changed = lambda seen=seen: self._bookings() != seen
            if not due:
                await workflow.wait_condition(changed)
                continue
            at, meeting = min(due, key=lambda pair: pair[0])
            if await self.desk.until(at, changed):
                continue
            meeting.reminded_booking = meeting.bookings
            if meeting.at and meeting.at > workflow.now():
                await self.desk.send(
                    LetterKind.pre_dialogue_reminder,
                    f"pre-dialogue-{meeting.topic.value}-reminder-{meeting.bookings}",
                    [self.state.intake.contact.email],
                    pre_dialogue=meeting,
                )

    def _pre_dialogue_reminder_at(self, meeting: PreDialogue) -> datetime:
        assert self.desk.setup is not None and meeting.at is not None
        return deadlines.pre_dialogue_reminder_at(meeting.at, self.desk.setup.closing_days)

    async def change_sustainability_level(
        self, change: ChangeSustainabilityLevel | None = None
    ) -> CaseState:
        self.desk.require(change, "ChangeSustainabilityLevel {level}")
        assert change is not None
        old = self.state.sustainability_level
        self.state.sustainability_level = change.level
        await self.desk.record("sustainability_level_changed", old=old, new=change.level)
        if change.level >= 3 and self.state.contacted_at is not None:
            await self.offer_nbe()
        return self.state

    def validate_change_sustainability_level(
        self, change: ChangeSustainabilityLevel | None = None
    ) -> None:
        self.desk.require(change, "ChangeSustainabilityLevel {level}")
        assert change is not None
        self.desk.check_not_closing()
        self.desk.check(Action.change_sustainability_level)

    async def offer_nbe(self) -> None:
        """Level 3: the offer of membership in NBE, once."""
        if self.state.nbe_offer_sent:
            return
        self.state.nbe_offer_sent = True
        await self.desk.send(LetterKind.nbe_offer, "nbe-offer", [self.state.intake.contact.email])

    async def answer_nbe_offer(self, answer: AnswerNbeOffer | None = None) -> CaseState:
        self.desk.require(answer, "AnswerNbeOffer {accepted}")
        assert answer is not None
        self.state.nbe_accepted = answer.accepted
        await self.desk.record("nbe_offer_answered", accepted=answer.accepted)
        return self.state

    def validate_answer_nbe_offer(self, answer: AnswerNbeOffer | None = None) -> None:
        self.desk.require(answer, "AnswerNbeOffer {accepted}")
        assert answer is not None
        self.desk.check_not_closing()
        self.desk.check(Action.answer_nbe_offer)
        if not self.state.nbe_offer_sent:
            raise ApplicationError(
                "No NBE offer has been sent in this case (sustainability level 3 sends it).",
                type="NoNbeOffer",
            )

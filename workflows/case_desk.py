"""The case's desk: its one state model and the narrow interface its components work through.

All of the case's state lives in one model, `desk.state` (`schemas.case.CaseState`); only the
setup read at start, the child handles, the running tasks and the queue of letters still to
send are kept beside it. The components of the case (first contact, material, meetings,
reviews, closing) each receive the desk and act through it: record (the projection and one
audit event), send (a letter, in order), set the status, move the agreed date, wait for a
time, claim the closing. None of them reaches into another's attributes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import date, datetime, time, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.records import CaseRecord, RecordActivities
    from domain import calendar, deadlines, estimate, material, overview
    from domain.phases import Action, PhaseError, check_allowed
    from schemas import search_attributes as sa
    from schemas.case import (
        CaseEvent,
        CaseSetup,
        CaseState,
        CaseStatus,
        Caseworker,
        projection_of,
    )
    from schemas.letters import LetterFacts, LetterKind
    from schemas.life import (
        ClosingReason,
        DateChange,
    )
    from workflows.letters import refusal, send_letter
    from workflows.timers import until

DB_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
# Every case started from issue 7 on carries this marker: letters go out from one ordered
# queue, the contact deadline runs from receipt, the input is checked against the clock.
CORE_V2_PATCH = "core-v2"
# Cases started before issue 4 replay without this marker and keep their old behaviour.
LIFE_PATCH = "case-life-v1"
# issue 11: the contact promise counts the contact letter's delivery, not the assignment
CONTACT_DELIVERED_PATCH = "contact-delivered-v1"
# A meeting still ahead when the case closes is cancelled, and the company told.
CLOSE_CANCELS_MEETINGS_PATCH = "close-cancels-meetings"
# issue 11: the projection and audit records run as local activities (in the worker that runs
# the workflow task: no round trip through the server, one marker event instead of three
# activity events and a workflow task per record). Records are idempotent, so a local
# activity repeated after a worker dies writes nothing twice.
LOCAL_RECORDS_PATCH = "local-records-v1"
# issue 11: the case's setup (the caseworker directory and calendar settings, read at start
# and when the roster is refreshed) is read by a local activity too: a short read, repeated
# harmlessly, with no round trip through the server. Cases with local records only.
LOCAL_SETUP_PATCH = "local-setup-v1"


class CaseDesk:
    """The case's state and the interface its components record, send and wait through."""

    def __init__(self, state: CaseState) -> None:
        self.state = state
        self.setup: CaseSetup | None = None  # read by an activity in the case's first second
        self.outbox: deque[tuple[LetterKind, str, list[str], LetterFacts]] = deque()
        self.tasks: list[asyncio.Task] = []
        self.local_records = False  # set at start: workflow.patched(LOCAL_RECORDS_PATCH)
        self.local_setup = False  # set at start: workflow.patched(LOCAL_SETUP_PATCH)

    @property
    def v2(self) -> bool:
        return self.state.core_version >= 2

    # ------------------------------------------------------------ closing
    @property
    def closing(self) -> ClosingReason | None:
        """The way out the case is taking *now*: a decision counts once its letter is queued
        (the decision must reach the company before the closing letters)."""
        s = self.state
        if s.closing == ClosingReason.decided and not s.decision_issued:
            return None
        return s.closing

    def claim_closing(self, reason: ClosingReason, note: str = "") -> None:
        """The first decision, withdrawal or dismissal to be accepted closes the way in."""
        if self.state.closing is not None:
            raise self.closing_error()
        self.state.closing, self.state.closing_note = reason, note

    def check_not_closing(self) -> None:
        if self.state.closing is not None:
            raise self.closing_error()

    def closing_error(self) -> ApplicationError:
        how = {
            ClosingReason.decided: "the decision has been issued",
            ClosingReason.withdrawn: "the company has withdrawn it",
            ClosingReason.dismissed_incomplete: "it has been dismissed as incomplete",
        }[self.state.closing]  # type: ignore[index]
        if self.state.closing == ClosingReason.decided:
            return ApplicationError(
                f"The case is closing: {how}. Nothing more can be done on it.",
                type="AlreadyDecided",
            )
        return ApplicationError(
            f"The case is closing: {how}. Nothing more can be done on it.", type="Closing"
        )

    # ---------------------------------------------------------- background
    def spawn(self, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task:
        """Run *work* beside the case's main line (the letter sender, the contact deadline, the
        meeting reminders). If it fails, the case shows it (NeedsAttention, Current details)
        instead of the loop dying silently."""

        async def guarded() -> None:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - shown to operators, never swallowed quietly
                workflow.logger.error(
                    "case background work stopped",
                    extra={
                        "case_id": self.state.case_id,
                        "work": name,
                        "error": type(err).__name__,
                    },
                )
                self.needs_attention(f"{name} stopped ({type(err).__name__}); see the worker log")

        task = asyncio.create_task(guarded())
        self.tasks.append(task)  # the event loop holds tasks only weakly
        return task

    # ------------------------------------------------------------- waiting
    async def until(self, instant: datetime, interrupted) -> bool:
        """Wait until *instant* unless *interrupted()* becomes true first (returns True then)."""
        return await until(instant, interrupted)

    async def ready(self) -> None:
        """Wait for the case's setup and its receipt in the queue (its first second): updates
        wait here, not the caller, and no letter can overtake the receipt."""
        await workflow.wait_condition(lambda: self.setup is not None and self.state.receipt_sent)

    # -------------------------------------------------------------- checks
    def check(self, action: Action) -> None:
        try:
            check_allowed(action, self.state.status)
        except PhaseError as err:
            raise ApplicationError(str(err), type="NotAllowedInPhase") from None

    @staticmethod
    def require(argument: Any, what: str) -> None:
        """An update sent without its argument (e.g. from the Temporal CLI) is rejected by
        name; a malformed one never gets here (schemas/converter.py), nor two arguments
        (workflows/interceptors.py)."""
        if argument is None:
            raise ApplicationError(
                f"The update needs its argument: {what}.",
                type="MissingArgument",
                non_retryable=True,
            )
        if isinstance(argument, dict | list | str | int | float | bool):
            raise ApplicationError(
                f"The update's argument is not {what}.", type="InvalidInput", non_retryable=True
            )

    def roster(self) -> dict[str, Caseworker]:
        assert self.setup is not None
        return {c.id: c for c in self.setup.caseworkers if c.active}

    # --------------------------------------------------- records and status
    async def set_status(self, status: CaseStatus) -> None:
        self.state.status = status
        workflow.upsert_search_attributes([sa.CASE_STATUS.value_set(status.value)])
        await self.record("status_changed", status=status.value)

    def letter_key(self, kind: str) -> str:
        """A fresh key for a letter kind that can be sent several times (material-status-2)."""
        counts = self.state.letter_counts
        counts[kind] = counts.get(kind, 0) + 1
        return f"{kind}-{counts[kind]}"

    async def load_setup(self) -> CaseSetup:
        """The caseworker directory and calendar settings as they are now (records.py)."""
        run = (
            workflow.execute_local_activity_method
            if self.local_setup
            else workflow.execute_activity_method
        )
        return await run(
            RecordActivities.load_case_setup, start_to_close_timeout=DB_TIMEOUT, retry_policy=RETRY
        )

    async def record(self, kind: str, **data: str | int | bool | None) -> None:
        """Write the projection and one audit event (idempotent, one transaction).

        A record Postgres refuses for good does not stop the case: it is shown to operators
        (`NeedsAttention`, Current details) and the case goes on.
        """
        self.state.version += 1
        event = CaseEvent(
            case_id=self.state.case_id,
            seq=self.state.version,
            kind=kind,
            at=workflow.now(),
            data=data,
        )
        self.show()
        record = CaseRecord(
            projection=projection_of(self.state, workflow.now(), [m.code for m in self.missing()]),
            events=[event],
        )
        run = (
            workflow.execute_local_activity_method
            if self.local_records
            else workflow.execute_activity_method
        )
        try:
            await run(
                RecordActivities.record_case,
                record,
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=RETRY,
            )
        except (ActivityError, ApplicationError) as err:  # a local activity's own error
            refused = refusal(err)  # arrives unwrapped (no ActivityError around it)
            if refused is None:
                raise
            self.needs_attention(f"record {kind} refused: {refused}")

    def needs_attention(self, why: str) -> None:
        self.state.attention.append(why[:300])
        workflow.upsert_search_attributes([sa.NEEDS_ATTENTION.value_set(True)])
        workflow.logger.warning("case needs attention", extra={"case_id": self.state.case_id})
        self.show()

    # --------------------------------------------------------------- letters
    def facts(self, previous: Caseworker | None = None, **extra) -> LetterFacts:
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
                "missing_material": self.missing(),
                "agreed_date": s.agreed_date,
                "estimate": s.estimate,
                "dismissal_date": s.dismissal_date,
                "closing_reason": self.closing,
                "decision_date": s.decision_date,
                **extra,
            }
        )

    async def send(
        self, kind: LetterKind, key: str, to: list[str], previous: Caseworker | None = None, **extra
    ) -> None:
        """Send a letter once, with the facts as they are now.

        From core v2 the letter joins the case's one queue and this returns at once: letters
        leave in the order they were decided (the receipt before the contact letter), and an
        officer's action does not wait for the mail server. Earlier cases send inline.
        """
        facts = self.facts(previous, **extra)
        if self.v2:  # a copy: the letter says what was true when it was decided
            self.outbox.append((kind, key, list(to), facts.model_copy(deep=True)))
            self.state.letters_queued.append(key)
            return
        await self.deliver(kind, key, to, facts)

    async def post_letters(self) -> None:
        """The queue's sender (core v2): one letter at a time, in order, for the case's life."""
        while True:
            await workflow.wait_condition(lambda: bool(self.outbox))
            await self.deliver(*self.outbox[0])
            self.state.letters_queued.remove(self.outbox.popleft()[1])

    async def letters_sent(self) -> None:
        await workflow.wait_condition(lambda: not self.outbox)

    async def deliver(self, kind: LetterKind, key: str, to: list[str], facts: LetterFacts):
        s = self.state
        refused = await send_letter(
            s.case_id, kind, key, to, facts, self.pending(key) if self.v2 else None
        )
        if key in s.letters_pending:
            s.letters_pending.remove(key)
            workflow.upsert_search_attributes(
                [sa.LETTERS_PENDING.value_set(len(s.letters_pending))]
            )
        if refused is not None:
            if self.v2:
                self.needs_attention(f"letter {key} not sent: {refused}")
            await self.record("letter_failed", letter_key=key, reason=refused)
            return
        s.letters_sent.append(key)
        if key == "contact-letter" and s.contact_by_delivery and s.contact_delivered_at is None:
            s.contact_delivered_at = workflow.now()
        await self.record("letter_sent", letter_key=key, letter_kind=kind.value)

    def pending(self, key: str):
        async def mark() -> None:
            self.state.letters_pending.append(key)
            workflow.upsert_search_attributes(
                [sa.LETTERS_PENDING.value_set(len(self.state.letters_pending))]
            )
            await self.record("letter_pending", letter_key=key)

        return mark

    # ------------------------------------------------------------ the view
    def show(self) -> None:
        """Tell an operator in the Temporal UI where the case stands (markdown, no personal data)."""
        workflow.set_current_details(overview.markdown(self.state))

    def missing(self):
        return material.missing_material(self.state.required_material, self.state.received_material)

    # ------------------------------------------------------- the agreed date
    def agreed(self) -> date:
        assert self.state.agreed_date is not None
        return self.state.agreed_date

    async def change_agreed_date(self, new: date, reason: str | None, notify: bool = True) -> None:
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
        await self.record(
            "agreed_date_set" if old is None else "agreed_date_moved",
            old=old.isoformat() if old else None,
            new=new.isoformat(),
            reason=reason,
        )
        if notify and old is not None:
            await self.send(
                LetterKind.date_changed,
                self.letter_key("date-changed"),
                [s.intake.contact.email],
                previous_agreed_date=old,
                change_reason=reason,
            )

    def estimate(self, complete_on: date):
        assert self.setup is not None
        s = self.state
        return estimate.estimate_decision_date(
            complete_on,
            s.intake.case_type,
            s.history_days,
            s.intake.wished_decision_date,
            self.setup.closing_days,
        )

    def reminder_before(self, day: date) -> datetime:
        assert self.setup is not None
        return deadlines.reminder_before(day, self.setup.closing_days)

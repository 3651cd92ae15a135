"""First contact (commitment 7): the durable contact deadline from receipt, with a reminder and
an escalation, and the process-responsible caseworker assigned once, synchronously, or
handed over by naming whom the new one replaces."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.records import HistoryQuery, RecordActivities
    from domain import calendar, clock
    from domain.phases import Action
    from schemas import search_attributes as sa
    from schemas.case import AssignCaseworker, AssignmentResult, CaseState, CaseStatus
    from schemas.letters import LetterKind
    from workflows.case_desk import DB_TIMEOUT, LIFE_PATCH, RETRY, CaseDesk


def known(roster: dict, shown: int = 12) -> str:
    """The known initials for a rejection, few enough to keep the message short."""
    ids = sorted(roster)
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more


class FirstContact:
    def __init__(self, desk: CaseDesk) -> None:
        self.desk = desk

    @property
    def state(self) -> CaseState:
        return self.desk.state

    async def watch_deadline(self) -> None:
        """Commitment 7: a reminder before the deadline, an escalation when it passes."""
        assert self.desk.setup is not None
        if not await self._contacted_by(self.state.contact_reminder_at):
            await self.desk.send(
                LetterKind.contact_reminder,
                "contact-reminder",
                [self.desk.setup.caseworker_team_email],
            )
            self.state.contact_reminder_sent = True
            await self.desk.record("contact_reminder_sent")
        delivered = self.state.contact_by_delivery
        if not await self._contacted_by(self.state.contact_deadline, delivered=delivered):
            await self._breach_contact_deadline()
            if self.state.caseworker is None:  # else the contact letter is pending: shown
                await self.desk.send(
                    LetterKind.contact_escalation,
                    "contact-escalation",
                    [self.desk.setup.team_lead_email],
                )

    async def _contacted_by(self, instant: datetime, delivered: bool = False) -> bool:
        """Wait until a caseworker is assigned (*delivered*: until the contact letter is
        delivered), or the case closes, or *instant* passes."""
        s = self.state
        if delivered:
            done = lambda: s.contact_delivered_at is not None or self.desk.closing is not None
        else:
            done = lambda: s.caseworker is not None or self.desk.closing is not None
        await self.desk.until(instant, done)
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
        await self.desk.record("contact_deadline_breached")

    # ----------------------------------------------------- first contact
    async def assign_caseworker(self, request: AssignCaseworker | None = None) -> AssignmentResult:
        """Make a caseworker process-responsible and tell the company who it is.

        The first assignment is decided here, synchronously, before any wait: of two officers
        assigning at the same moment, one wins and the other is told who was assigned. A
        reassignment names the caseworker it replaces (`AssignCaseworker.replacing`).
        """
        self.desk.require(request, "AssignCaseworker {caseworker_id, replacing}")
        assert request is not None
        if self.desk.v2:
            if not self.state.receipt_sent:
                await self.desk.ready()
            self._check_assignment(request)  # again, now against the state it will change
        else:
            await workflow.wait_condition(lambda: self.state.receipt_sent)
        assert self.desk.setup is not None
        life = workflow.patched(LIFE_PATCH)
        caseworker = self.desk.roster()[request.caseworker_id]
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
        await self.desk.record(
            "caseworker_reassigned" if previous else "caseworker_assigned",
            caseworker_id=caseworker.id,
            previous_caseworker_id=previous.id if previous else None,
        )
        await self.desk.send(kind, key, [self.state.intake.contact.email], previous=previous)
        if previous is None:
            self.state.contacted_at = workflow.now()
            if self.state.contacted_at > self.state.contact_deadline:
                await self._breach_contact_deadline()
            await self.desk.record(
                "company_contacted", within_deadline=not self.state.contact_breached
            )
            if life:
                await self._after_first_contact()
        return AssignmentResult(
            caseworker=caseworker,
            contacted_at=self.state.contacted_at or workflow.now(),
            within_contact_deadline=not self.state.contact_breached,
            letter_key=key,
            reassignment=previous is not None,
        )

    def validate_assign_caseworker(self, request: AssignCaseworker | None = None) -> None:
        self.desk.require(request, "AssignCaseworker {caseworker_id, replacing}")
        assert request is not None
        if self.desk.setup is None and not self.desk.v2:
            raise ApplicationError(
                "The case is still being registered; try again in a moment.", type="CaseStarting"
            )
        self._check_assignment(request)

    def _check_assignment(self, request: AssignCaseworker) -> None:
        self.desk.check(Action.assign_caseworker)
        self.desk.check_not_closing()
        wanted = request.caseworker_id
        if not wanted:
            raise ApplicationError(
                "caseworker_id is empty: give the caseworker's initials, e.g. 'mkj'.",
                type="InvalidCaseworker",
            )
        if self.desk.setup is None:
            return  # the roster arrives in the case's first second; the handler checks again
        roster = self.desk.roster()
        if wanted not in roster:
            raise ApplicationError(
                f"Unknown caseworker '{wanted}'. Known caseworkers: {known(roster)}. "
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
        if not self.desk.v2:
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

    async def refresh_roster(self) -> list[str]:
        """Re-read the caseworker directory: staff who joined or left since the case started."""
        if not self.state.receipt_sent:
            await self.desk.ready()
        assert self.desk.setup is not None
        fresh = await self.desk.load_setup()
        self.desk.setup = self.desk.setup.model_copy(update={"caseworkers": fresh.caseworkers})
        await self.desk.record("roster_refreshed", caseworkers=len(self.desk.roster()))
        return sorted(self.desk.roster())

    def validate_refresh_roster(self) -> None:
        if self.desk.setup is None and not self.desk.v2:
            raise ApplicationError(
                "The case is still being registered; try again in a moment.", type="CaseStarting"
            )
        if self.state.status == CaseStatus.closed:
            raise ApplicationError(
                "The case is closed; its roster no longer matters.", type="NotAllowedInPhase"
            )

    async def _first_estimate(self) -> None:
        """The expected decision date given at first contact (the agreed date)."""
        assert self.desk.setup is not None
        s = self.state
        s.history_days = await workflow.execute_activity_method(
            RecordActivities.processing_history,
            HistoryQuery(case_type=s.intake.case_type, departments=s.intake.departments),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=RETRY,
        )
        complete_on = calendar.local_date(s.complete_at or workflow.now())
        s.estimate = self.desk.estimate(complete_on)
        await self.desk.change_agreed_date(s.estimate.decision_date, None, notify=False)

    async def _after_first_contact(self) -> None:
        s = self.state
        if self.desk.missing():
            s.waiting_since = workflow.now()
            await self.desk.set_status(CaseStatus.awaiting_material)
        else:  # the material came with the application or before first contact
            assert s.complete_at is not None
            s.clock = clock.start(s.clock, s.complete_at, "fuldt oplyst")
            await self.desk.record("case_complete")
            await self.desk.set_status(CaseStatus.in_review)

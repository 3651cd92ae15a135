"""The case workflow: one durable workflow per business case, from receipt onwards.

It orchestrates only: rules come from `domain`, I/O happens in `activities`. This slice
(issue 3) covers receipt, the 5-working-day contact promise and the process-responsible
caseworker; the later phases of a case continue from the `caseworker_assigned` state.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.letters import LetterActivities
    from activities.records import CaseRecord, RecordActivities
    from domain import calendar
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
    from schemas.intake import CaseIntake
    from schemas.letters import LetterFacts, LetterKind, LetterRequest

DB_TIMEOUT = timedelta(seconds=30)
MAIL_TIMEOUT = timedelta(seconds=60)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


@workflow.defn(name="CaseWorkflow")
class CaseWorkflow:
    @workflow.init
    def __init__(self, intake: CaseIntake) -> None:
        self.setup: CaseSetup | None = None
        self.receipt_sent = False
        self.assignments = 0
        self.state = CaseState(
            case_id=workflow.info().workflow_id,
            intake=intake,
            contact_deadline=calendar.contact_deadline(intake.received_at),
            contact_reminder_at=calendar.contact_reminder_at(intake.received_at),
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

        if not await self._caseworker_assigned_by(self.state.contact_reminder_at):
            await self._send(
                LetterKind.contact_reminder, "contact-reminder", [self.setup.caseworker_team_email]
            )
            self.state.contact_reminder_sent = True
            await self._record("contact_reminder_sent")
        if not await self._caseworker_assigned_by(self.state.contact_deadline):
            await self._breach_contact_deadline()
            await self._send(
                LetterKind.contact_escalation, "contact-escalation", [self.setup.team_lead_email]
            )
        # Later phases (material, processing, decision, closing) continue from here.
        await workflow.wait_condition(lambda: False)
        return self.state  # pragma: no cover - unreachable until the case can close

    async def _caseworker_assigned_by(self, instant) -> bool:
        """Wait until a caseworker is assigned or *instant* passes; True if assigned."""
        remaining = instant - workflow.now()
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(
                    lambda: self.state.caseworker is not None, timeout=remaining
                )
            except TimeoutError:
                pass
        return self.state.caseworker is not None

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

    # ------------------------------------------------------------ officers
    @workflow.update
    async def assign_caseworker(self, request: AssignCaseworker) -> AssignmentResult:
        """Make a caseworker process-responsible and tell the company who it is."""
        await workflow.wait_condition(lambda: self.receipt_sent)
        assert self.setup is not None
        caseworker = self._roster()[request.caseworker_id.lower()]
        previous = self.state.caseworker
        self.assignments += 1
        self.state.caseworker = caseworker
        if previous is None:
            kind, key = LetterKind.contact_letter, "contact-letter"
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

    @workflow.query(name="state")
    def get_state(self) -> CaseState:
        return self.state

    # -------------------------------------------------------------- helpers
    def _roster(self) -> dict[str, Caseworker]:
        assert self.setup is not None
        return {c.id: c for c in self.setup.caseworkers if c.active}

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

    async def _send(
        self, kind: LetterKind, key: str, to: list[str], previous: Caseworker | None = None
    ) -> None:
        """Send a letter once; a permanent refusal is recorded, not fatal to the case."""
        assert self.setup is not None
        facts = LetterFacts.of_case(
            self.state.intake,
            contact_deadline=self.state.contact_deadline,
            municipality_name=self.setup.municipality_name,
            caseworker=self.state.caseworker,
            previous_caseworker=previous,
        )
        request = LetterRequest(
            case_id=self.state.case_id, letter_key=key, kind=kind, to=to, facts=facts
        )
        try:
            await workflow.execute_activity_method(
                LetterActivities.send_letter,
                request,
                start_to_close_timeout=MAIL_TIMEOUT,
                retry_policy=RETRY,
            )
        except ActivityError as err:
            workflow.logger.error(
                "letter not delivered", extra={"case_id": self.state.case_id, "letter_key": key}
            )
            await self._record("letter_failed", letter_key=key, reason=str(err.cause or err))
            return
        self.state.letters_sent.append(key)
        await self._record("letter_sent", letter_key=key, letter_kind=kind.value)

    def _show(self) -> None:
        """Tell an operator in the Temporal UI where the case stands (markdown, no personal data)."""
        s = self.state
        deadline = s.contact_deadline.astimezone(calendar.COPENHAGEN)
        caseworker = f"`{s.caseworker.id}`" if s.caseworker else "not yet assigned"
        met = {None: "waiting", True: "yes", False: "no"}[s.contact_met]
        workflow.set_current_details(
            "\n".join(
                [
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
                    f"- **Letters sent:** {', '.join(s.letters_sent) or 'none yet'}",
                ]
            )
        )

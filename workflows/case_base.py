"""What the case workflow's parts share: its state, the projection and audit trail, letters,
the agreed date, phase checks and the operator's view. Not a workflow itself."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.records import CaseRecord, RecordActivities
    from domain import calendar, clock, estimate, material
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
    from workflows.letters import send_letter

DB_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


class CaseBase:
    """Shared state and helpers of `CaseWorkflow` and its handler groups."""

    setup: CaseSetup | None
    state: CaseState
    closing: ClosingReason | None
    booking_changes: int
    review_changes: int
    letter_counts: dict[str, int]

    async def _until(self, instant: datetime, interrupted) -> bool:
        """Wait until *instant* unless *interrupted()* becomes true first (returns True then)."""
        remaining = instant - workflow.now()
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(interrupted, timeout=remaining)
            except TimeoutError:
                return False
        return interrupted()

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

    def _missing(self):
        return material.missing_material(self.state.required_material, self.state.received_material)

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

    def _reminder_before(self, day: date) -> datetime:
        assert self.setup is not None
        return calendar.end_of_day(calendar.add_working_days(day, -1, self.setup.closing_days))

"""The case's material and project-change handlers (commitments 5 and 6)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import calendar, clock, estimate, material, reasons
    from domain.phases import Action
    from schemas.case import (
        CaseState,
        CaseStatus,
    )
    from schemas.letters import LetterKind
    from schemas.life import (
        MaterialStatus,
        ProjectChange,
        ReportMaterial,
    )
    from workflows.case_desk import CaseDesk


class Material:
    """Material against the checklist, "fuldt oplyst" and the clock; project changes."""

    def __init__(self, desk: CaseDesk) -> None:
        self.desk = desk

    @property
    def state(self) -> CaseState:
        return self.desk.state

    async def report_material(self, report: ReportMaterial | None = None) -> MaterialStatus:
        """Material received; the company is told what is still missing (or that it is complete)."""
        self.desk.require(report, "ReportMaterial {codes}")
        assert report is not None
        s = self.state
        new = [c for c in dict.fromkeys(report.codes) if c not in s.received_material]
        s.received_material.extend(new)
        await self.desk.record("material_received", codes=",".join(new) or None)
        if s.complete_at is None and not self.desk.missing():
            s.complete_at = workflow.now()
        if s.contacted_at is not None:
            if not self.desk.missing() and s.status == CaseStatus.awaiting_material:
                await self._became_complete()
            await self.desk.send(
                LetterKind.material_status,
                self.desk.letter_key("material-status"),
                [s.intake.contact.email],
                received_material=[m for m in s.required_material if m.code in new],
            )
        return self._material_status()

    def validate_report_material(self, report: ReportMaterial | None = None) -> None:
        self.desk.require(report, "ReportMaterial {codes}")
        assert report is not None
        self.desk.check_not_closing()
        self.desk.check(Action.report_material)
        unknown = material.unknown_codes(self.state.required_material, report.codes)
        if unknown:
            raise ApplicationError(
                f"Unknown material for this case: {', '.join(unknown)}. The checklist of this "
                f"case is: {material.describe_codes(self.state.required_material)}.",
                type="UnknownMaterial",
            )

    async def _became_complete(self) -> None:
        """'Fuldt oplyst': the KL clock starts (or restarts); the agreed date follows."""
        assert self.desk.setup is not None
        s, now = self.state, workflow.now()
        if not s.clock:
            s.complete_at = s.complete_at or now
            s.clock = clock.start(s.clock, now, "fuldt oplyst")
            assert s.estimate is not None
            fresh = self.desk.estimate(calendar.local_date(now))
            if fresh.decision_date > self.desk.agreed():
                s.estimate = fresh
                await self.desk.change_agreed_date(
                    fresh.decision_date,
                    reasons.material_complete(calendar.local_date(now), fresh.processing_days),
                )
        else:
            stopped_on = calendar.local_date(s.clock[-1].at)
            s.clock = clock.restart(s.clock, now, "materiale modtaget")
            moved, waited = estimate.after_waiting(
                self.desk.agreed(),
                stopped_on,
                calendar.local_date(now),
                self.desk.setup.closing_days,
            )
            if waited:
                await self.desk.change_agreed_date(moved, reasons.waited_for_material(waited))
        s.waiting_since, s.dismissal_warning_sent, s.dismissal_date = None, False, None
        await self.desk.record("case_complete")
        await self.desk.set_status(CaseStatus.in_review)

    def _material_status(self) -> MaterialStatus:
        s = self.state
        return MaterialStatus(
            received=[m for m in s.required_material if m.code in s.received_material],
            missing=self.desk.missing(),
            complete=not self.desk.missing(),
        )

    async def report_project_change(self, change: ProjectChange | None = None) -> CaseState:
        """A project change: material again, re-opened reviews, and maybe a later date."""
        self.desk.require(change, "ProjectChange {description, departments, new_material}")
        assert change is not None
        if not self.state.receipt_sent:
            await self.desk.ready()
        assert self.desk.setup is not None
        s, now = self.state, workflow.now()
        s.project_changes += 1
        await self.desk.record(
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
                await self.desk.record(
                    "review_reopened",
                    department=department.value,
                    round=s.review_rounds[department.value],
                )
        if reopened:
            s.legacy_review_changes += 1
        if reopened and s.agreed_date is not None:
            moved = estimate.after_reopening(
                s.agreed_date,
                calendar.local_date(now),
                self.desk.setup.reopen_working_days,
                self.desk.setup.closing_days,
            )
            await self.desk.change_agreed_date(moved, reasons.project_change(change.description))
        if change.new_material:
            s.received_material = [c for c in s.received_material if c not in change.new_material]
            if not s.clock:
                s.complete_at = None  # processing never started: "fuldt oplyst" is not reached
            if s.contacted_at is not None and s.status != CaseStatus.awaiting_material:
                if clock.is_running(s.clock):
                    s.clock = clock.stop(s.clock, now, "afventer materiale efter projektændring")
                s.waiting_since = now
                await self.desk.set_status(CaseStatus.awaiting_material)
            if s.contacted_at is not None:
                await self.desk.send(
                    LetterKind.material_status,
                    self.desk.letter_key("material-status"),
                    [s.intake.contact.email],
                )
        elif reopened and s.status == CaseStatus.awaiting_decision:
            await self.desk.set_status(CaseStatus.in_review)
        return s

    def validate_report_project_change(self, change: ProjectChange | None = None) -> None:
        self.desk.require(change, "ProjectChange {description, departments, new_material}")
        assert change is not None
        self.desk.check_not_closing()
        self.desk.check(Action.report_project_change)
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

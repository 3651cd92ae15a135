"""The Python interface for case systems, companies and officers.

`starter.py` is the command line over these functions; a web service would call the same.
Every function validates its input with the schemas and turns Temporal's errors into
`CaseError` with a message a person can act on.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from schemas import life
from schemas.case import AssignCaseworker, AssignmentResult, CaseState
from schemas.errors import describe
from schemas.intake import CaseIntake, Department, case_workflow_id, parse_intake_json
from schemas.review import review_workflow_id
from workflows.case import CaseWorkflow
from workflows.review import DepartmentReviewWorkflow

M = TypeVar("M", bound=BaseModel)
STARTING_RETRIES = 50  # x 0.2 s: a new case reads its setup in well under a second


class CaseError(Exception):
    """A problem the caller can act on; str(error) is the message to show."""


def parse_intake(raw: str | bytes) -> CaseIntake:
    try:
        return parse_intake_json(raw)
    except ValidationError as err:
        raise CaseError(
            f"The case was not started; the intake has errors:\n{describe(err)}"
        ) from None


def build(model: type[M], **fields: Any) -> M:
    """Validate an officer's or company's input (lax: strings from a command line are fine)."""
    try:
        return model.model_validate(fields, strict=False)
    except ValidationError as err:
        raise CaseError(describe(err)) from None


async def start_case(client: Client, intake: CaseIntake, task_queue: str) -> WorkflowHandle:
    """Start the case workflow; a second start with the same reference is rejected."""
    try:
        return await client.start_workflow(
            CaseWorkflow.run,
            intake,
            id=intake.workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        raise CaseError(
            f"A case with reference {intake.reference} already exists "
            f"(workflow id {intake.workflow_id}); it was not started again."
        ) from None


def case_handle(client: Client, reference: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(CaseWorkflow.run, case_workflow_id(reference))


async def get_state(client: Client, reference: str) -> CaseState:
    try:
        return await case_handle(client, reference).query(CaseWorkflow.get_state)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise CaseError(f"No case with reference {reference}.") from None
        raise


async def _update(handle: WorkflowHandle, update, arg, what: str):
    """Execute an update; while the case is still starting (its first seconds), try again."""
    args = [] if arg is None else [arg]
    for attempt in range(STARTING_RETRIES + 1):
        try:
            return await handle.execute_update(update, args=args)
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if not isinstance(cause, ApplicationError):
                raise
            if cause.type == "CaseStarting" and attempt < STARTING_RETRIES:
                await asyncio.sleep(0.2)
                continue
            raise CaseError(f"{what} rejected: {cause.message}") from None
        except RPCError as err:
            if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                raise CaseError(f"{what} rejected: no open case or review {handle.id}.") from None
            raise
    raise AssertionError("unreachable")


async def update_case(client: Client, reference: str, update, arg, what: str):
    """Send one update to a case; a rejection becomes a CaseError naming *what*."""
    return await _update(case_handle(client, reference), update, arg, what)


async def assign_caseworker(client: Client, reference: str, caseworker_id: str) -> AssignmentResult:
    request = build(AssignCaseworker, caseworker_id=caseworker_id)
    return await update_case(
        client, reference, CaseWorkflow.assign_caseworker, request, "Assignment"
    )


async def refresh_roster(client: Client, reference: str) -> list[str]:
    """Let a running case see caseworkers added to (or removed from) the directory."""
    return await update_case(client, reference, CaseWorkflow.refresh_roster, None, "Roster refresh")


async def report_material(client: Client, reference: str, codes: list[str]) -> life.MaterialStatus:
    report = build(life.ReportMaterial, codes=codes)
    return await update_case(client, reference, CaseWorkflow.report_material, report, "Material")


async def report_project_change(client: Client, reference: str, **fields) -> CaseState:
    change = build(life.ProjectChange, **fields)
    return await update_case(
        client, reference, CaseWorkflow.report_project_change, change, "Project change"
    )


async def request_pre_dialogue(client: Client, reference: str, **fields) -> life.PreDialogue:
    request = build(life.RequestPreDialogue, **fields)
    return await update_case(
        client, reference, CaseWorkflow.request_pre_dialogue, request, "Pre-dialogue request"
    )


async def book_pre_dialogue(client: Client, reference: str, **fields) -> life.PreDialogue:
    booking = build(life.BookPreDialogue, **fields)
    return await update_case(
        client, reference, CaseWorkflow.book_pre_dialogue, booking, "Pre-dialogue booking"
    )


async def cancel_pre_dialogue(client: Client, reference: str, **fields) -> life.PreDialogue:
    request = build(life.CancelPreDialogue, **fields)
    return await update_case(
        client, reference, CaseWorkflow.cancel_pre_dialogue, request, "Pre-dialogue cancellation"
    )


async def record_pre_dialogue_held(client: Client, reference: str, **fields) -> life.PreDialogue:
    held = build(life.PreDialogueHeld, **fields)
    return await update_case(
        client, reference, CaseWorkflow.record_pre_dialogue_held, held, "Pre-dialogue held"
    )


async def change_sustainability_level(client: Client, reference: str, level: int) -> CaseState:
    change = build(life.ChangeSustainabilityLevel, level=level)
    return await update_case(
        client, reference, CaseWorkflow.change_sustainability_level, change, "Level change"
    )


async def answer_nbe_offer(client: Client, reference: str, accepted: bool) -> CaseState:
    answer = build(life.AnswerNbeOffer, accepted=accepted)
    return await update_case(client, reference, CaseWorkflow.answer_nbe_offer, answer, "NBE answer")


async def issue_decision(client: Client, reference: str, grounds: str) -> CaseState:
    decision = build(life.IssueDecision, grounds=grounds)
    return await update_case(client, reference, CaseWorkflow.issue_decision, decision, "Decision")


async def withdraw(client: Client, reference: str, reason: str = "") -> CaseState:
    request = build(life.Withdraw, reason=reason)
    return await update_case(client, reference, CaseWorkflow.withdraw, request, "Withdrawal")


async def dismiss(client: Client, reference: str, reason: str) -> CaseState:
    request = build(life.Dismiss, reason=reason)
    return await update_case(client, reference, CaseWorkflow.dismiss, request, "Dismissal")


def review_handle(client: Client, reference: str, department: str, round: int) -> WorkflowHandle:
    dept = build(_Department, department=department).department
    return client.get_workflow_handle_for(
        DepartmentReviewWorkflow.run,
        review_workflow_id(case_workflow_id(reference), dept, round),
    )


class _Department(BaseModel):
    department: Department


async def current_round(client: Client, reference: str, department: str) -> int:
    """The department's open review round; a clear error if there is none to act on."""
    state = await get_state(client, reference)
    if department not in state.review_rounds:
        raise CaseError(
            f"Case {reference} does not involve {department}; it involves "
            f"{', '.join(state.review_rounds)}."
        )
    if department in state.reviews:
        done = state.reviews[department]
        raise CaseError(
            f"The {department} review of case {reference} (round {done.round}) is already "
            f"submitted ({done.outcome.value}); a project change re-opens it."
        )
    if state.status.value not in ("in_review", "awaiting_material") or state.closing_reason:
        raise CaseError(
            f"Case {reference} has no open {department} review; the case is {state.status.value}."
        )
    return state.review_rounds[department]


async def submit_review(
    client: Client, reference: str, department: str, **fields
) -> life.ReviewResult:
    submission = build(life.SubmitReview, **fields)
    round_ = await current_round(client, reference, department)
    return await _update(
        review_handle(client, reference, department, round_),
        DepartmentReviewWorkflow.submit_review,
        submission,
        "Review",
    )


async def request_more_time(
    client: Client, reference: str, department: str, **fields
) -> life.NewReviewDeadline:
    request = build(life.RequestMoreTime, **fields)
    round_ = await current_round(client, reference, department)
    return await _update(
        review_handle(client, reference, department, round_),
        DepartmentReviewWorkflow.request_more_time,
        request,
        "More time",
    )

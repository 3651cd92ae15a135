"""The Python interface for case systems, companies and officers.

`starter.py` is the command line over these functions; a web service would call the same.
Every function validates its input with the schemas and turns Temporal's errors into
`CaseError` with a message a person can act on.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from case_errors import CaseError
from case_records import (  # noqa: F401 - re-exported: the doors' one seam
    SEALED_MARK,
    case_events,
    company_link_state,
    letters_of,
    list_cases,
    material_file,
    material_files,
    record_web_event,
    revoke_company_links,
    staff_directory,
    staff_member,
    staff_member_by_email,
    store_material_file,
    worklist,
)
from db.session import make_engine, make_sessionmaker
from schemas import life
from schemas.case import (
    AssignCaseworker,
    AssignmentResult,
    CaseState,
    RequestReviewTime,
    RestartReview,
)
from schemas.errors import describe
from schemas.intake import CaseIntake, Department, case_workflow_id, parse_intake_json
from schemas.review import review_workflow_id
from sealing import PersonalInputError, Vault
from workflows.case import CaseWorkflow
from workflows.review import DepartmentReviewWorkflow

M = TypeVar("M", bound=BaseModel)
STARTING_RETRIES = 50  # x 0.2 s: cases from before issue 7 answer "CaseStarting" at first
# A transient fault (Temporal restarting, a lost connection) is retried with the same update
# id for up to about two minutes: the first attempt's result comes back, nothing happens twice.
TRANSIENT_RETRIES = 12
TRANSIENT = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.ABORTED,
    RPCStatusCode.INTERNAL,
    RPCStatusCode.UNKNOWN,
}


@asynccontextmanager
async def store(database_url: str) -> AsyncIterator[async_sessionmaker]:
    """The projection's sessions for a door (CLI, web): opened here, so no door imports db."""
    engine = make_engine(database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


def new_request_id() -> str:
    """An id for one officer's or system's request; a retry of that request reuses it."""
    return str(uuid.uuid4())


def parse_intake(raw: str | bytes) -> CaseIntake:
    """The intake of a case system's document, checked against the real clock as well (a case
    cannot be received in the future); a CaseError (kind InvalidInput) lists every problem."""
    try:
        return parse_intake_json(raw, now=datetime.now(UTC))
    except ValidationError as err:
        lines = describe(err).splitlines()
        raise CaseError(
            "The case was not started; the intake has errors:\n" + "\n".join(lines),
            kind="InvalidInput",
            errors=[
                {"field": line.split(": ", 1)[0], "reason": line.split(": ", 1)[-1]}
                for line in lines
            ],
        ) from None


def build(model: type[M], **fields: Any) -> M:
    """Validate an officer's or company's input (lax: strings from a command line are fine)."""
    try:
        return model.model_validate(fields, strict=False)
    except ValidationError as err:
        raise CaseError(describe(err)) from None


def summary(intake: CaseIntake) -> str:
    """The Temporal UI's Summary of a case: what it is, no personal data."""
    departments = ", ".join(d.value for d in intake.departments)
    return (
        f"{intake.case_type.value} · {departments} · received "
        f"{intake.received_at.date().isoformat()}"
    )


def vault(sessions: async_sessionmaker, settings: Any) -> Vault:
    """What seals a case's personal fields going in and opens them coming out (sealing.py)."""
    return Vault(sessions, settings)


async def _sealed(vault: Vault | None, seal) -> Any:
    """Run *seal* (a vault call), turning refused input and lost keys into CaseErrors."""
    from personal import CaseKeyError

    try:
        return await seal()
    except PersonalInputError as err:
        raise CaseError(
            str(err),
            kind="InvalidInput",
            errors=[{"field": str(err).split(":")[0], "reason": str(err)}],
        ) from None
    except CaseKeyError as err:
        raise CaseError(
            f"The personal data of this case cannot be stored: {err}", kind="Erased"
        ) from None


async def start_case(
    client: Client,
    intake: CaseIntake,
    task_queue: str,
    request_id: str | None = None,
    *,
    vault: Vault | None,
) -> WorkflowHandle:
    """Start the case workflow; a second start with the same reference is rejected.

    With a *vault* (every door), the contact person and the project description are sealed
    with the case's data key first, so no history holds them in the clear; ``vault=None``
    starts the case with plain values (tests of the workflow's logic only).

    With *request_id* (a case system's idempotency key, hashed), a start that finds the case
    already started by that same request returns its handle: retries of one request, even
    concurrent ones, start one case. The id is kept in the workflow's memo (no personal data).
    """
    memo = {"request_id": request_id} if request_id else None
    if vault is not None:
        intake = await _sealed(vault, lambda: vault.seal_intake(intake))
    try:
        return await client.start_workflow(
            CaseWorkflow.run,
            intake,
            id=intake.workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=summary(intake),
            memo=memo,
        )
    except WorkflowAlreadyStartedError:
        handle = case_handle(client, intake.reference)
        described = await handle.describe() if request_id else None
        if described is not None and await described.memo_value("request_id", None) == request_id:
            return handle
        raise CaseError(
            f"A case with reference {intake.reference} already exists "
            f"(workflow id {intake.workflow_id}); it was not started again.",
            kind="DuplicateReference",
        ) from None


def case_handle(client: Client, reference: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(CaseWorkflow.run, case_workflow_id(reference))


async def get_state(client: Client, reference: str, vault: Vault | None = None) -> CaseState:
    """The case's live state; with a *vault*, its personal fields opened (or "[slettet]")."""
    try:
        state = await case_handle(client, reference).query(CaseWorkflow.get_state)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise CaseError(f"No case with reference {reference}.") from None
        raise
    return await open_result(vault, reference, state)


async def seal_input(vault: Vault, reference: str, body: M, *fields: str) -> M:
    """A door's input for case *reference* with its personal *fields* sealed."""
    if not fields:
        return body
    case_id = case_workflow_id(reference)
    return await _sealed(vault, lambda: vault.seal_fields(case_id, body, *fields))


async def open_result(vault: Vault | None, reference: str, result: Any) -> Any:
    """A state or an update's result of case *reference* with its personal fields opened
    (as it is without a *vault*)."""
    if vault is None or not isinstance(result, BaseModel):
        return result
    return await vault.open_model(case_workflow_id(reference), result)


async def _update(handle: WorkflowHandle, update, arg, what: str, request_id: str | None = None):
    """Execute an update with an id from the caller's request.

    A transient fault is retried with the *same* id, so a retry returns the first attempt's
    result and nothing happens twice; a failure is never reported for an action that took
    effect. A rejection becomes a `CaseError` naming *what*.
    """
    args = [] if arg is None else [arg]
    update_id = request_id or new_request_id()
    starting = transient = 0
    while True:
        try:
            return await handle.execute_update(update, args=args, id=update_id)
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if not isinstance(cause, ApplicationError):
                raise CaseError(f"{what} rejected: {cause}") from None
            if cause.type == "CaseStarting" and starting < STARTING_RETRIES:
                starting += 1  # a case from before issue 7, in its first second
                update_id = new_request_id()  # a rejected update leaves no trace
                await asyncio.sleep(0.2)
                continue
            raise CaseError(f"{what} rejected: {cause.message}", kind=cause.type) from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            pass  # the update may be running: ask again with the same id
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise CaseError(f"{what} rejected: {await _why_not_found(handle)}") from None
            if err.status == RPCStatusCode.FAILED_PRECONDITION:
                raise CaseError(
                    f"{what} rejected: {handle.id} is closed; nothing more can be done on it."
                ) from None
            if err.status not in TRANSIENT:
                raise
        transient += 1
        if transient > TRANSIENT_RETRIES:
            raise CaseError(
                f"{what}: Temporal did not answer in time. The action may still take effect; "
                f"repeat the same command to see its result (request id {update_id})."
            )
        await asyncio.sleep(min(0.5 * 2**transient, 10.0))


async def _why_not_found(handle: WorkflowHandle) -> str:
    """An update finds no workflow: none was ever started, or it has finished."""
    try:
        description = await handle.describe()
    except RPCError:
        return f"there is no case or review {handle.id}."
    status = description.status.name.lower() if description.status else "finished"
    return f"{handle.id} is {status}; nothing more can be done on it."


async def update_case(
    client: Client, reference: str, update, arg, what: str, request_id: str | None = None
):
    """Send one update to a case; a rejection becomes a CaseError naming *what*."""
    return await _update(case_handle(client, reference), update, arg, what, request_id)


async def assign_caseworker(
    client: Client,
    reference: str,
    caseworker_id: str,
    replacing: str | None = None,
    request_id: str | None = None,
) -> AssignmentResult:
    """Make *caseworker_id* process-responsible; to hand a case over, name whom it *replaces*."""
    request = build(AssignCaseworker, caseworker_id=caseworker_id, replacing=replacing)
    what = "Reassignment" if replacing else "Assignment"
    return await update_case(
        client, reference, CaseWorkflow.assign_caseworker, request, what, request_id
    )


async def refresh_roster(
    client: Client, reference: str, request_id: str | None = None
) -> list[str]:
    """Let a running case see caseworkers added to (or removed from) the directory."""
    return await update_case(
        client, reference, CaseWorkflow.refresh_roster, None, "Roster refresh", request_id
    )


async def report_material(
    client: Client, reference: str, codes: list[str], request_id: str | None = None
) -> life.MaterialStatus:
    report = build(life.ReportMaterial, codes=codes)
    return await update_case(
        client, reference, CaseWorkflow.report_material, report, "Material", request_id
    )


async def report_project_change(
    client: Client,
    reference: str,
    request_id: str | None = None,
    *,
    vault: Vault | None = None,
    **fields,
) -> CaseState:
    change = build(life.ProjectChange, **fields)
    if vault is not None:
        case_id = case_workflow_id(reference)
        change = await _sealed(vault, lambda: vault.seal_fields(case_id, change, "description"))
    state = await update_case(
        client, reference, CaseWorkflow.report_project_change, change, "Project change", request_id
    )
    return await open_result(vault, reference, state)


async def request_pre_dialogue(
    client: Client,
    reference: str,
    request_id: str | None = None,
    *,
    vault: Vault | None = None,
    **fields,
) -> life.PreDialogue:
    request = build(life.RequestPreDialogue, **fields)
    if vault is not None:
        case_id = case_workflow_id(reference)
        request = await _sealed(vault, lambda: vault.seal_fields(case_id, request, "note"))
    return await update_case(
        client,
        reference,
        CaseWorkflow.request_pre_dialogue,
        request,
        "Pre-dialogue request",
        request_id,
    )


async def book_pre_dialogue(
    client: Client, reference: str, request_id: str | None = None, **fields
) -> life.PreDialogue:
    booking = build(life.BookPreDialogue, **fields)
    return await update_case(
        client,
        reference,
        CaseWorkflow.book_pre_dialogue,
        booking,
        "Pre-dialogue booking",
        request_id,
    )


async def cancel_pre_dialogue(
    client: Client, reference: str, request_id: str | None = None, **fields
) -> life.PreDialogue:
    request = build(life.CancelPreDialogue, **fields)
    return await update_case(
        client,
        reference,
        CaseWorkflow.cancel_pre_dialogue,
        request,
        "Pre-dialogue cancellation",
        request_id,
    )


async def record_pre_dialogue_held(
    client: Client, reference: str, request_id: str | None = None, **fields
) -> life.PreDialogue:
    held = build(life.PreDialogueHeld, **fields)
    return await update_case(
        client,
        reference,
        CaseWorkflow.record_pre_dialogue_held,
        held,
        "Pre-dialogue held",
        request_id,
    )


async def change_sustainability_level(
    client: Client, reference: str, level: int, request_id: str | None = None
) -> CaseState:
    change = build(life.ChangeSustainabilityLevel, level=level)
    return await update_case(
        client,
        reference,
        CaseWorkflow.change_sustainability_level,
        change,
        "Level change",
        request_id,
    )


async def answer_nbe_offer(
    client: Client, reference: str, accepted: bool, request_id: str | None = None
) -> CaseState:
    answer = build(life.AnswerNbeOffer, accepted=accepted)
    return await update_case(
        client, reference, CaseWorkflow.answer_nbe_offer, answer, "NBE answer", request_id
    )


async def issue_decision(
    client: Client, reference: str, grounds: str, request_id: str | None = None
) -> CaseState:
    decision = build(life.IssueDecision, grounds=grounds)
    return await update_case(
        client, reference, CaseWorkflow.issue_decision, decision, "Decision", request_id
    )


async def withdraw(
    client: Client,
    reference: str,
    reason: str = "",
    request_id: str | None = None,
    *,
    vault: Vault | None = None,
) -> CaseState:
    request = build(life.Withdraw, reason=reason)
    if vault is not None:
        case_id = case_workflow_id(reference)
        request = await _sealed(vault, lambda: vault.seal_fields(case_id, request, "reason"))
    state = await update_case(
        client, reference, CaseWorkflow.withdraw, request, "Withdrawal", request_id
    )
    return await open_result(vault, reference, state)


async def dismiss(
    client: Client, reference: str, reason: str, request_id: str | None = None
) -> CaseState:
    request = build(life.Dismiss, reason=reason)
    return await update_case(
        client, reference, CaseWorkflow.dismiss, request, "Dismissal", request_id
    )


class _Department(BaseModel):
    department: Department


def department_of(value: Any) -> Department:
    """A department name from any caller, or a CaseError saying which names there are."""
    try:
        return _Department.model_validate({"department": value}).department
    except ValidationError:
        raise CaseError("department: give one of building, environment, fire.") from None


def review_handle(client: Client, reference: str, department: str, round: int) -> WorkflowHandle:
    return client.get_workflow_handle_for(
        DepartmentReviewWorkflow.run,
        review_workflow_id(case_workflow_id(reference), department_of(department), round),
    )


async def current_round(client: Client, reference: str, department: str) -> int:
    """The department's open review round; a clear error, naming the phase, if there is none."""
    dept = department_of(department).value
    state = await get_state(client, reference)
    if state.closing:
        raise CaseError(_no_review_yet(reference, dept, state))
    if dept not in state.review_rounds:
        raise CaseError(
            f"Case {reference} does not involve {dept}; it involves "
            f"{', '.join(state.review_rounds)}."
        )
    if dept in state.reviews:
        done = state.reviews[dept]
        raise CaseError(
            f"The {dept} review of case {reference} (round {done.round}) is already "
            f"submitted ({done.outcome.value}); a project change re-opens it."
        )
    round_ = state.review_rounds[dept]
    if f"{dept}#{round_}" in state.failed_reviews:
        raise CaseError(
            f"The {dept} review of case {reference} (round {round_}) failed or was stopped; "
            f"restart it first: starter.py restart-review {reference} {dept}."
        )
    if state.closing or state.status.value not in ("in_review", "awaiting_material"):
        raise CaseError(_no_review_yet(reference, dept, state))
    if state.running_reviews.get(dept) != round_ and state.core_version >= 2:
        raise CaseError(_no_review_yet(reference, dept, state))
    return round_


def _no_review_yet(reference: str, department: str, state: CaseState) -> str:
    from domain.phases import PHASE_TEXT

    phase = f"{PHASE_TEXT[state.status]} ({state.status.value})"
    if state.closing:
        return f"Case {reference} is closing ({state.closing.value}); its reviews are over."
    if state.status.value in ("awaiting_caseworker", "contact_overdue", "caseworker_assigned"):
        todo = "assign the process-responsible caseworker first"
    elif state.status.value == "awaiting_material":
        todo = "the reviews start when the material is complete ('fuldt oplyst')"
    elif state.status.value == "awaiting_decision":
        todo = "every review is in; issue the decision"
    else:
        todo = "see starter.py show"
    return f"Case {reference} has no open {department} review: the case is {phase}; {todo}."


async def submit_review(
    client: Client, reference: str, department: str, request_id: str | None = None, **fields
) -> life.ReviewResult:
    submission = build(life.SubmitReview, **fields)
    round_ = await current_round(client, reference, department)
    return await _update(
        review_handle(client, reference, department, round_),
        DepartmentReviewWorkflow.submit_review,
        submission,
        "Review",
        request_id,
    )


async def request_more_time(
    client: Client, reference: str, department: str, request_id: str | None = None, **fields
) -> life.NewReviewDeadline:
    """More time for a department's review: asked of the case, which owns the dates."""
    request = build(RequestReviewTime, department=department_of(department), **fields)
    return await update_case(
        client, reference, CaseWorkflow.request_more_time, request, "More time", request_id
    )


async def restart_review(
    client: Client, reference: str, department: str, request_id: str | None = None
) -> CaseState:
    """Start a failed or terminated review again, as a new round."""
    request = build(RestartReview, department=department_of(department))
    return await update_case(
        client, reference, CaseWorkflow.restart_review, request, "Review restart", request_id
    )


async def readiness(client: Client, sessions: async_sessionmaker) -> dict[str, bool]:
    """Whether Temporal and Postgres answer now (for /readyz and the CLI)."""

    async def temporal() -> None:
        await client.service_client.check_health()

    async def postgres() -> None:
        async with sessions() as session:
            await session.execute(select(1))

    out = {}
    for name, probe in (("temporal", temporal), ("postgres", postgres)):
        try:
            await asyncio.wait_for(probe(), timeout=3)
            out[name] = True
        except Exception as err:  # noqa: BLE001 - any failure means "not ready"
            out[name] = False
            structlog.get_logger("case_api").info("not ready", part=name, error=type(err).__name__)
    return out

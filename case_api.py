"""The Python interface for case systems and officers: start a case, assign, read state.

`starter.py` is the command line over these functions; a web service would call the same.
Every function validates its input with the schemas and turns Temporal's errors into
`CaseError` with a message a person can act on.
"""

from __future__ import annotations

from pydantic import ValidationError
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from schemas.case import AssignCaseworker, AssignmentResult, CaseState
from schemas.errors import describe
from schemas.intake import CaseIntake, case_workflow_id, parse_intake_json
from workflows.case import CaseWorkflow


class CaseError(Exception):
    """A problem the caller can act on; str(error) is the message to show."""


def parse_intake(raw: str | bytes) -> CaseIntake:
    try:
        return parse_intake_json(raw)
    except ValidationError as err:
        raise CaseError(
            f"The case was not started; the intake has errors:\n{describe(err)}"
        ) from None


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


async def assign_caseworker(client: Client, reference: str, caseworker_id: str) -> AssignmentResult:
    try:
        request = AssignCaseworker(caseworker_id=caseworker_id)
    except ValidationError as err:
        raise CaseError(describe(err)) from None
    try:
        return await case_handle(client, reference).execute_update(
            CaseWorkflow.assign_caseworker, request
        )
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError):
            raise CaseError(f"Assignment rejected: {cause.message}") from None
        raise
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise CaseError(f"No open case with reference {reference}.") from None
        raise

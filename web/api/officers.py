"""`/api/v1/cases/{reference}/...`: officers' actions, for signed-in staff (web/staff.py).

The role decides who may do what (an officer reviews only for their own department; only the
case's coordinator books meetings, decides and dismisses; a handover is the coordinator's or
an operator's); the case decides whether it may happen now. Each action runs through the seam
with its update id from the `Idempotency-Key`; a refusal is a 403 problem."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from temporalio.service import RPCError

import case_api
from schemas import life
from schemas.case import AssignCaseworker, AssignmentResult, CaseState
from schemas.intake import Department
from schemas.lists import WorkItem
from web.api.actions import parse, update_id
from web.api.cases import PROBLEM, IdempotencyKey, RefPath, problem_of
from web.problems import unavailable
from web.staff import Staff, refuse, staff
from workflows.case import CaseWorkflow

router = APIRouter(tags=["officers' actions"])
Officer = Annotated[Staff, Depends(staff)]
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: PROBLEM,
    403: PROBLEM,
    404: PROBLEM,
    409: PROBLEM,
    422: PROBLEM,
    503: PROBLEM,
}


def body_of(model: type[BaseModel]) -> dict:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


async def state_of(request: Request, reference: RefPath) -> CaseState:
    """The case's state for the role checks (its personal fields stay sealed: not needed)."""
    try:
        client = await request.app.state.services.temporal()
        return await case_api.get_state(client, reference)
    except case_api.CaseError as err:
        raise problem_of(err) from None
    except RPCError:
        raise unavailable("Temporal") from None


# The role rules, one place for every door (this API and the staff desk, web/desk/): who may
# do what on a case. The case itself decides whether it may happen now.
def is_coordinator(officer: Staff, state: CaseState) -> bool:
    """The case's process-responsible caseworker."""
    return state.caseworker is not None and state.caseworker.id == officer.id


def may_hand_over(officer: Staff, state: CaseState) -> bool:
    """A handover (an assignment naming `replacing`): the coordinator or an operator."""
    return officer.operator or is_coordinator(officer, state)


def may_review_for(officer: Staff, department: Department) -> bool:
    """A review: only an officer of that department."""
    return department in officer.person.departments


def may_ask_more_time(officer: Staff, state: CaseState, department: Department) -> bool:
    """More time for a review: an officer of that department or the coordinator."""
    return may_review_for(officer, department) or is_coordinator(officer, state)


def may_restart_review(officer: Staff, state: CaseState) -> bool:
    """Restart a failed or stopped review: the coordinator or an operator."""
    return officer.operator or is_coordinator(officer, state)


async def run(request: Request, call: Callable[[Any], Awaitable[Any]]):
    """Run one action through the seam; rejections and outages as problems."""
    services = request.app.state.services
    client = await services.temporal()
    try:
        result = await call(client)
        reference = request.path_params.get("reference")
        if reference is None:
            return result
        # the staff see the case's personal fields opened (sealing.py)
        return await case_api.open_result(
            case_api.vault(services.sessions, services.settings), reference, result
        )
    except case_api.CaseError as err:
        raise problem_of(err) from None
    except RPCError:
        raise unavailable("Temporal") from None


@router.post(
    "/cases/{reference}/assignment",
    summary="Make a caseworker process-responsible, or hand the case over (name `replacing`)",
    response_model=AssignmentResult,
    responses=RESPONSES,
    openapi_extra=body_of(AssignCaseworker),
)
async def assign(
    request: Request, reference: RefPath, officer: Officer, key: IdempotencyKey = None
):
    body = parse(AssignCaseworker, await request.body())
    if body.replacing is not None and not officer.operator:
        state = await state_of(request, reference)
        if not may_hand_over(officer, state):
            raise refuse(
                request,
                403,
                "handover by someone else",
                "Only the case's process-responsible caseworker or an operator hands a case over.",
            )
    return await run(
        request,
        lambda client: case_api.assign_caseworker(
            client, reference, body.caseworker_id, body.replacing, update_id(officer.id, key)
        ),
    )


def coordinator_action(path: str, summary: str, model: type[BaseModel], update, what: str, result):
    async def endpoint(
        request: Request, reference: RefPath, officer: Officer, key: IdempotencyKey = None
    ):
        body = parse(model, await request.body())
        state = await state_of(request, reference)
        if not is_coordinator(officer, state):
            raise refuse(
                request,
                403,
                f"{path} by someone else",
                "Only the case's process-responsible caseworker may do this.",
            )
        return await run(
            request,
            lambda client: case_api.update_case(
                client, reference, update, body, what, update_id(officer.id, key)
            ),
        )

    endpoint.__name__ = "case_" + path.replace("-", "_")
    router.add_api_route(
        f"/cases/{{reference}}/{path}",
        endpoint,
        methods=["POST"],
        summary=summary,
        response_model=result,
        responses=RESPONSES,
        openapi_extra=body_of(model),
    )


coordinator_action(
    "meetings",
    "Book (or move) the pre-dialogue; both sides get a confirmation",
    life.BookPreDialogue,
    CaseWorkflow.book_pre_dialogue,
    "Pre-dialogue booking",
    life.PreDialogue,
)
coordinator_action(
    "meeting-cancellations",
    "Cancel the booked pre-dialogue, with the reason",
    life.CancelPreDialogue,
    CaseWorkflow.cancel_pre_dialogue,
    "Pre-dialogue cancellation",
    life.PreDialogue,
)
coordinator_action(
    "meetings-held",
    "Record that the pre-dialogue was held",
    life.PreDialogueHeld,
    CaseWorkflow.record_pre_dialogue_held,
    "Pre-dialogue held",
    life.PreDialogue,
)
coordinator_action(
    "decision",
    "Issue the ONE coordinated decision (when every review is in)",
    life.IssueDecision,
    CaseWorkflow.issue_decision,
    "Decision",
    CaseState,
)
coordinator_action(
    "dismissal",
    "Dismiss the case as incomplete (after the warning)",
    life.Dismiss,
    CaseWorkflow.dismiss,
    "Dismissal",
    CaseState,
)


def may_review(request: Request, officer: Staff, department: Department) -> None:
    if not may_review_for(officer, department):
        raise refuse(
            request,
            403,
            "review for another department",
            f"Only an officer of {department.value} reviews for {department.value}.",
        )


@router.post(
    "/cases/{reference}/reviews/{department}",
    summary="Submit a department's review (an officer of that department)",
    response_model=life.ReviewResult,
    responses=RESPONSES,
    openapi_extra=body_of(life.SubmitReview),
)
async def submit_review(
    request: Request,
    reference: RefPath,
    department: Department,
    officer: Officer,
    key: IdempotencyKey = None,
):
    may_review(request, officer, department)
    body = parse(life.SubmitReview, await request.body())
    return await run(
        request,
        lambda client: case_api.submit_review(
            client,
            reference,
            department.value,
            update_id(officer.id, key),
            **body.model_dump(),
        ),
    )


@router.post(
    "/cases/{reference}/reviews/{department}/more-time",
    summary="Ask the case for more working days for a review (moves the agreed date)",
    response_model=life.NewReviewDeadline,
    responses=RESPONSES,
    openapi_extra=body_of(life.RequestMoreTime),
)
async def more_time(
    request: Request,
    reference: RefPath,
    department: Department,
    officer: Officer,
    key: IdempotencyKey = None,
):
    body = parse(life.RequestMoreTime, await request.body())
    if not may_review_for(officer, department) and not may_ask_more_time(
        officer, await state_of(request, reference), department
    ):
        may_review(request, officer, department)  # refuses, naming the department
    return await run(
        request,
        lambda client: case_api.request_more_time(
            client, reference, department.value, update_id(officer.id, key), **body.model_dump()
        ),
    )


@router.post(
    "/cases/{reference}/reviews/{department}/restart",
    summary="Start a failed or stopped review again (coordinator or operator)",
    response_model=CaseState,
    responses=RESPONSES,
)
async def restart_review(
    request: Request,
    reference: RefPath,
    department: Department,
    officer: Officer,
    key: IdempotencyKey = None,
):
    if not officer.operator and not may_restart_review(officer, await state_of(request, reference)):
        raise refuse(
            request,
            403,
            "restart by someone else",
            "Only the case's process-responsible caseworker or an operator restarts a review.",
        )
    return await run(
        request,
        lambda client: case_api.restart_review(
            client, reference, department.value, update_id(officer.id, key)
        ),
    )


@router.get(
    "/worklist",
    summary="The signed-in caseworker's worklist, most urgent first",
    response_model=list[WorkItem],
    responses={401: PROBLEM},
)
async def my_worklist(request: Request, officer: Officer) -> list[WorkItem]:
    services = request.app.state.services
    return await case_api.worklist(
        services.sessions, officer.person, datetime.now(UTC), services.settings.closing_days
    )


def body_schemas() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for model in (
        AssignCaseworker,
        life.BookPreDialogue,
        life.CancelPreDialogue,
        life.PreDialogueHeld,
        life.IssueDecision,
        life.Dismiss,
        life.SubmitReview,
        life.RequestMoreTime,
    ):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out

"""`/api/v1/cases`: case systems start cases and follow the ones they started.

Every rule stays behind the seam (`case_api`, `access`); this module translates HTTP:
the intake contract is the same pydantic model the CLI uses, an `Idempotency-Key` makes a
start safe to retry, errors are problem documents.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict
from temporalio.service import RPCError

import access
import booking_api
import case_api
from schemas.case import CaseState
from schemas.fields import REFERENCE_PATTERN
from schemas.intake import CaseIntake
from schemas.lists import AuditEvent, CaseListQuery, CasePage
from web.auth import case_system, may_read
from web.problems import STATUS_OF_KIND, Problem, unavailable
from web.staff import COOKIE, Staff, staff

router = APIRouter(tags=["cases"])
Caller = Annotated[str, Depends(case_system)]


async def reader(request: Request) -> str | Staff:
    """Who reads: a case system (its API key) or signed-in staff (the session cookie)."""
    if "authorization" not in request.headers and COOKIE in request.cookies:
        return await staff(request)
    return await case_system(request)


Reader = Annotated[str | Staff, Depends(reader)]


async def may_see(request: Request, who: str | Staff, reference: RefPath) -> None:
    """Staff see every case; a case system only the cases it started."""
    if isinstance(who, str):
        await may_read(request, who, reference)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="your id for this request (e.g. a UUID); a retry with the same key and "
        "body returns the first answer",
    ),
]
PROBLEM = {"content": {"application/problem+json": {}}}
RefPath = Annotated[
    str,
    Path(pattern=REFERENCE_PATTERN, max_length=64, description="the case system's reference"),
]


class CaseStarted(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str
    case_id: str
    state_url: str
    events_url: str


def problem_of(error: case_api.CaseError) -> Problem:
    """A rejection from the seam as a problem document (409/422/404 by its kind)."""
    status = STATUS_OF_KIND.get(error.kind or "", 409)
    if str(error).startswith("No case with reference"):
        status = 404
    title = {404: "No such case", 409: "Not possible now", 422: "The request has errors"}.get(
        status, "Rejected"
    )
    extra = {"errors": error.errors} if error.errors else {}
    return Problem(status, error.kind or "Rejected", title, str(error), **extra)


def fingerprint(raw: bytes) -> str:
    """The same document, however it is spaced or ordered, has the same fingerprint."""
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = raw.decode(errors="replace")
    return hashlib.sha256(canonical.encode()).hexdigest()


def started(reference: RefPath) -> CaseStarted:
    return CaseStarted(
        reference=reference,
        case_id=f"case-{reference}",
        state_url=f"/api/v1/cases/{reference}",
        events_url=f"/api/v1/cases/{reference}/events",
    )


@router.post(
    "/cases",
    status_code=201,
    summary="Start a case (the intake contract)",
    response_model=CaseStarted,
    responses={
        200: {"description": "a retry with the same Idempotency-Key: the first answer"},
        401: PROBLEM,
        409: {"description": "a case with this reference exists", **PROBLEM},
        422: {"description": "the intake has errors, or the key was used for another body"},
        503: PROBLEM,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/CaseIntake"}}
            },
        }
    },
)
async def start_case(
    request: Request, response: Response, caller: Caller, key: IdempotencyKey = None
) -> CaseStarted:
    services = request.app.state.services
    raw = await request.body()
    try:
        intake = case_api.parse_intake(raw)
        # A booked pre-dialogue named by the intake must exist and be active (the same check
        # as the CLI's): nothing is started or remembered otherwise.
        await booking_api.check_intake_booking(services.sessions, intake)
    except case_api.CaseError as err:
        raise problem_of(err) from None
    request_id = None
    if key is not None:
        remembered = await access.remember_request(
            services.sessions, caller, key, fingerprint(raw), intake.reference
        )
        if remembered.fingerprint != fingerprint(raw):
            raise Problem(
                422,
                "IdempotencyKeyReused",
                "The Idempotency-Key was used for another request",
                f"This Idempotency-Key was first used for another document (case "
                f"{remembered.reference}); send a new key for a new request.",
            )
        request_id = hashlib.sha256(f"{caller}\n{key}".encode()).hexdigest()
        if not remembered.first:
            response.status_code = 200  # a retry: the first answer again
    client = await services.temporal()
    try:
        await case_api.start_case(
            client,
            intake,
            services.settings.temporal_task_queue,
            request_id=request_id,
            vault=case_api.vault(services.sessions, services.settings),
        )
    except case_api.CaseError as err:
        raise Problem(
            409,
            "DuplicateReference",
            "A case with this reference exists",
            f"{err} Use a new reference for a new case, or follow the existing one at "
            f"/api/v1/cases/{intake.reference}.",
        ) from None
    except RPCError:
        raise unavailable("Temporal") from None
    await access.record_owner(services.sessions, caller, intake.reference)
    return started(intake.reference)


@router.get(
    "/cases",
    summary="Cases, newest first: a case system's own, or every case for staff",
    response_model=CasePage,
    responses={401: PROBLEM, 422: PROBLEM},
)
async def list_cases(
    request: Request, who: Reader, query: Annotated[CaseListQuery, Query()]
) -> CasePage:
    services = request.app.state.services
    if isinstance(who, str):  # a case system: only the cases it started
        mine = await access.references_of(services.sessions, who)
        wanted = [r for r in (query.references or mine) if r in set(mine)]
        query = query.model_copy(update={"references": wanted})
    try:
        return await case_api.list_cases(services.sessions, query)
    except case_api.CaseError as err:
        raise problem_of(err) from None


@router.get(
    "/cases/{reference}",
    summary="One case's live state (asked of its workflow)",
    response_model=CaseState,
    responses={401: PROBLEM, 403: PROBLEM, 404: PROBLEM, 503: PROBLEM},
)
async def get_case(request: Request, reference: RefPath, who: Reader) -> CaseState:
    await may_see(request, who, reference)
    client = await request.app.state.services.temporal()
    try:
        return await case_api.get_state(
            client,
            reference,
            case_api.vault(
                request.app.state.services.sessions, request.app.state.services.settings
            ),
        )
    except case_api.CaseError as err:
        raise problem_of(err) from None
    except RPCError:
        raise unavailable("Temporal") from None


@router.get(
    "/cases/{reference}/events",
    summary="One case's audit trail",
    response_model=list[AuditEvent],
    responses={401: PROBLEM, 403: PROBLEM},
)
async def case_events(request: Request, reference: RefPath, who: Reader) -> list[AuditEvent]:
    await may_see(request, who, reference)
    return await case_api.case_events(request.app.state.services.sessions, reference)


def intake_schema() -> dict:
    """The intake contract's JSON schema, for the OpenAPI document."""
    return CaseIntake.model_json_schema(ref_template="#/components/schemas/{model}")

"""`POST /api/v1/cases/{reference}/erasure`: an operator erases a closed case's personal data.

One more door on the erasure seam (`erasure_api.erase_case`; the CLI's `starter.py erase` is
the other): only a signed-in operator may do it, only a closed case can be erased, and a
repeat answers as the first did (``already_erased``), so an `Idempotency-Key` needs no
storage. The reason is recorded by the seam and never echoed or logged here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

import erasure_api
from schemas.fields import Line
from web.api.actions import parse
from web.api.cases import PROBLEM, IdempotencyKey, RefPath
from web.problems import Problem
from web.staff import Staff, refuse, staff

router = APIRouter(tags=["erasure"])
Officer = Annotated[Staff, Depends(staff)]
log = structlog.get_logger("web.erasure")

# The seam's kinds: status and title of the problem document.
PROBLEM_OF_KIND = {
    "NoSuchCase": (404, "No such case"),
    "NotClosed": (409, "Not possible now"),
    "StillClosing": (409, "Not possible yet"),
    "InvalidInput": (422, "The request has errors"),
}


class EraseCase(BaseModel):
    """Why the case's personal data is erased: short, one line, no personal data."""

    model_config = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True)

    reason: Annotated[
        Line,
        Field(
            min_length=3,
            max_length=200,
            description="why, in one line without personal data (recorded, never shown)",
        ),
    ]


class CaseErased(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str
    erased_at: datetime
    erased_by: str
    already_erased: bool = Field(
        description="true when the case was erased before this request (a repeat)"
    )


def problem_of(error: erasure_api.ErasureError) -> Problem:
    status, title = PROBLEM_OF_KIND.get(error.kind, (409, "Rejected"))
    return Problem(status, error.kind, title, str(error))


@router.post(
    "/cases/{reference}/erasure",
    summary="Erase a closed case's personal data (an operator; safe to repeat)",
    response_model=CaseErased,
    responses={401: PROBLEM, 403: PROBLEM, 404: PROBLEM, 409: PROBLEM, 422: PROBLEM},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": EraseCase.model_json_schema()}},
        }
    },
)
async def erase(
    request: Request, reference: RefPath, officer: Officer, key: IdempotencyKey = None
) -> Any:
    if not officer.operator:
        raise refuse(
            request,
            403,
            "erasure by a non-operator",
            "Only an operator erases a case's personal data.",
        )
    body = parse(EraseCase, await request.body())
    services = request.app.state.services
    try:
        done = await erasure_api.erase_case(
            services.sessions,
            services.settings,
            reference,
            officer.id,
            body.reason,
            client=await services.temporal(),
        )
    except erasure_api.ErasureError as err:
        log.info("erasure refused", reference=reference, kind=err.kind, by=officer.id)
        raise problem_of(err) from None
    log.info("case erased", reference=reference, by=officer.id, already_erased=done.already_erased)
    return CaseErased(
        reference=done.reference,
        erased_at=done.erased_at,
        erased_by=done.erased_by,
        already_erased=done.already_erased,
    )

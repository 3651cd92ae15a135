"""`/api/v1/pre-dialogues/...`: staff act on pre-dialogues booked before any application.

For signed-in staff (web/staff.py): the booking's caseworker, a caseworker of one of its
departments, or an operator may move it, cancel it, or record it held. Each action runs
through `booking_api` with a request id from the `Idempotency-Key` (a retry acts once); a
refusal is a problem document (RFC 9457)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict

import booking_api
from schemas.booking import BOOKING_ID_PATTERN, BookingView, Slot
from schemas.fields import CaseworkerId, IsoDatetime, Note
from web.api.actions import parse, update_id
from web.api.cases import PROBLEM, IdempotencyKey
from web.problems import Problem
from web.staff import Staff, refuse, staff

router = APIRouter(tags=["pre-dialogues"])
Officer = Annotated[Staff, Depends(staff)]
BookingPath = Annotated[str, Path(pattern=BOOKING_ID_PATTERN, description="e.g. FD-7K2M9Q4X")]
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: PROBLEM,
    403: PROBLEM,
    404: PROBLEM,
    409: PROBLEM,
    422: PROBLEM,
    503: PROBLEM,
}
STATUS = {
    "UnknownBooking": 404,
    "InvalidInput": 422,
    "InvalidTime": 422,
    "SlotTaken": 409,
    "NotOffered": 409,
    "BookingClosed": 409,
    "SameTime": 409,
    "MeetingBegun": 409,
    "NotYetHeld": 409,
}
STRICT = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True)


class MovePreDialogue(BaseModel):
    """Move to one of the offered times (GET .../slots lists them)."""

    model_config = STRICT

    caseworker_id: CaseworkerId
    starts_at: IsoDatetime


class CancelPreDialogue(BaseModel):
    model_config = STRICT

    reason: Note = ""


class PreDialogueHeld(BaseModel):
    model_config = STRICT

    note: Note = ""


def body_of(model: type[BaseModel]) -> dict:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


async def _booking(request: Request, officer: Staff, booking_id: str) -> BookingView:
    view = await booking_api.get_booking(request.app.state.services.sessions, booking_id)
    if view is None:
        raise Problem(404, "UnknownBooking", "No such pre-dialogue", f"No booking {booking_id}.")
    mine = view.caseworker_id == officer.id or officer.operator
    if not mine and not {d.value for d in officer.person.departments} & set(view.departments):
        raise refuse(
            request,
            403,
            "pre-dialogue of another department",
            "Only the booking's caseworker, a caseworker of its departments or an operator "
            "may act on it.",
        )
    return view


async def _run(request: Request, call):
    services = request.app.state.services
    client = await services.temporal()
    try:
        return await call(client, services)
    except booking_api.BookingError as err:
        raise Problem(
            STATUS.get(err.kind, 409), err.kind, "The pre-dialogue was not changed", str(err)
        ) from None


@router.get(
    "/pre-dialogues/{booking_id}",
    summary="A pre-dialogue booked before any application",
    response_model=BookingView,
    responses=RESPONSES,
)
async def get_pre_dialogue(request: Request, booking_id: BookingPath, officer: Officer):
    return await _booking(request, officer, booking_id)


@router.get(
    "/pre-dialogues/{booking_id}/slots",
    summary="The times the pre-dialogue may move to (its departments' offered hours)",
    response_model=list[Slot],
    responses=RESPONSES,
)
async def pre_dialogue_slots(request: Request, booking_id: BookingPath, officer: Officer):
    view = await _booking(request, officer, booking_id)
    services = request.app.state.services
    return await booking_api.offered_slots(
        services.sessions, view.departments, services.settings.closing_days
    )


@router.post(
    "/pre-dialogues/{booking_id}/move",
    summary="Move the pre-dialogue to another offered time; both sides get a new invitation",
    response_model=BookingView,
    responses=RESPONSES,
    openapi_extra=body_of(MovePreDialogue),
)
async def move_pre_dialogue(
    request: Request, booking_id: BookingPath, officer: Officer, key: IdempotencyKey = None
):
    body = parse(MovePreDialogue, await request.body())
    await _booking(request, officer, booking_id)
    slot = Slot(caseworker_id=body.caseworker_id, starts_at=body.starts_at, ends_at=body.starts_at)
    request_id = update_id(officer.id, key) or booking_api.new_request_id()
    return await _run(
        request,
        lambda client, s: booking_api.move(
            client, s.sessions, s.settings, booking_id, slot, "caseworker", request_id
        ),
    )


@router.post(
    "/pre-dialogues/{booking_id}/cancel",
    summary="Cancel the pre-dialogue; both sides get a cancellation (METHOD:CANCEL)",
    response_model=BookingView,
    responses=RESPONSES,
    openapi_extra=body_of(CancelPreDialogue),
)
async def cancel_pre_dialogue(
    request: Request, booking_id: BookingPath, officer: Officer, key: IdempotencyKey = None
):
    body = parse(CancelPreDialogue, await request.body())
    await _booking(request, officer, booking_id)
    request_id = update_id(officer.id, key) or booking_api.new_request_id()
    return await _run(
        request,
        lambda client, s: booking_api.cancel(
            client, s.sessions, booking_id, "caseworker", request_id, reason=body.reason
        ),
    )


@router.post(
    "/pre-dialogues/{booking_id}/held",
    summary="Record that the pre-dialogue was held (once it has begun)",
    response_model=BookingView,
    responses=RESPONSES,
    openapi_extra=body_of(PreDialogueHeld),
)
async def pre_dialogue_held(
    request: Request, booking_id: BookingPath, officer: Officer, key: IdempotencyKey = None
):
    body = parse(PreDialogueHeld, await request.body())
    await _booking(request, officer, booking_id)
    request_id = update_id(officer.id, key) or booking_api.new_request_id()
    return await _run(
        request,
        lambda client, s: booking_api.record_held(
            client, s.sessions, booking_id, request_id, note=body.note
        ),
    )

"""The public booking pages (commitment 3): a company books a pre-dialogue before any
application, picks a time from the caseworkers' offered hours, confirms, and gets a receipt
and an e-mail with a signed link to its booking page, where it may move or cancel it.

Server-rendered, no JavaScript. Each step is a form posted with the CSRF token and rate
limited per address; the company's details ride along in hidden fields (no session) and are
validated again at every step with the strict `BookingRequest`. The request id made on the
first page travels to the last, so a double click books once. The signed link carries its
token in the query string (the access log logs paths only).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

import booking_api
from domain.calendar import COPENHAGEN
from domain.slots import by_day
from domain.texts import DEPARTMENT_NAMES, danish_date, danish_datetime
from schemas.booking import BookingRequest, BookingStatus, Slot, check_booking_id
from schemas.intake import Department
from web import forms
from web.pages import message_page, render
from web.problems import Problem

router = APIRouter(include_in_schema=False)
RATE = "10/minute"
HOME = "/forhaandsdialog"
LABELS = {
    "cvr": "CVR-nummer",
    "company_name": "virksomhedens navn",
    "contact_name": "kontaktpersonens navn",
    "email": "e-mail",
    "phone": "telefonnummer",
    "topic": "emne",
    "departments": "fagområder",
    "note": "bemærkning",
    "slot": "tidspunkt",
    "reason": "årsag",
}
FIELDS = ("cvr", "company_name", "contact_name", "email", "phone", "topic", "note")
DEPARTMENTS = [(d.value, DEPARTMENT_NAMES[d]) for d in Department]
TOPICS = [
    ("general", "Projektet, reglerne og det materiale, en ansøgning skal indeholde"),
    ("sustainability", "Bæredygtighed og cirkulær økonomi i projektet"),
]
SLOT_TAKEN = "Tiden blev booket af en anden lige før jer. Vælg en anden tid."
NOT_OFFERED = "Tiden kan ikke længere bookes. Vælg en anden tid."


def _services(request: Request):
    return request.app.state.services


def _page(request: Request, template: str, title: str, status: int = 200, **ctx: Any) -> Response:
    crumbs = [("Book forhåndsdialog", HOME if template != "booking_start.html" else None)]
    if template != "booking_start.html":
        crumbs.append((title, None))
    response = render(
        request,
        template,
        title=title,
        breadcrumbs=crumbs,
        status_code=status,
        csrf=forms.csrf_token(request),
        departments=DEPARTMENTS,
        topics=TOPICS,
        danish_date=danish_date,
        danish_datetime=danish_datetime,
        clock=clock,
        **ctx,
    )
    forms.ensure_csrf_cookie(request, response)
    return response


def clock(value: datetime) -> str:
    return f"{value.astimezone(COPENHAGEN):%H.%M}"


def _values(form) -> dict[str, Any]:
    values: dict[str, Any] = {f: str(form.get(f, "")) for f in FIELDS}
    values["departments"] = [str(d) for d in form.getlist("departments")]
    values["topic"] = values["topic"] or "general"
    return values


def _read(values: dict[str, Any]) -> tuple[BookingRequest | None, list[forms.FieldError]]:
    try:
        return BookingRequest.model_validate(values, strict=False), []
    except ValidationError as err:
        found = forms.danish_errors(err, LABELS)
        return None, [
            forms.FieldError(e.field, f"Udfyld {LABELS[e.field]}.")
            if e.field in FIELDS and not str(values.get(e.field, "")).strip()
            else e
            for e in found
        ]


def slot_value(slot: Slot) -> str:
    return f"{slot.caseworker_id}|{slot.starts_at.astimezone(UTC).isoformat()}"


def _slot_of(value: str) -> Slot | None:
    try:
        caseworker_id, at = value.split("|", 1)
        starts = datetime.fromisoformat(at)
        if starts.tzinfo is None or not caseworker_id.isalnum() or len(caseworker_id) > 16:
            return None
        return Slot(caseworker_id=caseworker_id, starts_at=starts, ends_at=starts)
    except ValueError:
        return None


async def _slots(request: Request, departments) -> list:
    services = _services(request)
    slots = await booking_api.offered_slots(
        services.sessions, departments, services.settings.closing_days
    )
    people = {p.id: p.name for p in await booking_api.directory(services.sessions)}
    return [
        (day, [(slot_value(s), s, people.get(s.caseworker_id, "")) for s in day_slots])
        for day, day_slots in by_day(slots)
    ]


async def _form(request: Request):
    form = await forms.read_form(request)
    forms.check_csrf(request, form)
    forms.check_rate(request, "booking", RATE)
    return form


@router.get(HOME)
async def start(request: Request) -> Response:
    return _page(
        request,
        "booking_start.html",
        "Book en forhåndsdialog",
        values={"topic": "general", "departments": []},
        errors=[],
        request_id=forms.new_request_id(),
    )


def _request_id(form) -> str:
    value = str(form.get("request_id", ""))
    return value if value.isalnum() and 16 <= len(value) <= 64 else forms.new_request_id()


async def _slot_page(
    request: Request, values, booking: BookingRequest, request_id: str, errors, status=200
) -> Response:
    return _page(
        request,
        "booking_slots.html",
        "Vælg et tidspunkt",
        status=status,
        values=values,
        errors=errors,
        request_id=request_id,
        days=await _slots(request, booking.departments),
        chosen=values.get("slot", ""),
    )


@router.post(HOME)
async def details(request: Request) -> Response:
    form = await _form(request)
    values, request_id = _values(form), _request_id(form)
    booking, errors = _read(values)
    if booking is None:
        return _page(
            request,
            "booking_start.html",
            "Book en forhåndsdialog",
            status=422,
            values=values,
            errors=errors,
            request_id=request_id,
        )
    return await _slot_page(request, values, booking, request_id, [])


@router.post(HOME + "/tid")
async def choose(request: Request) -> Response:
    form = await _form(request)
    values, request_id = _values(form), _request_id(form)
    booking, errors = _read(values)
    if booking is None:
        return _page(
            request,
            "booking_start.html",
            "Book en forhåndsdialog",
            status=422,
            values=values,
            errors=errors,
            request_id=request_id,
        )
    values["slot"] = str(form.get("slot", ""))
    slot = _slot_of(values["slot"])
    if slot is None:
        missing = [forms.FieldError("slot", "Vælg et tidspunkt.")]
        return await _slot_page(request, values, booking, request_id, missing, status=422)
    people = {p.id: p.name for p in await booking_api.directory(_services(request).sessions)}
    return _page(
        request,
        "booking_confirm.html",
        "Bekræft jeres booking",
        values=values,
        booking=booking,
        slot=slot,
        caseworker_name=people.get(slot.caseworker_id, ""),
        department_names=[DEPARTMENT_NAMES[d] for d in booking.departments],
        request_id=request_id,
        errors=[],
    )


def _unavailable(request: Request) -> Response:
    return message_page(
        request,
        title="Bookingen kunne ikke gennemføres lige nu",
        message="Vores system svarer ikke lige nu, og intet er booket. Prøv igen om lidt.",
        status_code=503,
        back=("Tilbage til booking", HOME),
        headers={"Retry-After": "5"},
    )


@router.post(HOME + "/bekraeft")
async def confirm(request: Request) -> Response:
    form = await _form(request)
    values, request_id = _values(form), _request_id(form)
    booking, errors = _read(values)
    slot = _slot_of(str(form.get("slot", "")))
    if booking is None or slot is None:
        return _page(
            request,
            "booking_start.html",
            "Book en forhåndsdialog",
            status=422,
            values=values,
            errors=errors or [forms.FieldError("slot", "Vælg et tidspunkt.")],
            request_id=request_id,
        )
    services = _services(request)
    try:
        client = await services.temporal()
        view = await booking_api.book(
            client, services.sessions, services.settings, booking, slot, request_id
        )
    except booking_api.BookingError as err:
        message = SLOT_TAKEN if err.kind == "SlotTaken" else NOT_OFFERED
        values["slot"] = ""
        fresh = forms.new_request_id()  # the refused request may not book another slot
        return await _slot_page(
            request, values, booking, fresh, [forms.FieldError("slot", message)], status=409
        )
    except Problem:
        return _unavailable(request)
    token = booking_api.booking_token(
        services.settings.web_secret.get_secret_value(), view.booking_id
    )
    return RedirectResponse(f"{HOME}/{view.booking_id}?t={token}&ny=1", status_code=303)


def _own(request: Request, booking_id: str, token: str) -> str | None:
    secret = _services(request).settings.web_secret.get_secret_value()
    try:
        booking_id = check_booking_id(booking_id)
    except ValueError:
        return None
    return booking_id if booking_api.booking_of_token(secret, token) == booking_id else None


def _bad_link(request: Request) -> Response:
    return message_page(
        request,
        title="Linket virker ikke",
        message="Linket til jeres forhåndsdialog er ikke gyldigt. Brug linket i den e-mail, "
        "I fik, da I bookede, eller book en ny forhåndsdialog.",
        status_code=404,
        back=("Book en forhåndsdialog", HOME),
    )


async def _booking_page(
    request: Request, booking_id: str, token: str, notice: str = "", errors=(), status=200
) -> Response:
    services = _services(request)
    view = await booking_api.get_booking(services.sessions, booking_id)
    if view is None:
        return _bad_link(request)
    now = datetime.now(UTC)
    open_ = view.status == BookingStatus.booked and view.starts_at > now
    days = await _slots(request, [Department(d) for d in view.departments]) if open_ else []
    return _page(
        request,
        "booking_booked.html",
        "Tak – jeres forhåndsdialog er booket" if notice == "ny" else "Jeres forhåndsdialog",
        status=status,
        view=view,
        token=token,
        notice=notice,
        open=open_,
        days=days,
        errors=list(errors),
        request_id=forms.new_request_id(),
        department_names=[DEPARTMENT_NAMES[Department(d)] for d in view.departments],
        chosen="",
    )


@router.get(HOME + "/{booking_id}")
async def booking_page(request: Request, booking_id: str, t: str = "") -> Response:
    own = _own(request, booking_id, t)
    if own is None:
        return _bad_link(request)
    notice = next((n for n in ("ny", "flyttet", "aflyst") if request.query_params.get(n)), "")
    return await _booking_page(request, own, t, notice)


async def _act(request: Request, booking_id: str, action: str) -> Response:
    form = await _form(request)
    token = str(form.get("t", ""))
    own = _own(request, booking_id, token)
    if own is None:
        return _bad_link(request)
    services = _services(request)
    try:
        client = await services.temporal()
        if action == "flyttet":
            slot = _slot_of(str(form.get("slot", "")))
            if slot is None:
                return await _booking_page(
                    request,
                    own,
                    token,
                    errors=[forms.FieldError("slot", "Vælg et tidspunkt.")],
                    status=422,
                )
            await booking_api.move(
                client,
                services.sessions,
                services.settings,
                own,
                slot,
                "company",
                _request_id(form),
            )
        else:
            reason = str(form.get("reason", "")).strip()[:1000]
            await booking_api.cancel(
                client, services.sessions, own, "company", _request_id(form), reason=reason
            )
    except booking_api.BookingError as err:
        if err.kind in ("SlotTaken", "NotOffered"):
            message = SLOT_TAKEN if err.kind == "SlotTaken" else NOT_OFFERED
            return await _booking_page(
                request, own, token, errors=[forms.FieldError("slot", message)], status=409
            )
        return message_page(
            request,
            title="Forhåndsdialogen kan ikke ændres",
            message="Forhåndsdialogen er aflyst, holdt eller begyndt, så den kan ikke længere "
            "flyttes eller aflyses her. Kontakt sagsbehandleren, hvis I har spørgsmål.",
            status_code=409,
            back=("Se jeres forhåndsdialog", f"{HOME}/{own}?t={token}"),
        )
    except Problem:
        return _unavailable(request)
    return RedirectResponse(f"{HOME}/{own}?t={token}&{action}=1", status_code=303)


@router.post(HOME + "/{booking_id}/flyt")
async def move(request: Request, booking_id: str) -> Response:
    return await _act(request, booking_id, "flyttet")


@router.post(HOME + "/{booking_id}/aflys")
async def cancel(request: Request, booking_id: str) -> Response:
    return await _act(request, booking_id, "aflyst")

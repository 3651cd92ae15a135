"""The company's own case page and its actions, each ending on a receipt page.

Two doors lead to the same page: ``/sag?t=<token>`` (the signed link in the letters) and
``/virksomhed/sager/{reference}`` (a company signed in with MitID Erhverv). Every action is a
form (CSRF, a rate limit, a request id so a double submit runs once) calling the same
`case_api` functions as the API and the CLI; a rejection is a Danish message on the page. Every
view and action is a line of the case's audit trail (ids, kinds, codes; no personal data).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

import case_api
import erasure_api
from mail.render import COMPANY_PAGE_LETTERS
from schemas.case import CaseState
from schemas.intake import Department
from web import forms
from web.company import views
from web.company.access import Access, PageRefused, by_cvr, by_link, live_state, log
from web.company.forms import (
    Problem,
    field_id,
)
from web.company.uploads import megabytes
from web.pages.routes import render, templates

router = APIRouter(include_in_schema=False)
templates.env.filters["company_size"] = views.size_text
templates.env.filters["company_department"] = lambda d: views.first_upper(
    views.DEPARTMENT_NAMES[Department(d)]
)
LETTER_KINDS = sorted(k.value for k in COMPANY_PAGE_LETTERS)
FORM_NAMES = ("upload", "change", "dialogue", "level", "nbe", "withdraw")
RATE = "10/minute"

REJECTED = {
    "NotAllowedInPhase": "Det kan ikke lade sig gøre, hvor sagen står nu. Siden viser sagens "
    "aktuelle forløb.",
    "Closing": "Sagen er ved at blive afsluttet, så der kan ikke ændres mere i den.",
    "AlreadyDecided": "Sagen er afgjort, så der kan ikke ændres mere i den.",
    "UnknownMaterial": "Det materiale hører ikke til jeres sag. Vælg et punkt fra listen.",
    "UnknownDepartment": "Vælg kun fagområder, som jeres sag involverer.",
    "NoNbeOffer": "I har ikke fået et tilbud om medlemskab af NBE i denne sag.",
    "WrongSustainabilityLevel": "En forhåndsdialog om bæredygtighed hører til niveau 2 eller 3. "
    "Vælg niveau 2 eller 3 under Bæredygtighed først.",
}


def rejection(err: case_api.CaseError) -> str:
    return REJECTED.get(
        err.kind or "",
        "Det lykkedes ikke at gennemføre handlingen. Prøv igen om lidt, eller kontakt jeres "
        "sagsbehandler.",
    )


def breadcrumbs(access: Access) -> list[tuple[str, str | None]]:
    if access.via == "cvr":
        return [("Jeres virksomheds sager", "/virksomhed"), (f"Sag {access.reference}", None)]
    return [(f"Jeres sag {access.reference}", None)]


async def render_case(
    request: Request,
    access: Access,
    state: CaseState,
    *,
    errors: list[Problem] | None = None,
    values: dict | None = None,
    status: int = 200,
) -> HTMLResponse:
    services = request.app.state.services
    letters = await case_api.letters_of(services.sessions, access.case_id, LETTER_KINDS)
    files = await case_api.material_files(services.sessions, access.case_id)
    page = views.case_page(state, letters, files)
    kept = await erasure_api.retention_of(services.sessions, services.settings, access.reference)
    personal = views.personal_data_text(
        kept.erase_on, kept.erased_at, services.settings.retention_months
    )
    response = render(
        request,
        "company_case.html",
        title=f"Jeres sag {access.reference}" + (" – fejl i formularen" if errors else ""),
        breadcrumbs=breadcrumbs(access),
        p=page,
        a=access,
        csrf=forms.csrf_token(request),
        ids={name: forms.new_request_id() for name in FORM_NAMES},
        errors=errors or [],
        values=values or {},
        max_size=megabytes(services.settings.upload_max_bytes),
        field_id=field_id,
        case_departments=[d.value for d in state.intake.departments],
        personal=personal,
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return forms.ensure_csrf_cookie(request, response)


def receipt(
    request: Request, access: Access, *, title: str, done: list[str], then: str
) -> HTMLResponse:
    response = render(
        request,
        "company_receipt.html",
        title=title,
        breadcrumbs=[*breadcrumbs(access)[:-1], (f"Sag {access.reference}", access.url())],
        heading=title,
        done=done,
        then=then,
        a=access,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def audit(request: Request, access: Access, kind: str, **data) -> None:
    await case_api.record_web_event(
        request.app.state.services.sessions, access.case_id, kind, {**access.audit(), **data}
    )


# ------------------------------------------------------------------------------- the page
async def show(request: Request, access: Access) -> HTMLResponse:
    state = await live_state(request, access)
    await audit(request, access, "company_page_viewed")
    log.info("case page shown", path=request.url.path, via=access.via)
    return await render_case(request, access, state)


async def confirm_withdraw(request: Request, access: Access) -> HTMLResponse:
    state = await live_state(request, access)
    await audit(request, access, "company_withdrawal_form_viewed")
    if "withdraw" not in views.allowed_actions(state):
        return await render_case(request, access, state)
    return withdraw_page(request, access)


def withdraw_page(
    request: Request, access: Access, errors: list[Problem] | None = None, values=None
) -> HTMLResponse:
    response = render(
        request,
        "company_withdraw.html",
        title="Træk sagen tilbage" + (" – fejl i formularen" if errors else ""),
        breadcrumbs=[
            *breadcrumbs(access)[:-1],
            (f"Sag {access.reference}", access.url()),
            ("Træk sagen tilbage", None),
        ],
        a=access,
        csrf=forms.csrf_token(request),
        request_id=forms.new_request_id(),
        errors=errors or [],
        values=values or {},
        field_id=field_id,
        status_code=422 if errors else 200,
    )
    response.headers["Cache-Control"] = "no-store"
    return forms.ensure_csrf_cookie(request, response)


# ------------------------------------------------------------------------ both doors
Handler = Callable[[Request, Access], Awaitable[HTMLResponse]]


def door(handler: Handler, *, link: bool):
    """The route function of *handler* for the link door or the signed-in door."""
    if link:

        async def by_token(request: Request) -> HTMLResponse:
            try:
                return await handler(request, await by_link(request))
            except PageRefused as refused:
                return refused.response

        return by_token

    async def signed_in(request: Request, reference: str) -> HTMLResponse:
        try:
            return await handler(request, await by_cvr(request, reference))
        except PageRefused as refused:
            return refused.response

    return signed_in


def routes(pages: dict[str, Handler], actions: dict[str, Handler]) -> None:
    for method, table in (("GET", pages), ("POST", actions)):
        for suffix, handler in table.items():
            router.add_api_route(
                f"/sag{suffix}",
                door(handler, link=True),
                methods=[method],
                response_class=HTMLResponse,
            )
            router.add_api_route(
                f"/virksomhed/sager/{{reference}}{suffix}",
                door(handler, link=False),
                methods=[method],
                response_class=HTMLResponse,
            )


def install() -> None:
    from web.company.actions import level, nbe, pre_dialogue, project_change, withdraw
    from web.company.upload_route import upload

    routes(
        {"": show, "/tilbagetraek": confirm_withdraw},
        {
            "/materiale": upload,
            "/projektaendring": project_change,
            "/forhaandsdialog": pre_dialogue,
            "/baeredygtighed": level,
            "/nbe": nbe,
            "/tilbagetraek": withdraw,
        },
    )

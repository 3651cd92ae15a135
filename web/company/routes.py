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
from pydantic import BaseModel, ValidationError

import case_api
from mail.render import COMPANY_PAGE_LETTERS
from schemas.case import CaseState
from schemas.intake import Department
from schemas.life import ClosingReason
from web import forms
from web.company import views
from web.company.access import Access, PageRefused, by_cvr, by_link, live_state, log, temporal
from web.company.forms import (
    LevelForm,
    NbeForm,
    PreDialogueForm,
    Problem,
    ProjectChangeForm,
    WithdrawForm,
    field_id,
    fields_of,
    problems,
    request_id_of,
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


# ----------------------------------------------------------------------------- actions
async def checked_form(request: Request, name: str, lists: tuple[str, ...] = ()):
    form_data = await request.form(max_files=0, max_fields=20)
    forms.check_csrf(request, form_data)
    forms.check_rate(request, f"company-{name}", RATE)
    return form_data, request_id_of(form_data), fields_of(form_data, lists=lists)


def stale_form(name: str) -> list[Problem]:
    return [
        Problem(
            field_id(name, "submit"),
            "Formularen var ufuldstændig. Udfyld den igen, og send den.",
        )
    ]


Run = Callable[[object, BaseModel, str], Awaitable[object]]


async def form_action(
    request: Request,
    access: Access,
    *,
    name: str,
    model: type[BaseModel],
    run: Run,
    lists: tuple[str, ...] = (),
) -> tuple[BaseModel, object] | HTMLResponse:
    """Read, check and run one form's action; the page again with Danish errors, or
    (the validated form, the action's result)."""
    _, rid, fields = await checked_form(request, name, lists)
    state = await live_state(request, access)
    values = {name: fields}
    if rid is None:
        return await render_case(request, access, state, errors=stale_form(name), status=422)
    # The case judges whether the action fits its phase (a repeat of a request that took
    # effect gets the first answer, even where the action would not be taken again).
    try:
        parsed = model.model_validate(fields)
    except ValidationError as err:
        errors = problems(name, err)
        return await render_case(request, access, state, errors=errors, values=values, status=422)
    client = await temporal(request)
    try:
        result = await run(client, parsed, f"company-{name}-{rid}")
    except case_api.CaseError as err:
        await audit(request, access, "company_action_rejected", form=name, rejection=err.kind or "")
        problem = Problem(field_id(name, "submit"), rejection(err))
        state = await live_state(request, access)
        return await render_case(
            request, access, state, errors=[problem], values=values, status=409
        )
    return parsed, result


async def project_change(request: Request, access: Access) -> HTMLResponse:
    async def run(client, form: ProjectChangeForm, rid: str):
        return await case_api.report_project_change(
            client,
            access.reference,
            request_id=rid,
            description=form.description,
            departments=[d.value for d in form.departments],
        )

    outcome = await form_action(
        request,
        access,
        name="change",
        model=ProjectChangeForm,
        run=run,
        lists=("departments",),
    )
    if isinstance(outcome, HTMLResponse):
        return outcome
    form, state = outcome
    await audit(
        request,
        access,
        "company_project_change_reported",
        departments=",".join(d.value for d in form.departments),
    )
    missing = views.missing_lines(state)
    then = (
        "Jeres sagsbehandler ser på ændringen. Berører den fagområdernes vurdering, vurderer de "
        "projektet igen. Flytter det datoen for afgørelsen, får I besked med den nye dato og "
        "begrundelsen."
    )
    if missing:
        then += " Vi mangler nu materiale fra jer; se listen på sagens side."
    return receipt(
        request,
        access,
        title="Tak – vi har modtaget ændringen af projektet",
        done=[f"Ændringen er registreret på sag {access.reference}."],
        then=then,
    )


async def pre_dialogue(request: Request, access: Access) -> HTMLResponse:
    async def run(client, form: PreDialogueForm, rid: str):
        return await case_api.request_pre_dialogue(
            client, access.reference, request_id=rid, topic=form.topic.value, note=form.note
        )

    outcome = await form_action(
        request,
        access,
        name="dialogue",
        model=PreDialogueForm,
        run=run,
    )
    if isinstance(outcome, HTMLResponse):
        return outcome
    form, _ = outcome
    await audit(request, access, "company_pre_dialogue_requested", topic=form.topic.value)
    return receipt(
        request,
        access,
        title="Tak – I har bedt om en forhåndsdialog",
        done=[f"Jeres ønske om et møde er registreret på sag {access.reference}."],
        then=(
            "Jeres procesansvarlige sagsbehandler kontakter jer for at aftale et tidspunkt. "
            "Når mødet er aftalt, får I en bekræftelse med tid og sted."
        ),
    )


async def level(request: Request, access: Access) -> HTMLResponse:
    async def run(client, form: LevelForm, rid: str):
        return await case_api.change_sustainability_level(
            client, access.reference, form.level, request_id=rid
        )

    outcome = await form_action(request, access, name="level", model=LevelForm, run=run)
    if isinstance(outcome, HTMLResponse):
        return outcome
    form, _ = outcome
    await audit(request, access, "company_sustainability_level_chosen", level=form.level)
    then = {
        1: "I får vejledning om bæredygtighed og cirkulær økonomi i brevene om sagen.",
        2: "Vi tilbyder jer en forhåndsdialog om bæredygtighed i jeres projekt. Jeres "
        "sagsbehandler kontakter jer.",
        3: "Vi tilbyder jer en forhåndsdialog om bæredygtighed og sender jer et tilbud om "
        "medlemskab af NBE – Netværk for Bæredygtig Erhvervsudvikling.",
    }[form.level]
    return receipt(
        request,
        access,
        title="Tak – jeres valg af niveau for bæredygtighed er registreret",
        done=[f"Sag {access.reference} har nu niveau {form.level} for bæredygtighed."],
        then=then,
    )


async def nbe(request: Request, access: Access) -> HTMLResponse:
    async def run(client, form: NbeForm, rid: str):
        return await case_api.answer_nbe_offer(
            client, access.reference, form.answer == "ja", request_id=rid
        )

    outcome = await form_action(request, access, name="nbe", model=NbeForm, run=run)
    if isinstance(outcome, HTMLResponse):
        return outcome
    form, _ = outcome
    await audit(request, access, "company_nbe_answered", accepted=form.answer == "ja")
    accepted = form.answer == "ja"
    return receipt(
        request,
        access,
        title="Tak for jeres svar på tilbuddet om NBE",
        done=[f"I har svaret {'ja tak' if accepted else 'nej tak'} til medlemskab af NBE."],
        then=(
            "NBE kontakter jer om medlemskabet. Jeres svar har ingen betydning for "
            "behandlingen af sagen."
            if accepted
            else "Jeres svar har ingen betydning for behandlingen af sagen."
        ),
    )


async def withdraw(request: Request, access: Access) -> HTMLResponse:
    _, rid, fields = await checked_form(request, "withdraw")
    try:
        if rid is None:
            raise ValueError
        form = WithdrawForm.model_validate(fields)
    except ValidationError as err:
        return withdraw_page(request, access, problems("withdraw", err), fields)
    except ValueError:
        return withdraw_page(request, access, stale_form("withdraw"), fields)
    client = await temporal(request)
    try:
        await case_api.withdraw(
            client, access.reference, reason=form.reason, request_id=f"company-withdraw-{rid}"
        )
    except case_api.CaseError as err:
        state = await live_state(request, access)
        if state.closing != ClosingReason.withdrawn:
            await audit(
                request,
                access,
                "company_action_rejected",
                form="withdraw",
                rejection=err.kind or "",
            )
            problem = Problem(field_id("withdraw", "submit"), rejection(err))
            return await render_case(request, access, state, errors=[problem], status=409)
        # A repeat after the case closed: it was withdrawn, as asked; the same receipt.
    await audit(request, access, "company_case_withdrawn")
    return receipt(
        request,
        access,
        title="Jeres sag er trukket tilbage",
        done=[f"Sag {access.reference} er trukket tilbage og lukkes nu."],
        then=(
            "I får et brev om, at sagen er lukket, og en kort spørgeskemaundersøgelse om, "
            "hvordan I har oplevet sagsbehandlingen. Vil I søge igen senere, er I velkomne."
        ),
    )


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

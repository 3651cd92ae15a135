"""The case page's actions besides uploads: a project change, a pre-dialogue request, the
sustainability level, the NBE answer and the withdrawal. Each reads its form (CSRF, rate
limit, request id), lets the case judge it through `case_api` with an id from the form's
request (a double submit takes effect once), audits it and ends on a receipt page; a rejection
is a Danish message on the case page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError

import case_api
from schemas.life import ClosingReason
from web import forms
from web.company import views
from web.company.access import Access, live_state, temporal
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
from web.company.routes import RATE, audit, receipt, rejection, render_case, withdraw_page


# ----------------------------------------------------------------------------- actions
async def checked_form(request: Request, name: str, lists: tuple[str, ...] = ()):
    form_data = await forms.read_form(request, max_files=0, max_fields=20)
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
            vault=case_api.vault(
                request.app.state.services.sessions, request.app.state.services.settings
            ),
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
            client,
            access.reference,
            request_id=rid,
            vault=case_api.vault(
                request.app.state.services.sessions, request.app.state.services.settings
            ),
            topic=form.topic.value,
            note=form.note,
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
            client,
            access.reference,
            reason=form.reason,
            request_id=f"company-withdraw-{rid}",
            vault=case_api.vault(
                request.app.state.services.sessions, request.app.state.services.settings
            ),
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

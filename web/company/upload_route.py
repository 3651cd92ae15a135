"""Delivering material on the case page: one file for one checklist item.

The body is read no further than the size limit; the file is checked (name, emptiness, type
by content) before anything is stored; then it is stored once per request id and the item is
marked received through `case_api.report_material` with an id from the same request. A refused
file leaves nothing stored; the page shows why, in Danish.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

import case_api
from domain.phases import ALLOWED, Action
from web import forms
from web.company import views
from web.company.access import Access, live_state, temporal
from web.company.forms import Problem, field_id, request_id_of
from web.company.routes import REJECTED, audit, receipt, rejection, render_case
from web.company.uploads import (
    TooLarge,
    UploadRefused,
    check_file,
    limited_body,
    replayed,
)


async def upload(request: Request, access: Access) -> HTMLResponse:
    services = request.app.state.services
    limit = services.settings.upload_max_bytes
    try:
        body = await limited_body(request, limit)
    except TooLarge as refused:
        # Not read on: the form's token is unread too, and nothing is stored.
        await audit(request, access, "company_upload_refused", reason="too_large")
        state = await live_state(request, access)
        problem = Problem(field_id("upload", "file"), str(refused))
        return await render_case(request, access, state, errors=[problem], status=413)
    form_data = await forms.read_form(replayed(request, body), max_files=1, max_fields=10)
    try:
        forms.check_csrf(request, form_data)
        forms.check_rate(request, "company-upload", "10/minute")
        return await _store(request, access, form_data, limit)
    finally:
        await form_data.close()


async def _store(request: Request, access: Access, form_data, limit: int) -> HTMLResponse:
    services = request.app.state.services
    state = await live_state(request, access)
    rid = request_id_of(form_data)
    code = form_data.get("material_code")
    values = {"upload": {"material_code": code if isinstance(code, str) else ""}}

    async def again(problem: Problem, status: int, reason: str) -> HTMLResponse:
        await audit(request, access, "company_upload_refused", reason=reason)
        return await render_case(
            request, access, state, errors=[problem], values=values, status=status
        )

    if state.closing is not None or state.status not in ALLOWED[Action.report_material]:
        return await again(
            Problem(field_id("upload", "submit"), REJECTED["NotAllowedInPhase"]), 409, "phase"
        )
    if rid is None:
        return await again(
            Problem(field_id("upload", "submit"), "Formularen var ufuldstændig. Send filen igen."),
            422,
            "form",
        )
    codes = {m.code for m in state.required_material}
    if not isinstance(code, str) or code not in codes:
        return await again(
            Problem(field_id("upload", "material-code"), "Vælg, hvilket materiale filen er."),
            422,
            "code",
        )
    sent = form_data.get("file")
    if not isinstance(sent, UploadFile):
        return await again(
            Problem(field_id("upload", "file"), "Vælg den fil, I vil sende."), 422, "no_file"
        )
    data = await sent.read(limit + 1)
    try:
        checked = check_file(sent.filename, data, limit)
    except TooLarge as refused:
        return await again(Problem(field_id("upload", "file"), str(refused)), 413, "too_large")
    except UploadRefused as refused:
        return await again(Problem(field_id("upload", "file"), str(refused)), 422, "refused")
    stored = await case_api.store_material_file(
        services.sessions,
        services.settings.upload_dir,
        reference=access.reference,
        material_code=code,
        filename=checked.filename,
        content_type=checked.content_type,
        data=checked.data,
        sha256=checked.sha256,
        request_id=f"company-upload-{rid}",
    )
    if stored.first:
        await audit(
            request,
            access,
            "company_material_uploaded",
            code=code,
            sha256=checked.sha256,
            size=len(checked.data),
            content_type=checked.content_type,
            file_id=stored.info.id,
        )
    client = await temporal(request)
    try:
        status = await case_api.report_material(
            client, access.reference, [code], request_id=f"company-upload-{rid}"
        )
    except case_api.CaseError as err:
        await audit(
            request, access, "company_action_rejected", form="upload", rejection=err.kind or ""
        )
        problem = Problem(
            field_id("upload", "submit"),
            "Filen er gemt på sagen, men den kunne ikke markeres som modtaget: " + rejection(err),
        )
        return await render_case(
            request, access, await live_state(request, access), errors=[problem], status=409
        )
    title = next(m.title for m in state.required_material if m.code == code)
    if status.missing:
        then = (
            "Vi mangler stadig "
            + views.plural(len(status.missing), "dokument", "dokumenter")
            + ". Når vi har det hele, er sagen fuldt oplyst, og behandlingen går i gang."
        )
    else:
        then = (
            "Nu har vi alt det materiale, vi skal bruge: sagen er fuldt oplyst, og "
            "fagområderne går i gang med behandlingen. I får et brev om det."
        )
    return receipt(
        request,
        access,
        title="Tak – vi har modtaget jeres fil",
        done=[
            (
                f"{checked.filename} ({views.size_text(len(checked.data))}) er gemt på sag "
                f"{access.reference} som »{title}«, og punktet er markeret som modtaget."
            ),
            f"Kontrolsum (SHA-256): {checked.sha256}",
        ],
        then=then,
    )

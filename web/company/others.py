"""Beside the case page: the signed-in company's list of cases (``/virksomhed``), and for
staff the files companies delivered (a JSON list and a download) and the revocation of a
case's page links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

import case_api
from schemas.fields import Reference
from schemas.lists import CaseListQuery
from web.company import views
from web.company.access import log, sign_in_page
from web.company.identity import signed_in_cvr
from web.pages.routes import render
from web.problems import Problem
from web.staff import Staff, staff

router = APIRouter(include_in_schema=False)
StaffMember = Annotated[Staff, Depends(staff)]


@router.get("/virksomhed", response_class=HTMLResponse)
async def company_cases(request: Request) -> HTMLResponse:
    cvr = signed_in_cvr(request)
    if cvr is None:
        return sign_in_page(request)
    sessions = request.app.state.services.sessions
    page = await case_api.list_cases(sessions, CaseListQuery(company_cvr=cvr, limit=200))
    log.info("company case list shown", path=request.url.path, cases=len(page.items))
    rows = [
        {
            "reference": c.reference,
            "title": views.first_upper(views.CASE_TYPE_NAMES[c.case_type]),
            "received": views.danish_date(c.received_at),
            "agreed": views.danish_date(c.agreed_date) if c.agreed_date else "",
            "closed": c.closing_reason is not None,
        }
        for c in page.items
    ]
    response = render(
        request,
        "company_cases.html",
        title="Jeres virksomheds sager",
        breadcrumbs=[("Jeres virksomheds sager", None)],
        rows=rows,
        company=page.items[0].company_name if page.items else "",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _no_such(reference: str) -> Problem:
    return Problem(404, "NotFound", "No such file", f"Case {reference} has no such file.")


@router.get("/sagsbehandler/sager/{reference}/filer")
async def staff_file_list(request: Request, reference: Reference, who: StaffMember):
    """The files companies delivered for the case (JSON), for the staff's case page."""
    files = await case_api.material_files(request.app.state.services.sessions, reference)
    return JSONResponse([f.model_dump(mode="json") for f in files])


@router.get("/sagsbehandler/sager/{reference}/filer/{file_id}")
async def staff_file(request: Request, reference: Reference, file_id: str, who: StaffMember):
    """One delivered file, as an attachment with the type its content was checked to be."""
    services = request.app.state.services
    if not (len(file_id) == 32 and all(c in "0123456789abcdef" for c in file_id)):
        raise _no_such(reference)
    found = await case_api.material_file(
        services.sessions, services.settings.upload_dir, reference, file_id
    )
    if found is None:
        raise _no_such(reference)
    info, content = found
    await case_api.record_web_event(
        services.sessions,
        reference,
        "material_file_downloaded",
        {"file_id": info.id, "caseworker_id": who.id},
    )
    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in info.filename
    )
    from urllib.parse import quote

    return Response(
        content,
        media_type=info.content_type,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(info.filename)}"
            ),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.post("/sagsbehandler/sager/{reference}/sidelinks/tilbagekald")
async def staff_revoke_links(request: Request, reference: Reference, who: StaffMember):
    """Revoke every case page link the case's letters carried (the next letter brings a new
    one): for a letter that reached the wrong person."""
    sessions = request.app.state.services.sessions
    revoked = await case_api.revoke_company_links(sessions, reference)
    await case_api.record_web_event(
        sessions, reference, "company_links_revoked", {"count": revoked, "caseworker_id": who.id}
    )
    return {"revoked": revoked}

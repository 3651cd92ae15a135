"""The monthly reports on the web (commitment 10) and the staff's measurement page.

Public: `/figures/rapporter` (the list), `/figures/rapporter/{YYYY-MM}` (one report, the same
content as the stored HTML, in the site's layout) and `/figures/rapporter/{YYYY-MM}.pdf`.
They show the stored reports only: the report is made by its workflow, never per page view.

Staff (signed in; others are sent to /log-ind): `/sagsbehandler/maaling` lists the survey's
free-text comments (newest first) with a form to tag each with themes from a fixed list, and
the closed cases that broke a promise with a form to record each promise's cause. Every form
carries the CSRF token; setting tags or causes twice gives the same result. The free text is
shown on no public page.
"""

from __future__ import annotations

import re

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

import report_api
from activities.report_render import TITLE, days, met_text, pct, pp, value_text
from domain.texts import danish_datetime
from schemas.report import MONTH_PATTERN, TAGS, BreachCauses, CommentTags
from web import forms
from web.desk.routes import to_sign_in
from web.pages.routes import message_page, not_found, render, templates
from web.problems import Problem
from web.staff import Staff, staff

router = APIRouter(include_in_schema=False)
log = structlog.get_logger("web.reports")
templates.env.filters.update(pct=pct, pp=pp, days=days, met_text=met_text, value_text=value_text)
LIST = ("Månedsrapporter", "/figures/rapporter")
MEASURE = "/sagsbehandler/maaling"
CASE_ID = re.compile(r"^[A-Za-z0-9._-]{1,80}$")
DONE = {
    "tags": "Temaerne er gemt.",
    "aarsager": "Årsagerne er gemt.",
}
CAUSE_LABELS = {
    "contact": "årsagen til den sene kontakt",
    "decision": "årsagen til den sene afgørelse",
    "processing_time": "årsagen til tiden over servicemålet",
}


def _sessions(request: Request):
    return request.app.state.services.sessions


# ----------------------------------------------------------------------------- public pages
@router.get("/figures/rapporter", response_class=HTMLResponse)
async def report_list(request: Request) -> Response:
    return render(
        request,
        "report_list.html",
        title="Månedsrapporter",
        breadcrumbs=[("Tal for erhvervsservicen", "/figures"), ("Månedsrapporter", None)],
        reports=await report_api.reports(_sessions(request)),
    )


@router.get("/figures/rapporter/{month}.pdf")
async def report_pdf(request: Request, month: str) -> Response:
    stored = await _stored(request, month)
    if stored is None:
        return not_found(request)
    return Response(
        stored.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="maanedsrapport-{month}.pdf"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/figures/rapporter/{month}", response_class=HTMLResponse)
async def report_page(request: Request, month: str) -> Response:
    stored = await _stored(request, month)
    if stored is None:
        return not_found(request)
    label = stored.figures["label"]
    return render(
        request,
        "report_month.html",
        title=f"{TITLE} – {label}",
        breadcrumbs=[("Tal for erhvervsservicen", "/figures"), LIST, (label.capitalize(), None)],
        f=stored.figures,
    )


async def _stored(request: Request, month: str):
    if not re.match(MONTH_PATTERN, month):
        return None
    return await report_api.report_of(_sessions(request), month)


# ------------------------------------------------------------------------------ staff page
async def _officer(request: Request) -> Staff | None:
    try:
        return await staff(request)
    except Problem:
        return None


def _to_sign_in() -> RedirectResponse:
    return to_sign_in(MEASURE)


async def _measure_page(
    request: Request,
    officer: Staff,
    *,
    failed: tuple[str, list[forms.FieldError], dict] | None = None,
    status_code: int = 200,
) -> Response:
    sessions = _sessions(request)
    done = None if failed else DONE.get(request.query_params.get("gemt", ""))
    response = render(
        request,
        "measure_overview.html",
        title="Måling: kommentarer og brudte løfter",
        breadcrumbs=[("Arbejdsliste", "/sagsbehandler"), ("Måling", None)],
        status_code=status_code,
        officer=officer,
        csrf=forms.csrf_token(request),
        comments=await report_api.comments(sessions),
        broken=await report_api.broken_promise_cases(sessions),
        tags=TAGS,
        done=done,
        failed=failed,
        when=danish_datetime,
    )
    return forms.ensure_csrf_cookie(request, response)


@router.get(MEASURE, response_class=HTMLResponse)
async def measure(request: Request) -> Response:
    officer = await _officer(request)
    if officer is None:
        return _to_sign_in()
    return await _measure_page(request, officer)


async def _posted(request: Request, case_id: str):
    """(officer, form) of a staff post, or a response to answer with instead."""
    officer = await _officer(request)
    if officer is None:
        return None, _to_sign_in()
    form = await request.form()
    forms.check_csrf(request, form)
    if not CASE_ID.match(case_id):
        return None, not_found(request)
    return officer, form


@router.post(MEASURE + "/kommentarer/{case_id}")
async def tag_comment(request: Request, case_id: str) -> Response:
    officer, form = await _posted(request, case_id)
    if officer is None:
        return form
    try:
        tags = CommentTags.model_validate({"tags": form.getlist("tags")})
    except ValidationError:
        errors = [forms.FieldError("tags", "Vælg temaerne fra listen.")]
        return await _measure_page(request, officer, failed=(case_id, errors, {}), status_code=400)
    if not await report_api.set_tags(_sessions(request), case_id, tags):
        return _gone(request)
    log.info("comment tagged", case_id=case_id, tags=len(tags.tags), by=officer.person.id)
    return RedirectResponse(f"{MEASURE}?gemt=tags#kommentar-{case_id}", status_code=303)


@router.post(MEASURE + "/aarsager/{case_id}")
async def record_causes(request: Request, case_id: str) -> Response:
    officer, form = await _posted(request, case_id)
    if officer is None:
        return form
    values = {k: str(form.get(k, "")) for k in CAUSE_LABELS if k in form}
    try:
        causes = BreachCauses.model_validate(values)
    except ValidationError as err:
        errors = cause_errors(err)
        return await _measure_page(
            request, officer, failed=(case_id, errors, values), status_code=400
        )
    if not await report_api.set_causes(_sessions(request), case_id, causes):
        return _gone(request)
    log.info("breach causes recorded", case_id=case_id, by=officer.person.id)
    return RedirectResponse(f"{MEASURE}?gemt=aarsager#sag-{case_id}", status_code=303)


def cause_errors(err: ValidationError) -> list[forms.FieldError]:
    """One Danish line per refused cause, naming its field (never repeating the value)."""
    found = []
    for problem in err.errors(include_url=False, include_input=False):
        field = str(problem["loc"][0]) if problem["loc"] else ""
        label = CAUSE_LABELS.get(field, "årsagen")
        label = label[:1].upper() + label[1:]
        if "too_long" in problem["type"]:
            message = f"{label} er for lang (højst 300 tegn)."
        else:
            message = f"{label} skal være én linje tekst uden styretegn."
        found.append(forms.FieldError(field, message))
    return found


def _gone(request: Request) -> Response:
    return message_page(
        request,
        title="Sagen findes ikke",
        message="Der er ingen lukket sag eller kommentar med den adresse.",
        status_code=404,
        back=("Tilbage til målingen", MEASURE),
    )

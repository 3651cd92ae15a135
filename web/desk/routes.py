"""The caseworkers' desk in the browser: the worklist (/sagsbehandler) and the staff case page
(/sagsbehandler/sager/{reference}) with a form for each action this person may take.

Every form carries the CSRF token and its own request id; a post is checked (CSRF), refused
by role (the API's rules) with a Danish 403 page and an audit log line, read into the API's
model (errors as a Danish summary linking to the fields), run through the seam with the
request id as its update id (a double submit runs once), and answered with a redirect back to
the case page and a confirmation, or with the case page saying in Danish why the case refused.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from temporalio.service import RPCError

import case_api
from domain.texts import danish_datetime
from schemas.case import CaseState
from schemas.fields import REFERENCE_PATTERN
from schemas.intake import Department
from web import forms
from web.api import officers
from web.api.actions import update_id
from web.desk import actions, reading, texts, views
from web.pages.routes import message_page, not_found, render
from web.problems import Problem
from web.staff import Staff, staff

router = APIRouter(include_in_schema=False)
log = structlog.get_logger("web.desk")
HOME = ("Arbejdsliste", "/sagsbehandler")


@dataclass(frozen=True)
class Failed:
    """A form that came back with errors: which one, its lines, what was typed."""

    form: str
    errors: list[forms.FieldError]
    values: dict[str, str]


async def signed_in(request: Request) -> Staff | None:
    try:
        return await staff(request)
    except Problem:
        return None


def to_sign_in(path: str) -> RedirectResponse:
    return RedirectResponse(f"/log-ind?next={quote(path, safe='/')}", status_code=303)


def case_path(reference: str) -> str:
    return f"/sagsbehandler/sager/{reference}"


def unavailable(request: Request) -> HTMLResponse:
    return message_page(
        request,
        title="Sagssystemet svarer ikke lige nu",
        message="Sagerne kan ikke hentes i øjeblikket. Prøv igen om lidt.",
        status_code=503,
        back=("Tilbage til arbejdslisten", "/sagsbehandler"),
    )


@router.get("/sagsbehandler", response_class=HTMLResponse)
async def worklist_page(request: Request) -> Response:
    officer = await signed_in(request)
    if officer is None:
        return to_sign_in("/sagsbehandler")
    rows = await views.worklist_rows(request.app.state.services, officer, datetime.now(UTC))
    return render(
        request,
        "desk_worklist.html",
        title="Arbejdsliste",
        breadcrumbs=[("Arbejdsliste", None)],
        officer=officer,
        rows=rows,
    )


async def _state(request: Request, reference: str) -> CaseState:
    client = await request.app.state.services.temporal()
    return await case_api.get_state(
        client,
        reference,
        case_api.vault(request.app.state.services.sessions, request.app.state.services.settings),
    )


async def show_case(
    request: Request,
    officer: Staff,
    reference: str,
    *,
    state: CaseState | None = None,
    status_code: int = 200,
    failed: Failed | None = None,
    rejected: str | None = None,
) -> Response:
    """The case page; after a failed post, with its errors or the case's refusal."""
    try:
        if state is None:
            state = await _state(request, reference)
    except case_api.CaseError:
        return not_found(request)
    except (Problem, RPCError):
        return unavailable(request)
    sessions = request.app.state.services.sessions
    events = await case_api.case_events(sessions, reference)
    titles = {line.code: line.title for line in state.required_material}
    files = [
        (f, titles.get(f.material_code, f.material_code), danish_datetime(f.uploaded_at))
        for f in await case_api.material_files(sessions, reference)
    ]
    done = None if failed or rejected else texts.DONE.get(request.query_params.get("udfoert", ""))
    response = render(
        request,
        "desk_case.html",
        title=f"Sag {reference}",
        breadcrumbs=[HOME, (f"Sag {reference}", None)],
        status_code=status_code,
        officer=officer,
        csrf=forms.csrf_token(request),
        new_request_id=forms.new_request_id,
        failed=failed,
        rejected=rejected,
        done=done,
        files=files,
        action_path=lambda key, department=None: action_path(reference, key, department),
        **views.case_view(state, events, officer),
    )
    return forms.ensure_csrf_cookie(request, response)


def action_path(reference: str, key: str, department: str | None = None) -> str:
    slug = actions.ACTIONS[key].slug
    return f"{case_path(reference)}/{slug}" + (f"/{department}" if department else "")


def valid_reference(reference: str) -> bool:
    return len(reference) <= 64 and re.fullmatch(REFERENCE_PATTERN, reference) is not None


@router.get("/sagsbehandler/sager/{reference}", response_class=HTMLResponse)
async def case_page(request: Request, reference: str) -> Response:
    if not valid_reference(reference):
        return not_found(request)
    officer = await signed_in(request)
    if officer is None:
        return to_sign_in(case_path(reference))
    return await show_case(request, officer, reference)


@router.post("/sagsbehandler/sager/{reference}/{slug}", response_class=HTMLResponse)
async def act(request: Request, reference: str, slug: str) -> Response:
    return await _act(request, reference, slug, None)


@router.post("/sagsbehandler/sager/{reference}/{slug}/{department}", response_class=HTMLResponse)
async def act_for_department(
    request: Request, reference: str, slug: str, department: str
) -> Response:
    return await _act(request, reference, slug, department)


def refused(
    request: Request, reference: str, action: actions.DeskAction, why: str, department
) -> Response:
    """A refusal by role: a Danish 403 page and an audit line (no personal data)."""
    log.info("refused", path=request.url.path, status=403, reason=f"{action.key}: {why}")
    name = texts.department_name(department.value).lower() if department else ""
    return message_page(
        request,
        title="Handlingen hører ikke til din rolle",
        message=texts.NOT_YOUR_ROLE[why].format(department=name),
        status_code=403,
        back=("Tilbage til sagen", case_path(reference)),
    )


async def _act(request: Request, reference: str, slug: str, department: str | None) -> Response:
    action = actions.BY_SLUG.get(slug)
    if action is None or action.per_department != (department is not None):
        return not_found(request)
    if not valid_reference(reference):
        return not_found(request)
    dept = None
    if department is not None:
        try:
            dept = Department(department)
        except ValueError:
            return not_found(request)
    officer = await signed_in(request)
    if officer is None:
        return to_sign_in(case_path(reference))
    form = await request.form()
    forms.check_csrf(request, form)
    request_id = reading.request_id_of(form)
    try:
        state = await _state(request, reference)
    except case_api.CaseError:
        return not_found(request)
    except (Problem, RPCError):
        return unavailable(request)
    if why := action.role(officer, state, dept, None):
        return refused(request, reference, action, why, dept)
    form_id = form_id_of(action, dept, form)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        body = reading.parse(action, form)
    except ValidationError as err:
        failed = Failed(form_id, reading.field_errors(action, err), values)
        return await show_case(
            request, officer, reference, state=state, status_code=422, failed=failed
        )
    if why := action.role(officer, state, dept, body):
        return refused(request, reference, action, why, dept)
    client = await request.app.state.services.temporal()
    try:
        await action.run(client, reference, dept, body, update_id(officer.id, request_id))
    except case_api.CaseError as err:
        if not await took_effect(client, reference, action, officer, dept, body):
            log.info("rejected", path=request.url.path, kind=err.kind or "Rejected")
            return await show_case(
                request, officer, reference, status_code=409, rejected=texts.rejection(err.kind)
            )
    except RPCError:
        return unavailable(request)
    done = "handover" if action.key == "take" and body.replacing else action.key
    return RedirectResponse(f"{case_path(reference)}?udfoert={done}", status_code=303)


def form_id_of(action: actions.DeskAction, department, form) -> str:
    """The id of the form on the page (its fields' ids begin with it)."""
    if department is not None:
        return f"{action.key}-{department.value}"
    topic = form.get("topic")
    if action.key in ("cancel", "held") and topic in texts.TOPIC_LABELS:
        return f"{action.key}-{topic}"
    return action.key


def _done(key: str, state: CaseState, officer: Staff, department, body) -> bool:
    """Whether *state* shows the result of the action *key* as this post asked for it."""
    if key == "review":
        done = state.reviews.get(department.value)
        return done is not None and done.outcome == body.outcome and done.text == body.text
    if key == "decision":
        return state.decision_issued and officers.is_coordinator(officer, state)
    if key == "dismiss":
        return state.closing is not None and state.closing.value == "dismissed_incomplete"
    if key in ("take", "handover"):
        return state.caseworker is not None and state.caseworker.id == body.caseworker_id
    return False


async def took_effect(client, reference: str, action, officer: Staff, department, body) -> bool:
    """A repeated post whose first run already did it (the case or review has moved on since,
    so the seam refuses the repeat): the state shows the result, and the repeat is a success.
    A review's result reaches the case a moment after the review took it, so that is awaited
    (up to 3 s); the other results are in the state at once."""
    tries = 15 if action.key == "review" else 1
    for attempt in range(tries):
        if attempt:
            await asyncio.sleep(0.2)
        try:
            state = await case_api.get_state(client, reference)
        except (case_api.CaseError, RPCError):
            return False
        if _done(action.key, state, officer, department, body):
            return True
    return False

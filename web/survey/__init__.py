"""The satisfaction survey's answer page (commitment 9), opened from the survey e-mail's
signed link `GET /survey/{case_id}?token=...` (`domain.survey`: an HMAC of the case id; the
link format of every survey e-mail already sent).

Danish, server-rendered, no JavaScript: the five-point scale plus "ved ikke" for each question
the case is asked (coordination only across departments, the pre-dialogue only where one was
held) and one free-text field. One answer per case; a second visit shows the answer and allows
a change until the survey closes. The token rides in a hidden field on POST (never in a log:
the access log logs paths only); CSRF and a rate limit guard the form, and the form's request
id makes a double submit one answer. Everything goes through `survey_api`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

import survey_api
from domain.survey import verify_survey_token
from domain.texts import danish_date
from schemas.survey import COMMENT_MAX, SurveyAnswer
from web import forms
from web.pages import message_page, render

router = APIRouter(include_in_schema=False)
RATE = "10/minute"
SCALE = [
    ("5", "Meget tilfreds"),
    ("4", "Tilfreds"),
    ("3", "Hverken tilfreds eller utilfreds"),
    ("2", "Utilfreds"),
    ("1", "Meget utilfreds"),
    ("0", "Ved ikke"),
]
QUESTION_TEXT = {
    "overall": "Hvor tilfredse er I samlet set med sagsbehandlingen?",
    "processing_time": "Hvor tilfredse er I med sagsbehandlingstiden?",
    "process": "Hvor tilfredse er I med forløbet?",
    "guidance": "Hvor tilfredse er I med vejledningen om, hvilket materiale I skulle sende?",
    "coordination": "Hvor tilfredse er I med koordineringen mellem fagområderne?",
    "pre_dialogue": "Hvor tilfredse er I med forhåndsdialogen?",
}
LABELS = {
    "overall": "den samlede tilfredshed",
    "processing_time": "sagsbehandlingstiden",
    "process": "forløbet",
    "guidance": "vejledningen om materiale",
    "coordination": "koordineringen mellem fagområderne",
    "pre_dialogue": "forhåndsdialogen",
    "comment": "jeres kommentar",
}


def _services(request: Request):
    return request.app.state.services


def _refused(request: Request) -> Response:
    return message_page(
        request,
        title="Linket virker ikke",
        message=(
            "Linket til tilfredshedsundersøgelsen er ikke gyldigt. Brug linket i den e-mail, "
            "I fik fra os, og kopiér det helt, hvis I indsætter det i browseren."
        ),
        status_code=403,
    )


def _closed(request: Request, status: survey_api.SurveyStatus) -> Response:
    when = danish_date(status.closes_at) if status.closes_at else ""
    answered = " Tak, fordi I svarede." if status.answer else ""
    return message_page(
        request,
        title="Undersøgelsen er lukket",
        message=(
            f"Tilfredshedsundersøgelsen for sag {status.reference} lukkede {when}, så der kan "
            f"ikke længere svares eller ændres i svaret.{answered}"
        ),
        status_code=410,
    )


def _not_ready(request: Request) -> Response:
    return message_page(
        request,
        title="Undersøgelsen er ikke klar endnu",
        message="Vi er ved at gøre undersøgelsen klar. Prøv igen om et øjeblik.",
        status_code=404,
    )


def _valid(case_id: str, token: str, request: Request) -> bool:
    if not token or len(token) > 64 or len(case_id) > 80:
        return False
    secret = _services(request).settings.survey_secret.get_secret_value().encode()
    return verify_survey_token(case_id, token, secret)


def _form_page(
    request: Request,
    status: survey_api.SurveyStatus,
    token: str,
    values: dict[str, str],
    errors: list[forms.FieldError],
    request_id: str,
    code: int = 200,
) -> Response:
    response = render(
        request,
        "survey_form.html",
        title="Hvad synes I om sagsbehandlingen?",
        status_code=code,
        status=status,
        token=token,
        values=values,
        errors=errors,
        request_id=request_id,
        csrf=forms.csrf_token(request),
        scale=SCALE,
        questions=[(q, QUESTION_TEXT[q]) for q in status.questions],
        comment_max=COMMENT_MAX,
        closes=danish_date(status.closes_at) if status.closes_at else None,
    )
    forms.ensure_csrf_cookie(request, response)
    return response


def _values_of(answer: SurveyAnswer | None) -> dict[str, str]:
    if answer is None:
        return {}
    data = answer.model_dump()
    return {k: ("" if v is None else str(v)) for k, v in data.items()}


@router.get("/survey/{case_id}")
async def survey_page(request: Request, case_id: str, token: str = "") -> Response:
    if not _valid(case_id, token, request):
        return _refused(request)
    status = await survey_api.survey_status(_services(request).sessions, case_id)
    if status is None or status.sent_at is None:
        return _not_ready(request)
    if status.closed:
        return _closed(request, status)
    return _form_page(request, status, token, _values_of(status.answer), [], forms.new_request_id())


def _read(form, questions: tuple[str, ...]) -> tuple[dict[str, str], dict[str, Any]]:
    values = {q: str(form.get(q, "")) for q in questions}
    values["comment"] = str(form.get("comment", ""))
    data: dict[str, Any] = {"comment": values["comment"]}
    for q in questions:
        raw = values[q]
        data[q] = int(raw) if raw in {"0", "1", "2", "3", "4", "5"} else None
    return values, data


@router.post("/survey/{case_id}")
async def answer(request: Request, case_id: str) -> Response:
    form = await forms.read_form(request)
    forms.check_csrf(request, form)
    forms.check_rate(request, "survey", RATE)
    token = str(form.get("token", ""))
    if not _valid(case_id, token, request):
        return _refused(request)
    services = _services(request)
    status = await survey_api.survey_status(services.sessions, case_id)
    if status is None or status.sent_at is None:
        return _not_ready(request)
    if status.closed:
        return _closed(request, status)
    request_id = str(form.get("request_id", ""))
    if not (request_id.isalnum() and 16 <= len(request_id) <= 64):
        request_id = forms.new_request_id()
    values, data = _read(form, status.questions)
    errors = [
        forms.FieldError(q, f"Vælg et svar om {LABELS[q]} (eller “Ved ikke”).")
        for q in status.questions
        if data[q] is None
    ]
    parsed = None
    try:
        parsed = SurveyAnswer.model_validate(
            {k: v for k, v in data.items() if v is not None or k == "comment"}
        )
    except ValidationError as err:
        errors += [e for e in forms.danish_errors(err, LABELS) if e.field == "comment"]
    if errors or parsed is None:
        return _form_page(request, status, token, values, errors, request_id, code=422)
    try:
        client = await services.temporal()
    except Exception:  # noqa: BLE001 - the answer is stored without telling the workflow
        client = None
    try:
        await survey_api.answer_survey(client, services.sessions, case_id, parsed, request_id)
    except survey_api.SurveyError as err:
        if err.kind == "Closed":
            return _closed(request, status)
        return _not_ready(request)
    changed = status.answer is not None
    return render(
        request,
        "survey_receipt.html",
        title="Tak for jeres svar",
        reference=status.reference,
        changed=changed,
        change_url=f"/survey/{case_id}?token={token}",
        closes=danish_date(status.closes_at) if status.closes_at else None,
    )

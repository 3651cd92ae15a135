"""The forms' common ground (web/forms.py) over real HTTP handling (FastAPI, in process):
CSRF tokens bound to the browser's cookie, rate limits with Retry-After, Danish error lines
that name the field and never the value; a browser's 404 is a Danish page, the API's a problem.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from settings import Settings
from web import forms, pages


def form_app() -> FastAPI:
    app = FastAPI()
    app.state.services = SimpleNamespace(settings=Settings())
    app.add_exception_handler(forms.FormRefused, pages.on_form_refused)
    app.add_exception_handler(StarletteHTTPException, pages.on_http)

    @app.get("/formular")
    async def show(request: Request) -> HTMLResponse:
        token = forms.csrf_token(request)
        return forms.ensure_csrf_cookie(request, HTMLResponse(token))

    @app.post("/formular")
    async def send(request: Request) -> HTMLResponse:
        form = await request.form()
        forms.check_csrf(request, form)
        forms.check_rate(request, "test-form", "3/minute")
        return HTMLResponse("sendt")

    return app


@pytest.fixture
def http():
    forms.reset_rate_limits()
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=form_app()), base_url="http://127.0.0.1"
    )


async def test_a_form_passes_with_the_token_of_its_own_cookie(http):
    async with http:
        page = await http.get("/formular")
        cookie = page.cookies[forms.CSRF_COOKIE]
        assert "httponly" in page.headers["set-cookie"].lower()
        assert "samesite=strict" in page.headers["set-cookie"].lower()
        sent = await http.post("/formular", data={forms.CSRF_FIELD: page.text})
        assert sent.status_code == 200 and sent.text == "sendt"
        # The same browser keeps its cookie: the next page's token is the same one.
        again = await http.get("/formular")
        assert again.text == page.text and forms.CSRF_COOKIE not in again.cookies
        assert http.cookies[forms.CSRF_COOKIE] == cookie


@pytest.mark.parametrize(
    "case", ["no token", "wrong token", "token of another cookie", "foreign origin"]
)
async def test_a_form_without_its_token_is_refused_in_danish(http, case):
    async with http:
        page = await http.get("/formular")
        data = {forms.CSRF_FIELD: page.text}
        headers = {}
        if case == "no token":
            data = {}
        elif case == "wrong token":
            data = {forms.CSRF_FIELD: page.text[:-2] + "xx"}
        elif case == "token of another cookie":
            http.cookies.set(forms.CSRF_COOKIE, "a" * 32)
        else:
            headers = {"Origin": "https://angriber.example"}
        sent = await http.post("/formular", data=data, headers=headers)
        assert sent.status_code == 403
        assert sent.headers["content-type"].startswith("text/html")
        assert "Formularen kunne ikke sendes" in sent.text
        assert "genindlæs siden" in sent.text


async def test_too_many_posts_from_one_address_get_429_with_retry_after(http):
    async with http:
        token = (await http.get("/formular")).text
        answers = [
            (await http.post("/formular", data={forms.CSRF_FIELD: token})).status_code
            for _ in range(4)
        ]
        assert answers == [200, 200, 200, 429]
        refused = await http.post("/formular", data={forms.CSRF_FIELD: token})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 61
        assert "For mange forsøg" in refused.text


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: Annotated[str, Field(min_length=1, max_length=10)]
    count: int


def test_errors_are_danish_lines_naming_the_field_by_its_label_never_the_value():
    secret_value = "hemmelig@firma.dk-lang-tekst"
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate({"topic": secret_value, "count": "mange"})
    lines = forms.danish_errors(caught.value, {"topic": "emne", "count": "antal deltagere"})
    assert [(e.field, e.message) for e in lines] == [
        ("topic", "Emne er for lang (højst 10 tegn)."),
        ("count", "Antal deltagere skal være et tal."),
    ]
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate({})
    lines = forms.danish_errors(caught.value, {"topic": "emne", "count": "antal deltagere"})
    assert [e.message for e in lines] == ["Udfyld emne.", "Udfyld antal deltagere."]
    assert all(secret_value not in e.message for e in lines)


async def test_a_browser_gets_a_danish_404_page_and_the_api_a_problem(http):
    async with http:
        page = await http.get("/findes-ikke", headers={"Accept": "text/html"})
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "Siden findes ikke" in page.text
        api = await http.get("/api/v1/findes-ikke", headers={"Accept": "text/html"})
        assert api.status_code == 404
        assert api.headers["content-type"] == "application/problem+json"

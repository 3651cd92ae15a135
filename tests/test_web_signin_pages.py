"""The sign-in page (/log-ind) and signing out (/log-ud): over httpx (the dev picker's form with
CSRF, its Danish errors, its refusals) and in a real browser (Playwright driving Debian's
chromium, axe-core: 0 WCAG 2.1 A/AA violations): the dev picker signs a caseworker in, the
browser signs out, then goes through OpenID Connect against the real test provider, which
runs on another site ("localhost" against the app's "127.0.0.1"), so the way back from the
provider is cross-site as in production, and ends signed in with the SameSite=Strict cookie.
Screenshots: tests/artifacts/screenshots/signin-*.png.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from stack.dev import prepared_settings
from stack.ports import free_port
from tests.oidc_provider import running_provider, serving
from tests.test_e2e import stack  # noqa: F401 - the dev stack (its Postgres is used here)
from tests.test_web_pages import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, WCAG_TAGS, describe
from web import forms
from web.app import create_app

pytestmark = pytest.mark.e2e

CLIENT, SECRET = "erhverv-staff", "staff-secret-for-browser-tests"


@pytest_asyncio.fixture(scope="module")
async def base_settings(stack):  # noqa: F811
    settings = await prepared_settings(stack, f"signin-{uuid.uuid4()}")
    return settings.model_copy(update={"dev_sign_in": True})


@pytest.fixture(scope="module")
def served(base_settings):
    """The app on uvicorn (127.0.0.1) and the provider (named localhost: another site)."""
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    with running_provider({CLIENT: (SECRET, [f"{site}/auth/callback"])}, "localhost") as idp:
        settings = base_settings.model_copy(
            update={
                "oidc_issuer": idp.issuer,
                "oidc_client_id": CLIENT,
                "oidc_client_secret": SecretStr(SECRET),
                "oidc_redirect_base": site,
            }
        )
        with serving(create_app(settings), "uvicorn-signin", port):
            yield site, idp


@pytest.fixture(autouse=True)
def no_counted_posts():
    forms.reset_rate_limits()


@pytest_asyncio.fixture
async def http(base_settings):
    app = create_app(base_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers={"accept": "text/html"}
        ) as client:
            yield client


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


# --- over httpx ----------------------------------------------------------------------------


async def test_the_page_offers_the_directory_on_the_dev_stack_only(http, base_settings):
    page = await http.get("/log-ind")
    assert page.status_code == 200 and '<html lang="da">' in page.text
    assert "<script" not in page.text
    for person in ("mkj", "sfl", "abr", "jha"):
        assert f'id="cw-{person}"' in page.text and f'for="cw-{person}"' in page.text
    assert "Log ind med kommunens login" not in page.text  # OpenID Connect is not configured
    assert "ikke sat op" not in page.text
    off = create_app(base_settings.model_copy(update={"dev_sign_in": False}))
    async with (
        off.router.lifespan_context(off),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=off), base_url="http://127.0.0.1"
        ) as plain,
    ):
        page = await plain.get("/log-ind")
        assert 'name="caseworker_id"' not in page.text and "ikke sat op" in page.text
        refused = await plain.post("/log-ind/dev", data={"caseworker_id": "mkj"})
        assert refused.status_code == 404 and "erhverv_staff" not in refused.cookies


async def test_the_dev_form_signs_in_only_with_its_csrf_token(http):
    page = await http.get("/log-ind?next=/log-ind")
    token = csrf_of(page.text)
    assert 'name="next" value="/log-ind"' in page.text
    forged = await http.post("/log-ind/dev", data={"caseworker_id": "mkj", "next": "/log-ind"})
    assert forged.status_code == 403 and "Formularen kunne ikke sendes" in forged.text
    assert "erhverv_staff" not in http.cookies

    done = await http.post(
        "/log-ind/dev", data={"csrf_token": token, "caseworker_id": "mkj", "next": "/log-ind"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/log-ind"
    cookie = done.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = await http.get("/log-ind")
    assert "Logget ind som <strong>Mette Kjær Jensen</strong> (mkj)" in page.text
    assert (await http.get("/api/v1/worklist")).status_code == 200

    out = await http.post("/log-ud", data={"csrf_token": csrf_of(page.text)})
    assert out.status_code == 303 and out.headers["location"] == "/log-ind"
    assert "erhverv_staff" not in http.cookies
    assert (await http.get("/api/v1/worklist")).status_code == 401


async def test_the_dev_form_answers_in_danish_and_refuses_strangers(http):
    token = csrf_of((await http.get("/log-ind")).text)
    missing = await http.post("/log-ind/dev", data={"csrf_token": token})
    assert missing.status_code == 422
    assert "Der er 1 fejl i formularen" in missing.text
    assert '<a href="#cw-abr">Vælg en sagsbehandler.</a>' in missing.text
    extra = await http.post(
        "/log-ind/dev", data={"csrf_token": token, "caseworker_id": "mkj", "admin": "1"}
    )
    assert extra.status_code == 422 and "erhverv_staff" not in http.cookies
    stranger = await http.post("/log-ind/dev", data={"csrf_token": token, "caseworker_id": "zzz"})
    assert stranger.status_code == 403 and "Ingen adgang" in stranger.text
    bad = await http.post("/log-ind/dev", data={"csrf_token": token, "caseworker_id": "m\x00k"})
    assert bad.status_code == 422 and "erhverv_staff" not in http.cookies
    away = await http.post(
        "/log-ind/dev",
        data={"csrf_token": token, "caseworker_id": "sfl", "next": "https://evil.example/"},
    )
    assert away.status_code == 303 and away.headers["location"] == "/sagsbehandler"


# --- in chromium ---------------------------------------------------------------------------


async def check_page(page, axe, name: str, fields: bool = False) -> None:
    """0 violations; the key rules passed (with *fields*: the form controls' labels too)."""
    results = await axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    violations = results.response["violations"]
    assert not violations, (name, describe(violations))
    passes = {rule["id"] for rule in results.response["passes"]}
    expected = {"color-contrast", "html-has-lang", "document-title"} | (
        {"label"} if fields else set()
    )
    assert expected <= passes, name
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"signin-{name}.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert Path(shot).stat().st_size > 10_000


async def test_a_browser_signs_in_with_the_picker_and_with_openid_connect(served):
    site, idp = served
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: ./dev test installs it (as root: apt-get install chromium)"
    )
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    axe = Axe()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 900}, locale="da-DK"
            )
            page = await context.new_page()
            await page.goto(f"{site}/log-ind?next=/log-ind")
            await check_page(page, axe, "page", fields=True)
            assert await page.get_by_role("link", name="Log ind med kommunens login").count() == 1

            # The picker, sent without a choice: a Danish error summary, still accessible.
            await page.get_by_role("button", name="Log ind som den valgte").click()
            await page.wait_for_load_state()
            assert "Vælg en sagsbehandler." in await page.inner_text("main")
            await check_page(page, axe, "dev-error", fields=True)

            await page.get_by_label("Mette Kjær Jensen (mkj)").check()
            await page.get_by_role("button", name="Log ind som den valgte").click()
            await page.wait_for_url(f"{site}/log-ind")
            assert "Logget ind som Mette Kjær Jensen (mkj)." in await page.inner_text("main")
            await check_page(page, axe, "dev-signed-in")

            await page.get_by_role("button", name="Log ud").click()
            await page.wait_for_url(f"{site}/log-ind")
            assert await page.get_by_label("Mette Kjær Jensen (mkj)").count() == 1

            # OpenID Connect: to the provider on another site and back, signed in.
            idp.person = {"sub": "browser-1", "email": "jha@kommune.example"}
            await page.goto(f"{site}/log-ind?next=/log-ind")
            await page.get_by_role("link", name="Log ind med kommunens login").click()
            await page.wait_for_url(f"{site}/log-ind", timeout=15_000)
            main = await page.inner_text("main")
            assert "Logget ind som Jørgen Hald Andersen (jha)." in main, main
            await check_page(page, axe, "oidc-signed-in")
            cookies = {c["name"]: c for c in await context.cookies(site)}
            assert cookies["erhverv_staff"]["sameSite"] == "Strict"
            assert cookies["erhverv_staff"]["httpOnly"] is True
            assert "erhverv_oidc_staff" not in cookies  # the handshake is spent

            # Someone the directory does not know: a Danish 403 page, accessible too.
            await page.get_by_role("button", name="Log ud").click()
            await page.wait_for_url(f"{site}/log-ind")
            idp.person = {"sub": "browser-2", "email": "ukendt@firma.example"}
            await page.get_by_role("link", name="Log ind med kommunens login").click()
            await page.wait_for_load_state()
            assert "Ingen adgang" in await page.inner_text("main")
            await check_page(page, axe, "oidc-refused")
        finally:
            await browser.close()

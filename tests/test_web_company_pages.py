"""The company's case page in a real browser (Playwright driving Debian's chromium) over the
real stack: the receipt read as it arrived in the SMTP sink, its link followed, a PDF
uploaded and the item seen as received, a refused upload's error summary, the agreed date
moved by an officer (through case_api) and the change with its reason on the page, the
withdrawal's confirmation, a company signed in with MitID Erhverv, and the Danish refusals of
a tampered and an expired link. axe-core: 0 WCAG 2.1 A/AA violations on every page;
screenshots under tests/artifacts/screenshots/company-*.png."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import pytest_asyncio

import case_api
from domain import company_link
from domain.texts import danish_date
from tests.serving import serving
from tests.test_e2e import product, stack  # noqa: F401 - the running stack and worker
from tests.test_web_company import PDF, new_case
from tests.test_web_pages import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, WCAG_TAGS
from web.app import create_app
from web.company.identity import COOKIE as COMPANY_COOKIE
from web.company.identity import company_cookie

pytestmark = pytest.mark.e2e


class Served:
    """The app under uvicorn in a thread (its own Postgres pool and Temporal client)."""

    def __init__(self, settings):
        self.settings = settings
        self._serving = serving(create_app(settings), "uvicorn-company")
        self.url = ""

    def __enter__(self):
        self.url = self._serving.__enter__()
        return self

    def __exit__(self, *exc):
        return self._serving.__exit__(*exc)


class Site:  # what tests.test_web_company.new_case needs
    def __init__(self, settings, client):
        self.settings, self.client = settings, client


@pytest_asyncio.fixture(scope="module")
async def served(product):  # noqa: F811
    settings, client, sessions = product
    with Served(settings) as app:
        yield app, Site(settings, client), sessions


@pytest_asyncio.fixture(scope="module")
async def browser_page():
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: ./dev test installs it"
    from playwright.async_api import async_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 800}, locale="da-DK"
            )
            yield context, await context.new_page()
        finally:
            await browser.close()


async def check(page, name: str) -> str:
    """axe over the page (0 violations of WCAG 2.1 A/AA), a full-page screenshot; the text."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    violations = results.response["violations"]
    assert not violations, (
        name,
        [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations],
    )
    passes = {rule["id"] for rule in results.response["passes"]}
    assert {"color-contrast", "html-has-lang", "document-title"} <= passes, name
    shot = SCREENSHOTS / f"company-{name}.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    return await page.inner_text("main")


async def eventually(check_, tries: int = 150):
    for _ in range(tries):
        if result := await check_():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("did not happen in time")


async def test_the_company_follows_its_case_from_the_receipt_link(
    served,
    browser_page,
    stack,  # noqa: F811
    tmp_path,
):
    app, site, _ = served
    _, page = browser_page
    reference, link = await new_case(site, stack, tag="PW")

    answer = await page.goto(app.url + link)
    assert answer.status == 200
    text = await check(page, "case")
    assert f"Jeres sag {reference}" in text and "Sagens forløb" in text
    # Tab reaches the skip link first (the page's first focus stop)
    await page.keyboard.press("Tab")
    assert await page.evaluate("() => document.activeElement.className") == "skipnav"

    # A refused upload: an HTML file renamed .pdf; the error summary leads to the field
    fake = tmp_path / "tegning.pdf"
    fake.write_bytes(b"<!DOCTYPE html><html><body>ikke en pdf</body></html>")
    await page.set_input_files("#upload-file", str(fake))
    await page.click("#upload-submit")
    text = await check(page, "upload-error")
    assert "hverken en PDF-fil" in text
    await page.click(".company-error-summary a")
    assert await page.evaluate("() => document.activeElement.id") == "upload-file"

    # A real PDF for the first missing item
    code = await page.eval_on_selector("#upload-material-code", "e => e.value")
    title = await page.eval_on_selector("#upload-material-code", "e => e.selectedOptions[0].text")
    plan = tmp_path / "situationsplan.pdf"
    plan.write_bytes(PDF)
    await page.set_input_files("#upload-file", str(plan))
    await page.click("#upload-submit")
    text = await check(page, "upload-receipt")
    assert "Tak – vi har modtaget jeres fil" in text and "situationsplan.pdf" in text
    await page.click(f"text=Tilbage til jeres sag {reference}")
    text = await page.inner_text("main")
    assert f"Modtaget: {title}" in text and "situationsplan.pdf" in text

    # An officer takes the case; the rest of the material arrives; the building review asks
    # for more time, which moves the agreed date.
    await case_api.assign_caseworker(site.client, reference, "mkj")
    state = await case_api.get_state(site.client, reference)
    rest = [m.code for m in state.required_material if m.code not in state.received_material]
    await case_api.report_material(site.client, reference, rest)

    async def more_time():
        try:
            return await case_api.request_more_time(
                site.client,
                reference,
                "building",
                working_days=5,
                reason="Vi afventer en statisk vurdering af tagkonstruktionen.",
            )
        except case_api.CaseError:
            return None

    await eventually(more_time)
    state = await case_api.get_state(site.client, reference)
    change = state.date_changes[-1]
    await page.goto(app.url + link)
    text = await check(page, "date-changed")
    assert "Vi afventer en statisk vurdering af tagkonstruktionen." in text
    assert danish_date(change.new) in text and danish_date(change.old) in text
    assert f"Senest {danish_date(state.agreed_date)}" in text
    assert code not in text  # codes stay inside; the page speaks in titles

    # The withdrawal asks first
    await page.click(f"text=Træk sag {reference} tilbage")
    text = await check(page, "withdraw-confirm")
    assert "Det kan ikke fortrydes" in text
    await page.click("#withdraw-submit")  # without the confirmation: an error summary
    text = await check(page, "withdraw-error")
    assert "bekræftelsen" in text


async def test_refused_links_and_the_signed_in_company_pages(served, browser_page, stack):  # noqa: F811
    app, site, _ = served
    context, page = browser_page
    reference, link = await new_case(site, stack, tag="PR")
    token = link.split("t=", 1)[1]

    answer = await page.goto(f"{app.url}/sag?t={token[:-4]}AAAA")
    assert answer.status == 403
    text = await check(page, "link-tampered")
    assert "Linket er ikke gyldigt" in text

    secret = company_link.signing_secret(
        site.settings.company_link_secret.get_secret_value(),
        site.settings.web_secret.get_secret_value(),
    )
    case_id = f"case-{reference}"
    days = site.settings.company_link_days
    old = company_link.make_token(
        secret,
        case_id,
        company_link.link_id_for(case_id, "receipt"),
        now=time.time() - (days + 1) * 86400,
    )
    answer = await page.goto(f"{app.url}/sag?t={old}")
    assert answer.status == 410
    text = await check(page, "link-expired")
    assert "Linket er udløbet" in text and "nyt link" in text

    answer = await page.goto(f"{app.url}/virksomhed")
    assert answer.status == 401
    await check(page, "sign-in-needed")

    cookie = company_cookie(site.settings.web_secret.get_secret_value().encode(), "29189420")
    await context.add_cookies(
        [{"name": COMPANY_COOKIE, "value": cookie, "url": app.url, "httpOnly": True}]
    )

    async def listed():
        await page.goto(f"{app.url}/virksomhed")
        return reference in await page.inner_text("main")

    await eventually(listed, tries=60)
    await check(page, "cases")
    await page.click(f"text={reference}")
    text = await check(page, "case-signed-in")
    assert f"Jeres sag {reference}" in text
    await context.clear_cookies()

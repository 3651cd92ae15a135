"""The caseworkers' desk in a real browser: Debian's chromium (Playwright) on the app served by
uvicorn over the real worker, Temporal and Postgres. An officer signs in, sees the new case on
the worklist, takes it, the officers of building and fire submit their reviews, and the
coordinator issues the decision, all by filling in and sending the pages' forms; axe-core
reports 0 WCAG 2.1 A/AA violations on every page on the way (the error summary, the
confirmation, the role refusal and the dev mail-sink pages included); full-page screenshots
go to tests/artifacts/screenshots/desk-*.png."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

import access
from tests.serving import serving
from tests.test_e2e import product, stack  # noqa: F401 - the running stack and worker
from tests.test_web_api import auth, document
from tests.test_web_pages import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, WCAG_TAGS, describe
from web.app import create_app
from web.staff import COOKIE

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(product):  # noqa: F811
    """The app on a free port in a thread (its own Postgres pool and Temporal client, in its
    own event loop), with the dev sign-in and the mail-sink page on."""
    settings, _, _ = product
    settings = settings.model_copy(update={"dev_sign_in": True, "mail_sink_page": True})
    with serving(create_app(settings), "uvicorn-desk") as url:
        yield url


@pytest_asyncio.fixture(scope="module")
async def chromium():
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: ./dev test installs it (as root: apt-get install chromium)"
    )
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


class Visits:
    """Every page checked with axe and kept as a screenshot."""

    def __init__(self) -> None:
        from axe_playwright_python.async_playwright import Axe

        self.axe = Axe()
        self.violations: dict[str, str] = {}
        self.passes: dict[str, set[str]] = {}
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    async def check(self, page, name: str) -> None:
        results = await self.axe.run(
            page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}}
        )
        if results.response["violations"]:
            self.violations[name] = describe(results.response["violations"])
        self.passes[name] = {rule["id"] for rule in results.response["passes"]}
        shot = SCREENSHOTS / f"desk-{name}.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000, shot


async def officer(chromium, served: str, caseworker_id: str):
    """A browser context signed in as *caseworker_id* (the dev sign-in's cookie)."""
    async with httpx.AsyncClient(base_url=served, trust_env=False) as http:
        answer = await http.post("/auth/dev/sign-in", json={"caseworker_id": caseworker_id})
        assert answer.status_code == 200, answer.text
        cookie = answer.cookies[COOKIE]
    context = await chromium.new_context(viewport={"width": 1280, "height": 900}, locale="da-DK")
    await context.add_cookies([{"name": COOKIE, "value": cookie, "url": served}])
    page = await context.new_page()
    page.set_default_timeout(10_000)
    return page


async def until(page, url: str, selector: str, tries: int = 60) -> None:
    """Open *url* until *selector* is on it (the case moves on in the background)."""
    for _ in range(tries):
        await page.goto(url)
        if await page.locator(selector).count():
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"{selector} never appeared on {url}")


async def test_an_officer_completes_a_case_in_the_browser(chromium, served, product):  # noqa: F811
    _, _, sessions = product
    key = await access.create_api_key(sessions, f"desk-{uuid.uuid4().hex[:6]}")
    reference = f"DESK-B-{uuid.uuid4().hex[:8]}"
    case_url = f"{served}/sagsbehandler/sager/{reference}"
    async with httpx.AsyncClient(base_url=served, trust_env=False) as system:
        body = document(reference)
        assert (await system.post("/api/v1/cases", json=body, headers=auth(key))).status_code == 201
    visits = Visits()

    mkj = await officer(chromium, served, "mkj")
    await until(mkj, f"{served}/sagsbehandler", f"a[href='/sagsbehandler/sager/{reference}']")
    assert await mkj.locator("table caption").count() == 1
    await visits.check(mkj, "worklist")
    await mkj.click(f"a[href='/sagsbehandler/sager/{reference}']")
    assert (await mkj.locator("h1").inner_text()).split() == [
        "Sag",
        reference,
        "Industri-",
        "og",
        "lagerbygning",
    ]
    await visits.check(mkj, "case-new")
    await mkj.click("#take button[type=submit]")
    assert "Sagen er din nu" in await mkj.locator(".desk-alert-success").inner_text()
    await visits.check(mkj, "case-taken")

    async with httpx.AsyncClient(base_url=served, trust_env=False) as system:
        state = (await system.get(f"/api/v1/cases/{reference}", headers=auth(key))).json()
        codes = [m["code"] for m in state["required_material"]]
        sent = await system.post(
            f"/api/v1/cases/{reference}/material", json={"codes": codes}, headers=auth(key)
        )
        assert sent.json()["complete"] is True

    # An empty review: the error summary, its link leading to the field.
    await until(mkj, case_url, "#review-building")
    await mkj.check("#review-building-outcome")
    await mkj.click("#review-building button[type=submit]")
    summary = mkj.locator(".desk-error-summary")
    assert "Udfyld vurdering." in await summary.inner_text()
    await visits.check(mkj, "error-summary")
    await summary.get_by_role("link", name="Udfyld vurdering.").click()
    assert await mkj.evaluate("() => document.activeElement.id") == "review-building-text"

    await mkj.fill("#review-building-text", "Byggeriet overholder BR18.")
    await mkj.click("#review-building button[type=submit]")
    assert "vurdering er afgivet" in await mkj.locator(".desk-alert-success").inner_text()

    abr = await officer(chromium, served, "abr")
    await until(abr, case_url, "#review-fire")
    await abr.check("#review-fire-outcome-2")  # godkendt med vilkår
    await abr.fill("#review-fire-text", "Brandstrategien er i orden.")
    await abr.fill("#review-fire-conditions", "Sprinkleranlægget skal være installeret.")
    await visits.check(abr, "case-review")
    token = await abr.locator("input[name=csrf_token]").first.get_attribute("value")
    await abr.click("#review-fire button[type=submit]")
    assert "vurdering er afgivet" in await abr.locator(".desk-alert-success").inner_text()
    # abr may not decide: the form is not there, and a post made anyway (with abr's own
    # CSRF token) is a Danish 403 page.
    assert await abr.locator("#decision").count() == 0
    async with abr.expect_navigation():
        await abr.evaluate(
            """([action, token, id]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = action;
                for (const [name, value] of [["csrf_token", token], ["request_id", id],
                                             ["grounds", "Ikke min sag."]]) {
                    const input = document.createElement("input");
                    input.type = "hidden"; input.name = name; input.value = value;
                    form.appendChild(input);
                }
                document.body.appendChild(form);
                form.submit();
            }""",
            [f"{case_url}/afgoerelse", token, uuid.uuid4().hex],
        )
    assert await abr.locator("h1").inner_text() == "Handlingen hører ikke til din rolle"
    await visits.check(abr, "refused")

    await until(mkj, case_url, "#decision")
    await mkj.fill("#decision-grounds", "Projektet overholder reglerne.")
    await mkj.click("#decision button[type=submit]")
    assert "Afgørelsen er sendt." in await mkj.locator(".desk-alert-success").inner_text()
    assert await mkj.locator("#decision").count() == 0
    await visits.check(mkj, "case-decided")

    await abr.goto(f"{served}/sagsbehandler")
    await visits.check(abr, "worklist-fire")

    await mkj.goto(f"{served}/dev/post")
    await visits.check(mkj, "mail-sink")
    await mkj.get_by_role("link", name=f"Afgørelse i sag {reference}").click()
    assert "Projektet overholder reglerne." in await mkj.locator("pre").inner_text()
    await visits.check(mkj, "mail")

    assert not visits.violations, visits.violations
    for name, passes in visits.passes.items():
        assert {"color-contrast", "html-has-lang", "document-title"} <= passes, name
    await mkj.context.close()
    await abr.context.close()

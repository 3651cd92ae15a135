"""The monthly reports on the web and the staff's measurement page, over the embedded Postgres:
the public list, the report page and its PDF; the staff page's tags and causes stored (CSRF
checked, errors in Danish, strangers sent to sign in); the free text on no public page. Then a
real browser (Debian's chromium): axe-core reports 0 WCAG 2.1 A/AA violations on the list, a
report and the staff page (with and without an error summary); screenshots go to
tests/artifacts/screenshots/report-*.png.

The report is made by the real activity (`make_monthly_report`) for a pinned month (March
2025), so the pages hold on every day of the year.
"""

from __future__ import annotations

import html
import re
import uuid
from datetime import date

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import ActivityEnvironment

import report_api
from activities.report import ReportActivities
from mail.channel import EmailChannel
from tests.serving import serving
from tests.test_e2e import stack  # noqa: F401 - the running stack
from tests.test_report import add_case, db  # noqa: F401 - the stack's Postgres, a case writer
from tests.test_web_desk_pages import chromium  # noqa: F401 - Debian's chromium
from tests.test_web_pages import SCREENSHOTS, WCAG_TAGS, describe
from web.app import create_app
from web.staff import COOKIE, session_cookie

pytestmark = pytest.mark.e2e
MONTH = "2025-03"
COMMENT = "Sagsbehandleren Åse Ærø ringede straks – meget venligt"


@pytest_asyncio.fixture(scope="module")
async def made(db):  # noqa: F811
    """Cases closed in March 2025 (one with a comment, one late decision), its report made."""
    settings, sessions, _ = db
    tag = uuid.uuid4().hex[:4].upper()
    commented = await add_case(sessions, date(2025, 3, 10), 1, answer=5, comment=COMMENT, tag=tag)
    late = await add_case(sessions, date(2025, 3, 12), 2, late=True, late_contact=True, tag=tag)
    for n in range(3, 8):
        await add_case(sessions, date(2025, 3, 14), n, answer=4, tag=tag)
    activities = ReportActivities(sessions, EmailChannel(settings), settings)
    made = await ActivityEnvironment().run(activities.make_monthly_report, MONTH)
    assert made.created and made.cases == 7
    settings = settings.model_copy(update={"dev_sign_in": True})
    return settings, sessions, commented, late


@pytest_asyncio.fixture
async def web(made):
    settings, sessions, commented, late = made
    app = create_app(settings, sessions=sessions)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield client, sessions, commented, late


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


async def sign_in(client: httpx.AsyncClient, who: str = "mkj") -> None:
    answer = await client.post("/auth/dev/sign-in", json={"caseworker_id": who})
    assert answer.status_code == 200, answer.text


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


async def test_the_public_list_report_and_pdf(web):
    client, *_ = web
    listing = await client.get("/figures/rapporter")
    assert listing.status_code == 200
    assert 'href="/figures/rapporter/2025-03"' in listing.text
    assert "Marts 2025" in text_of(listing.text)
    page = await client.get(f"/figures/rapporter/{MONTH}")
    text = text_of(page.text)
    assert page.status_code == 200 and '<html lang="da">' in page.text
    assert "Månedsrapport om erhvervsservice – marts 2025" in text
    for heading in ("Målingen mod aftalens mål", "Brudte løfter og deres årsager", "Temaer"):
        assert heading in text
    assert "Svarprocent" in text and "over 50 %" in text
    assert "Ikke registreret endnu" in text  # the late case's causes, not recorded yet
    assert "1 sag med for sen kontakt, 1 afgørelse efter den aftalte dato og 0 sager" in text
    pdf = await client.get(f"/figures/rapporter/{MONTH}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    for missing in (
        "/figures/rapporter/2019-03",
        "/figures/rapporter/2025-13",
        "/figures/rapporter/x.pdf",
    ):
        answer = await client.get(missing, headers={"accept": "text/html"})
        assert answer.status_code == 404 and "Siden findes ikke" in answer.text


async def test_strangers_are_sent_to_sign_in(web):
    client, _, commented, _ = web
    answer = await client.get("/sagsbehandler/maaling")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/log-ind?next=/sagsbehandler/maaling"
    posted = await client.post(
        f"/sagsbehandler/maaling/kommentarer/{commented}", data={"tags": "ros"}
    )
    assert posted.status_code == 303 and posted.headers["location"].startswith("/log-ind")
    comment_row = [c for c in await report_api.comments(web[1]) if c.case_id == commented]
    assert comment_row[0].tags == []


async def test_staff_tag_comments_and_record_causes(web):
    client, sessions, commented, late = web
    await sign_in(client)
    page = await client.get("/sagsbehandler/maaling")
    assert page.status_code == 200 and COMMENT in text_of(page.text)
    token = csrf_of(page.text)

    refused = await client.post(
        f"/sagsbehandler/maaling/kommentarer/{commented}", data={"tags": ["ros"]}
    )
    assert refused.status_code == 403 and "Formularen kunne ikke sendes" in refused.text

    tagged = await client.post(
        f"/sagsbehandler/maaling/kommentarer/{commented}",
        data={"csrf_token": token, "tags": ["ros", "kontakt"]},
    )
    assert tagged.status_code == 303 and "gemt=tags" in tagged.headers["location"]
    again = await client.post(  # the same post twice: the same tags
        f"/sagsbehandler/maaling/kommentarer/{commented}",
        data={"csrf_token": token, "tags": ["ros", "kontakt"]},
    )
    assert again.status_code == 303
    row = next(c for c in await report_api.comments(sessions) if c.case_id == commented)
    assert row.tags == ["kontakt", "ros"]
    bad_tag = await client.post(
        f"/sagsbehandler/maaling/kommentarer/{commented}",
        data={"csrf_token": token, "tags": ["ukendt"]},
    )
    assert bad_tag.status_code == 400 and "Vælg temaerne fra listen." in bad_tag.text

    recorded = await client.post(
        f"/sagsbehandler/maaling/aarsager/{late}",
        data={
            "csrf_token": token,
            "contact": "Sygdom i teamet",
            "decision": "Ventede på ekstern udtalelse",
            "processing_time": "ikke brudt: ignoreres",
        },
    )
    assert recorded.status_code == 303 and "gemt=aarsager" in recorded.headers["location"]
    case = next(b for b in await report_api.broken_promise_cases(sessions) if b.case_id == late)
    assert {p: cause for p, _, cause in case.promises} == {
        "contact": "Sygdom i teamet",
        "decision": "Ventede på ekstern udtalelse",
    }
    too_long = await client.post(
        f"/sagsbehandler/maaling/aarsager/{late}",
        data={"csrf_token": token, "contact": "x" * 301, "decision": "Linje\nto"},
    )
    assert too_long.status_code == 400
    text = text_of(too_long.text)
    assert "Der er 2 problemer, du skal rette" in text
    assert f'href="#aarsag-{late}-contact"' in too_long.text
    assert "Årsagen til den sene kontakt er for lang (højst 300 tegn)." in text
    assert "Årsagen til den sene afgørelse skal være én linje tekst uden styretegn." in text
    case = next(b for b in await report_api.broken_promise_cases(sessions) if b.case_id == late)
    assert {p: c for p, _, c in case.promises}["contact"] == "Sygdom i teamet"
    unknown = await client.post(
        "/sagsbehandler/maaling/aarsager/case-UKENDT-1", data={"csrf_token": token}
    )
    assert unknown.status_code == 404 and "Sagen findes ikke" in unknown.text


async def test_the_free_text_is_on_no_public_page(web):
    client, *_ = web
    for path in (
        "/figures/rapporter",
        f"/figures/rapporter/{MONTH}",
        "/figures",
        "/figures.csv",
        "/figures.json",
    ):
        answer = await client.get(path)
        assert "Åse Ærø" not in answer.text and "meget venligt" not in answer.text, path
    stored = await report_api.report_of(web[1], MONTH)
    assert "Åse" not in stored.html and "Åse".encode() not in stored.pdf


# --- a real browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(made):
    settings, *_ = made
    with serving(create_app(settings), "uvicorn-reports") as url:
        yield url


async def test_axe_finds_no_violations_and_screenshots_are_kept(chromium, served, made):  # noqa: F811
    from axe_playwright_python.async_playwright import Axe

    settings, _, _, late = made
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    context = await chromium.new_context(viewport={"width": 1280, "height": 900}, locale="da-DK")
    secret = settings.web_secret.get_secret_value().encode()
    await context.add_cookies(
        [{"name": COOKIE, "value": session_cookie(secret, "mkj"), "url": served}]
    )
    page = await context.new_page()
    page.set_default_timeout(10_000)
    violations = {}

    async def check(name: str) -> None:
        results = await axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
        if results.response["violations"]:
            violations[name] = describe(results.response["violations"])
        assert results.response["passes"], name
        shot = SCREENSHOTS / f"report-{name}.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000, shot

    await page.goto(f"{served}/figures/rapporter")
    await check("list")
    await page.click(f"a[href='/figures/rapporter/{MONTH}']")
    await page.wait_for_url(f"**/figures/rapporter/{MONTH}")
    await check("month")
    await page.goto(f"{served}/sagsbehandler/maaling")
    assert await page.locator(".measure-text").count() >= 1
    await check("measure")
    # A cause too long: the error summary, its link to the field, the field marked.
    await page.fill(f"#aarsag-{late}-contact", "x" * 301)
    await page.click(f"#sag-{late} button[type=submit]")
    await page.wait_for_selector(".desk-error-summary")
    await check("measure-error")
    await page.click(".desk-error-summary a")
    assert await page.evaluate("document.activeElement.id") == f"aarsag-{late}-contact"
    # A tag saved by the form, without JavaScript.
    await page.goto(f"{served}/sagsbehandler/maaling")
    first = page.locator(".measure-item form").first
    await first.locator("input[value=vejledning]").check()
    await first.locator("button").click()
    await page.wait_for_selector("text=Temaerne er gemt.")
    await check("measure-saved")
    await context.close()
    assert not violations, violations

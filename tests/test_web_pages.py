"""The public pages: guidance per department and case type (commitment 1) from the engine's own
checklist and service targets, the accessibility statement, the Danish 404 page.

Content over httpx on the ASGI app; then a real browser (Playwright driving Debian's chromium)
against the app served by uvicorn on a free port: axe-core reports 0 WCAG 2.1 A/AA violations
on every page, the Tab key reaches the skip link first, and a full-page screenshot of each page
is kept under tests/artifacts/screenshots/. Neither Temporal nor Postgres is needed: the pages
read only the settings and the domain's data (the database URL points at a closed port).
"""

from __future__ import annotations

import html
import re
import socket
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from domain.estimate import KL_TARGET_DAYS
from domain.material import CHECKLIST, required_material
from domain.texts import CASE_TYPE_NAMES, DEPARTMENT_NAMES
from schemas.intake import CaseType, Department
from settings import Settings
from tests.serving import serving
from web.app import create_app
from web.pages.guidance import all_page_paths, case_type_path, department_path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SCREENSHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"
NOT_FOUND = "/vejledning/ukendt-fagomraade"
PAGES = [*all_page_paths(), "/tilgaengelighed"]


def page_settings() -> Settings:
    """Settings for the pages alone: nothing listens on the database's or Temporal's port."""
    return Settings(
        database_url="postgresql+asyncpg://erhverv@127.0.0.1:9/none",
        temporal_address="127.0.0.1:9",
        municipality_name="Aalborg Kommune",
    )


@pytest_asyncio.fixture(scope="module")
async def http():
    app = create_app(page_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as client:
            yield client


def text_of(page: str) -> str:
    """The page's text with tags removed and entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


# --- content -------------------------------------------------------------------------------


async def test_every_checklist_item_of_a_case_type_is_on_its_page(http):
    for department in Department:
        for case_type in CaseType:
            response = await http.get(case_type_path(department, case_type))
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/html")
            text = text_of(response.text)
            for line in required_material(case_type, [department]):
                assert line.title in text, (department, case_type, line.code)
            days = KL_TARGET_DAYS[case_type]
            assert f"{days} kalenderdage" in text, (department, case_type)
            assert "5 hverdage" in text and "Én samlet afgørelse" in text


async def test_department_pages_list_the_base_checklist_and_every_case_type(http):
    for department in Department:
        text = text_of((await http.get(department_path(department))).text)
        assert DEPARTMENT_NAMES[department].capitalize() in text
        for line in CHECKLIST[department]:
            assert line.title in text
        for case_type in CaseType:
            assert CASE_TYPE_NAMES[case_type][:1].upper() + CASE_TYPE_NAMES[case_type][1:] in text


async def test_overview_names_departments_pre_dialogue_and_three_sustainability_levels(http):
    response = await http.get("/vejledning")
    text = text_of(response.text)
    for department in Department:
        assert f'href="{department_path(department)}"' in response.text
    assert "Forhåndsdialog" in text and 'id="forhaandsdialog"' in response.text
    for level in ("Niveau 1", "Niveau 2", "Niveau 3"):
        assert level in text
    assert "NBE – Netværk for Bæredygtig Erhvervsudvikling" in text
    # The company is "I/jeres" throughout, never "du/din".
    assert not re.search(r"\b(du|dig|din|dit|dine)\b", text, re.IGNORECASE)


async def test_the_codes_of_the_intake_contract_lead_to_the_danish_addresses(http):
    response = await http.get("/vejledning/building/single_family_house")
    assert response.status_code == 308
    assert response.headers["location"] == "/vejledning/byggeri/enfamiliehus"
    assert (await http.get("/vejledning/fire")).headers["location"] == (
        "/vejledning/brand-og-beredskab"
    )


@pytest.mark.parametrize(
    "path", [NOT_FOUND, "/vejledning/byggeri/ukendt", "/vejledning/miljoe/x/y"]
)
async def test_unknown_pages_get_a_danish_404_page(http, path):
    response = await http.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="da">' in response.text
    assert "Siden findes ikke" in response.text
    assert 'href="/vejledning"' in response.text


async def test_the_api_keeps_its_problem_documents(http):
    response = await http.get("/api/v1/ukendt")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_every_page_has_the_layout_and_loads_nothing_from_elsewhere(http):
    for path in [*PAGES, NOT_FOUND]:
        page = (await http.get(path)).text
        assert '<html lang="da">' in page
        assert 'class="skipnav" href="#main-content"' in page and 'id="main-content"' in page
        assert "Erhvervsservice – Én indgang" in page and "Aalborg Kommune" in page
        assert '<a href="/tilgaengelighed">Tilgængelighedserklæring</a>' in page
        assert "<script" not in page
        # Only the app's own stylesheet; no CDN, no web fonts from elsewhere.
        for ref in re.findall(r'(?:src|href)="([^"]+)"', page):
            assert not re.match(r"(https?:)?//", ref) or not ref.endswith((".css", ".js")), ref
        assert not re.search(r"cdn|googleapis|jsdelivr|unpkg|cdnjs", page, re.IGNORECASE)
    css = await http.get("/static/erhverv.css")
    assert css.status_code == 200 and "@import" not in css.text and "url(http" not in css.text


async def test_accessibility_statement(http):
    text = text_of((await http.get("/tilgaengelighed")).text)
    assert "Tilgængelighedserklæring" in text and "WCAG 2.1" in text
    assert "Giv os besked om et problem" in text and "erhvervsservice@kommune.example" in text
    assert "Ansvarlig myndighed" in text and "Digitaliseringsstyrelsen" in text


def test_pages_are_left_out_of_the_openapi_document():
    paths = create_app(page_settings()).openapi()["paths"]
    assert not [p for p in paths if p.startswith(("/vejledning", "/tilgaengelighed"))]


# --- a real browser ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served():
    """The app served by uvicorn in a background thread on a free port."""
    with serving(create_app(page_settings()), "uvicorn-pages") as url:
        yield url


@pytest_asyncio.fixture(scope="module")
async def visits(served):
    """Every page visited once in chromium: axe's violations, where the first Tab lands, where
    Enter on it leads, and a full-page screenshot."""
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: ./dev test installs it (as root: apt-get install chromium)"
    )
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    # Other page tests keep their screenshots here too: overwrite ours, delete nothing.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    results: dict[str, dict] = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 800}, locale="da-DK"
            )
            page = await context.new_page()
            outside: list[str] = []
            page.on(
                "request",
                lambda r: None if r.url.startswith(served) else outside.append(r.url),
            )
            for path in [*PAGES, NOT_FOUND]:
                response = await page.goto(served + path)
                assert response is not None
                axe_results = await axe.run(
                    page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}}
                )
                name = path.strip("/").replace("/", "_") or "index"
                shot = SCREENSHOTS / f"{name}.png"
                await page.screenshot(path=str(shot), full_page=True)
                await page.keyboard.press("Tab")
                first = await page.evaluate(
                    "() => { const e = document.activeElement;"
                    " const r = e.getBoundingClientRect();"
                    " return {cls: e.className, text: e.textContent.trim(),"
                    " visible: r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0,"
                    " outline: getComputedStyle(e).outlineStyle}; }"
                )
                await page.keyboard.press("Enter")
                landed = await page.evaluate("() => document.activeElement.id")
                results[path] = {
                    "status": response.status,
                    "violations": axe_results.response["violations"],
                    "passes": {rule["id"] for rule in axe_results.response["passes"]},
                    "first_tab": first,
                    "after_enter": landed,
                    "screenshot": shot,
                }
            # Reflow (WCAG 1.4.10): 320 CSS pixels wide, no horizontal scrolling of the page.
            await page.set_viewport_size({"width": 320, "height": 640})
            widths = {}
            for path in ("/vejledning", case_type_path(Department.building, CaseType.fire_safety)):
                await page.goto(served + path)
                widths[path] = await page.evaluate("() => document.documentElement.scrollWidth")
                name = path.strip("/").replace("/", "_")
                await page.screenshot(path=str(SCREENSHOTS / f"{name}_320px.png"), full_page=True)
            results["_outside"] = {"requests": outside, "widths_at_320": widths}
        finally:
            await browser.close()
    return results


def describe(violations: list[dict]) -> str:
    return "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in violations
    )


async def test_axe_reports_no_wcag_21_a_or_aa_violations_on_any_page(visits):
    failures = {
        path: describe(v["violations"])
        for path, v in visits.items()
        if not path.startswith("_") and v["violations"]
    }
    assert not failures, failures
    # axe did check: the rules that matter most here passed on every page.
    for path, v in visits.items():
        if not path.startswith("_"):
            assert {"color-contrast", "html-has-lang", "document-title"} <= v["passes"], path
    assert visits[NOT_FOUND]["status"] == 404
    assert all(visits[p]["status"] == 200 for p in PAGES)


async def test_tab_reaches_the_skip_link_first_and_it_leads_to_the_content(visits):
    for path in [*PAGES, NOT_FOUND]:
        first = visits[path]["first_tab"]
        assert first["cls"] == "skipnav" and first["text"] == "Gå til sidens indhold", path
        assert first["visible"] and first["outline"] == "solid", path
        assert visits[path]["after_enter"] == "main-content", path


async def test_the_browser_loads_nothing_from_elsewhere_and_screenshots_are_kept(visits):
    assert visits["_outside"]["requests"] == []
    assert all(width <= 320 for width in visits["_outside"]["widths_at_320"].values()), visits[
        "_outside"
    ]["widths_at_320"]
    for path in [*PAGES, NOT_FOUND]:
        shot = visits[path]["screenshot"]
        assert shot.exists() and shot.stat().st_size > 10_000, shot


def test_the_front_door_leads_to_the_guidance() -> None:
    from fastapi.testclient import TestClient

    from web.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as http:
        answer = http.get("/", follow_redirects=False)
        assert answer.status_code == 307 and answer.headers["location"] == "/vejledning"


def test_the_letters_guidance_links_lead_to_these_pages() -> None:
    """The receipt links each department's page for the case type (one source: the checklist),
    and every such link answers on the entry."""
    import re

    from fastapi.testclient import TestClient

    from mail.render import render_letter
    from schemas.letters import LetterKind
    from tests.test_letters import facts_for
    from web.app import create_app

    facts = facts_for(LetterKind.receipt)
    _, body = render_letter(LetterKind.receipt, facts, public_base_url="http://127.0.0.1")
    links = re.findall(r"http://127\.0\.0\.1(/vejledning/[a-z_-]+/[a-z_-]+)", body)
    assert len(links) == len(facts.departments)
    assert "http://127.0.0.1/vejledning#baeredygtighed" in body
    assert "Det skal I aflevere til" in body
    with TestClient(create_app(), base_url="http://127.0.0.1") as http:
        for link in links:
            answer = http.get(link)
            assert answer.status_code == 200, link
            assert "Det skal I aflevere" in answer.text

"""/figures in a real browser (Playwright driving Debian's chromium) against the app served by
uvicorn over real Postgres: axe-core reports 0 WCAG 2.1 A/AA violations, the plots load as
images from the service itself, the tables behind them open without JavaScript, and the page
reflows at 320 px. Screenshots: tests/artifacts/screenshots/figures-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio

from settings import Settings
from tests.serving import serving
from tests.test_e2e import stack  # noqa: F401 - the module's running dev stack
from tests.test_figures_api import sessions  # noqa: F401
from tests.test_web_figures import filled  # noqa: F401 - two months of cases and answers
from tests.test_web_pages import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, WCAG_TAGS, describe
from web.app import create_app

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(stack, filled):  # noqa: F811
    settings = Settings(
        database_url=stack.database_url,
        temporal_address="127.0.0.1:9",
        municipality_name="Høje-Taastrup Kommune",
    )
    with serving(create_app(settings), "uvicorn-figures") as url:
        yield url


@pytest_asyncio.fixture(scope="module")
async def visit(served):
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install chromium)"
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    seen: dict = {"outside": []}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 800}, locale="da-DK", java_script_enabled=True
            )
            page = await context.new_page()
            page.on(
                "request",
                lambda r: None if r.url.startswith(served) else seen["outside"].append(r.url),
            )
            await page.goto(served + "/figures")
            seen["images"] = await page.evaluate(
                "() => [...document.images].map(i => ({src: i.src, w: i.naturalWidth, alt: i.alt}))"
            )
            result = await axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
            seen["violations"] = result.response["violations"]
            seen["passes"] = {rule["id"] for rule in result.response["passes"]}
            await page.screenshot(path=str(SCREENSHOTS / "figures-page.png"), full_page=True)
            # The table behind the first plot opens from the keyboard (a <details>, no script).
            summary = page.locator("summary").first
            await summary.focus()
            await page.keyboard.press("Enter")
            seen["opened"] = await page.locator("details").first.get_attribute("open")
            opened = await axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
            seen["violations_opened"] = opened.response["violations"]
            await page.screenshot(path=str(SCREENSHOTS / "figures-table.png"), full_page=True)
            # A month chosen with the form (a GET form: no script needed).
            await page.select_option("#periode", "2026-05")
            await page.click("button[type=submit]")
            seen["month_heading"] = await page.locator("#overblik").inner_text()
            await page.screenshot(path=str(SCREENSHOTS / "figures-month.png"), full_page=True)
            # Reflow at 320 CSS pixels: the page itself does not scroll sideways.
            await page.set_viewport_size({"width": 320, "height": 640})
            await page.goto(served + "/figures")
            seen["width_320"] = await page.evaluate("() => document.documentElement.scrollWidth")
            await page.screenshot(path=str(SCREENSHOTS / "figures-320px.png"), full_page=True)
            # Without JavaScript the page is the same.
            plain = await browser.new_context(java_script_enabled=False, locale="da-DK")
            nojs = await plain.new_page()
            await nojs.goto(served + "/figures?periode=2026-06")
            seen["nojs_heading"] = await nojs.locator("#overblik").inner_text()
            await plain.close()
        finally:
            await browser.close()
    return seen


def test_axe_reports_no_wcag_21_violations_on_the_figures_page(visit):
    assert not visit["violations"], describe(visit["violations"])
    assert not visit["violations_opened"], describe(visit["violations_opened"])
    assert {"image-alt", "color-contrast", "th-has-data-cells"} <= visit["passes"]
    assert (SCREENSHOTS / "figures-page.png").stat().st_size > 10_000


def test_the_plots_load_from_the_service_with_text_alternatives(visit, served):
    images = visit["images"]
    assert len(images) == 4
    for image in images:
        assert image["src"].startswith(served + "/figures/plots/")
        assert image["w"] > 0, image  # the SVG was drawn by the browser
        assert "Tallene står i tabellen under figuren" in image["alt"]
    assert visit["outside"] == []


def test_tables_open_periods_change_and_the_page_reflows(visit):
    assert visit["opened"] is not None
    assert visit["month_heading"] == "Overblik: maj 2026"
    assert visit["nojs_heading"] == "Overblik: jun. 2026"
    assert visit["width_320"] <= 320

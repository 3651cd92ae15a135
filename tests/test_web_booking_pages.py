"""Book a pre-dialogue before an application, in a real browser: Playwright driving Debian's
chromium against the app served by uvicorn over the real worker, Temporal, Postgres and SMTP
sink. Every booking page (the form, its Danish error summary, the times, the confirmation, the
receipt, a cancelled booking) has 0 WCAG 2.1 A/AA violations by axe; screenshots are kept in
tests/artifacts/screenshots/booking-*.png. No JavaScript is needed: the pages have none."""

from __future__ import annotations

import re
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

import booking_api
from tests.serving import serving
from tests.test_e2e import mails_to, product, stack  # noqa: F401 - the running stack and worker
from tests.test_web_pages import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, WCAG_TAGS, describe
from web import forms
from web.app import create_app

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(product):  # noqa: F811
    """The app on uvicorn in a thread (its own Postgres pool and Temporal client)."""
    from stack.ports import free_port

    settings, _, _ = product
    port = free_port()
    settings = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    with serving(create_app(settings), "uvicorn-booking", port) as url:
        yield url


@asynccontextmanager
async def chromium_page():
    """A chromium page (no JavaScript needed by the pages; axe injects its own)."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: ./dev test installs it"
    from playwright.async_api import async_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 800}, locale="da-DK"
            )
            yield await context.new_page()
        finally:
            await browser.close()


async def checked(page, name: str) -> dict:
    """axe on the page as it is; a full-page screenshot booking-<name>.png."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    await page.screenshot(path=str(SCREENSHOTS / f"booking-{name}.png"), full_page=True)
    violations = results.response["violations"]
    assert not violations, f"{name}: {describe(violations)}"
    passes = {rule["id"] for rule in results.response["passes"]}
    assert {"html-has-lang", "document-title", "color-contrast"} <= passes, name
    return results.response


async def test_book_a_pre_dialogue_before_an_application(stack, product, served):  # noqa: F811
    forms.reset_rate_limits()  # the server thread's own limiter is the same module state
    async with chromium_page() as page:
        await _book(stack, product, served, page)


async def _book(stack, product, served, page) -> None:  # noqa: F811
    _, _, sessions = product
    email = f"browser-{uuid.uuid4().hex[:6]}@nordjysk-staal.dk"

    await page.goto(served + "/forhaandsdialog")
    assert await page.title() == "Book en forhåndsdialog – Erhvervsservice – Aalborg Kommune"
    await checked(page, "1-form")

    # Sent empty: the Danish error summary links to each field.
    await page.get_by_role("button", name="Se ledige tider").click()
    summary = page.get_by_role("alert")
    assert "problemer, I skal rette" in await summary.inner_text()
    await checked(page, "2-errors")
    await summary.get_by_role("link", name="Udfyld virksomhedens navn.").click()
    assert page.url.endswith("#fd-company_name")

    await page.get_by_label("CVR-nummer").fill("29189420")
    await page.get_by_label("Virksomhedens navn").fill("Nordjysk Stål ApS")
    await page.get_by_label("Kontaktpersonens navn").fill("Søren Ærø Østergård")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Telefonnummer").fill("98123456")
    await page.get_by_label("Byggeri").check()
    await page.get_by_label("Brand/beredskab").check()
    await page.get_by_role("button", name="Se ledige tider").click()
    assert await page.get_by_role("heading", level=1).inner_text() == "Vælg et tidspunkt"
    await checked(page, "3-times")

    # Continue without a time: the error names the time.
    await page.get_by_role("button", name="Videre").click()
    assert "Vælg et tidspunkt." in await page.get_by_role("alert").inner_text()
    await checked(page, "4-times-error")
    radios = page.locator('input[name="slot"]')
    assert await radios.count() > 1
    await radios.nth(1).check()
    await page.get_by_role("button", name="Videre").click()
    assert await page.get_by_role("heading", level=1).inner_text() == "Bekræft jeres booking"
    await checked(page, "5-confirm")

    await page.get_by_role("button", name="Bekræft booking").click()
    heading = await page.get_by_role("heading", level=1).inner_text()
    assert heading == "Tak – jeres forhåndsdialog er booket"
    booking_id = re.search(r"/forhaandsdialog/(FD-[0-9A-Z]{8})\?t=", page.url).group(1)
    assert booking_id in await page.get_by_role("status").inner_text()
    await checked(page, "6-receipt")

    mails = await mails_to(stack.mail_dir, email, 1)
    path = re.search(r"http://[^/\s]+(/forhaandsdialog/\S+)", mails[0].body).group(1)
    await page.goto(served + path)  # the worker's letters point at its public address
    assert await page.get_by_role("heading", level=1).inner_text() == "Jeres forhåndsdialog"
    await page.get_by_label("Årsag (valgfrit)").fill("Projektet er udskudt.")
    await page.get_by_role("button", name="Aflys forhåndsdialogen").click()
    assert "Mødet er aflyst" in await page.get_by_role("status").inner_text()
    await checked(page, "7-cancelled")
    assert (await booking_api.get_booking(sessions, booking_id)).status == "cancelled"

    await page.goto(served + f"/forhaandsdialog/{booking_id}?t=forkert")
    assert await page.get_by_role("heading", level=1).inner_text() == "Linket virker ikke"
    await checked(page, "8-bad-link")
    for name in ("1-form", "2-errors", "3-times", "5-confirm", "6-receipt", "7-cancelled"):
        assert (SCREENSHOTS / f"booking-{name}.png").stat().st_size > 10_000

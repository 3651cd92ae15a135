"""The survey's answer page in a real browser: Playwright driving Debian's chromium against
the app served by uvicorn over the real worker, Temporal, Postgres and SMTP sink. The link is
followed as it arrived in the e-mail; the form, its Danish error summary, the receipt, the
changed answer, a tampered link and a closed survey each have 0 WCAG 2.1 A/AA violations by
axe; screenshots in tests/artifacts/screenshots/survey-*.png. The pages have no JavaScript."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from temporalio.testing import ActivityEnvironment

from activities.survey import SurveyActivities
from domain.survey import survey_url
from mail.channel import EmailChannel
from schemas.intake import CaseType, Department
from schemas.life import ClosingReason
from schemas.survey import ClosedCaseFacts, SurveyRecord
from tests.serving import serving
from tests.test_e2e import product, stack  # noqa: F401 - the running stack and worker
from tests.test_web_booking_pages import chromium_page
from tests.test_web_pages import SCREENSHOTS, WCAG_TAGS, describe
from tests.test_web_survey import decided_case
from web import forms
from web.app import create_app

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(product):  # noqa: F811
    from stack.ports import free_port

    settings, _, _ = product
    port = free_port()
    settings = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    with serving(create_app(settings), "uvicorn-survey", port) as url:
        yield url


async def checked(page, name: str) -> None:
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    await page.screenshot(path=str(SCREENSHOTS / f"survey-{name}.png"), full_page=True)
    violations = results.response["violations"]
    assert not violations, f"{name}: {describe(violations)}"
    passes = {rule["id"] for rule in results.response["passes"]}
    assert {"html-has-lang", "document-title", "color-contrast"} <= passes, name


async def closed_survey(product) -> str:  # noqa: F811
    """A case whose survey closed yesterday, recorded by the survey's own activity."""
    settings, _, sessions = product
    now = datetime.now(UTC)
    reference = f"CLOSED-{uuid.uuid4().hex[:8]}"
    facts = ClosedCaseFacts(
        case_id=f"case-{reference}",
        reference=reference,
        case_type=CaseType.simple_construction,
        departments=[Department.building],
        closing_reason=ClosingReason.decided,
        received_at=now - timedelta(days=90),
        decided_at=now - timedelta(days=40),
        closed_at=now - timedelta(days=40),
        contact_deadline=now - timedelta(days=83),
        contacted_within_deadline=True,
    )
    record = SurveyRecord(
        facts=facts,
        survey_sent_at=now - timedelta(days=40),
        survey_closes_at=now - timedelta(days=1),
    )
    activities = SurveyActivities(sessions, EmailChannel(settings), settings)
    await ActivityEnvironment().run(activities.record_survey, record)
    secret = settings.survey_secret.get_secret_value().encode()
    return survey_url("", facts.case_id, secret)


async def test_answer_the_survey_in_a_browser(stack, product, served):  # noqa: F811
    forms.reset_rate_limits()
    _, link, _ = await decided_case(product, stack.mail_dir, ("building", "fire"))
    closed = await closed_survey(product)
    async with chromium_page() as page:
        await page.goto(served + link)
        assert await page.title() == (
            "Hvad synes I om sagsbehandlingen? – Erhvervsservice – Aalborg Kommune"
        )
        await checked(page, "1-form")

        # Sent empty: the Danish error summary links to each question.
        await page.get_by_role("button", name="Send svar").click()
        summary = page.get_by_role("alert")
        assert "Der er 5 problemer, I skal rette" in await summary.inner_text()
        await checked(page, "2-errors")
        await summary.get_by_role(
            "link", name="Vælg et svar om forløbet (eller “Ved ikke”)."
        ).click()
        assert page.url.endswith("#sv-process")

        for question, choice in [
            ("Hvor tilfredse er I samlet set med sagsbehandlingen?", "Meget tilfreds"),
            ("Hvor tilfredse er I med sagsbehandlingstiden?", "Tilfreds"),
            ("Hvor tilfredse er I med forløbet?", "Meget tilfreds"),
            ("Hvor tilfredse er I med vejledningen om, hvilket materiale", "Ved ikke"),
            ("Hvor tilfredse er I med koordineringen mellem fagområderne?", "Utilfreds"),
        ]:
            group = page.get_by_role("group", name=question)
            await group.get_by_label(choice, exact=True).check()
        await page.get_by_label("Vil I fortælle os mere? (valgfrit)").fill(
            "Brand og byggeri talte ikke sammen – ellers fint."
        )
        await page.get_by_role("button", name="Send svar").click()
        assert await page.get_by_role("heading", level=1).inner_text() == "Tak for jeres svar"
        await checked(page, "3-receipt")

        # Back through the e-mail's link: the answer is shown and can be changed.
        await page.goto(served + link)
        assert "I har allerede svaret" in await page.content()
        group = page.get_by_role("group", name="Hvor tilfredse er I med sagsbehandlingstiden?")
        assert await group.get_by_label("Tilfreds", exact=True).is_checked()
        await checked(page, "4-answered")
        await group.get_by_label("Meget tilfreds", exact=True).check()
        await page.get_by_role("button", name="Gem ændringerne").click()
        assert "ændrede svar" in await page.content()

        path, query = urlsplit(link).path, urlsplit(link).query
        await page.goto(f"{served}{path}?{query[:-2]}zz")
        assert await page.get_by_role("heading", level=1).inner_text() == "Linket virker ikke"
        await checked(page, "5-bad-link")

        await page.goto(served + closed)
        assert await page.get_by_role("heading", level=1).inner_text() == "Undersøgelsen er lukket"
        await checked(page, "6-closed")

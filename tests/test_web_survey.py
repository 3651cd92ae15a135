"""The survey's answer page over the real worker, Temporal, Postgres and SMTP sink: a case is
decided, the survey e-mail arrives in the sink, and its link is followed as it arrived:
answer, see the answer again, change it (counted once), a double submit stored once; a
tampered token is refused (403, Danish); a post without the CSRF token is refused (403)."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio

import case_api
import survey_api
from db.measurement_models import SurveyAnswer, SurveyComment
from domain.material import required_material
from tests.conftest import make_intake
from tests.test_e2e import mails_to, product, stack  # noqa: F401 - the running stack and worker
from web.app import create_app
from web.forms import reset_rate_limits

pytestmark = pytest.mark.e2e


async def _retry(call, tries: int = 150):
    for _ in range(tries):
        try:
            return await call()
        except case_api.CaseError:
            await asyncio.sleep(0.1)
    return await call()


async def decided_case(product, mail_dir, departments=("building",)):  # noqa: F811
    """A case from receipt to decision on the running stack; returns (case id, the survey
    link's path and query as the e-mail carried it, the contact's address)."""
    settings, client, sessions = product
    reference = f"SURVEY-{uuid.uuid4().hex[:8]}"
    email = f"svar-{uuid.uuid4().hex[:8]}@nordjysk-staal.dk"
    contact = {"name": "Søren Ærø Østergård", "email": email, "phone": "98123456"}
    intake = make_intake(
        reference=reference,
        received_at=datetime.now(UTC),
        case_type="simple_construction",
        departments=list(departments),
        contact=contact,
    )
    await case_api.start_case(client, intake, settings.temporal_task_queue, vault=None)
    await _retry(lambda: case_api.assign_caseworker(client, reference, "mkj"))
    codes = [m.code for m in required_material(intake.case_type, intake.departments)]
    await case_api.report_material(client, reference, codes)
    for department in departments:
        await _retry(
            lambda d=department: case_api.submit_review(
                client, reference, d, outcome="approved", text="I orden."
            )
        )
    await _retry(
        lambda: case_api.issue_decision(client, reference, "Projektet overholder reglerne.")
    )
    mails = [m for m in await mails_to(mail_dir, email, 5) if "/survey/" in m.body]
    assert len(mails) == 1, [m.subject for m in await mails_to(mail_dir, email, 0, timeout=0)]
    link = next(w for w in mails[0].body.split() if "/survey/" in w)
    parts = urlsplit(link)
    case_id = intake.workflow_id
    for _ in range(200):  # the survey workflow records the case just after the letter
        if await survey_api.survey_status(sessions, case_id) is not None:
            break
        await asyncio.sleep(0.1)
    return case_id, f"{parts.path}?{parts.query}", email


@pytest_asyncio.fixture(scope="module")
async def web(product):  # noqa: F811
    settings, client, sessions = product
    app = create_app(settings, sessions=sessions, client=client)
    async with app.router.lifespan_context(app):

        def browser() -> httpx.AsyncClient:
            return httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
            )

        yield browser


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def form_of(html: str, **answers: str) -> dict[str, str]:
    data = {f: hidden(html, f) for f in ("csrf_token", "request_id", "token")}
    return data | answers


async def test_answer_from_the_link_change_it_and_refusals(stack, product, web):  # noqa: F811
    reset_rate_limits()
    _, _, sessions = product
    case_id, link, _ = await decided_case(product, stack.mail_dir)
    browser = web()

    page = await browser.get(link)
    assert page.status_code == 200, page.text
    html = page.text
    assert "Hvad synes I om sagsbehandlingen?" in html and "Meget tilfreds" in html
    assert "Ved ikke" in html and "Hverken tilfreds eller utilfreds" in html
    assert 'name="coordination"' not in html  # one department: not asked
    assert 'name="pre_dialogue"' not in html  # no pre-dialogue held: not asked
    assert "<script" not in html

    # Nothing chosen: a Danish error summary linking to each question.
    empty = await browser.post(f"/survey/{case_id}", data=form_of(html))
    assert empty.status_code == 422
    assert "Der er 4 problemer, I skal rette" in empty.text
    assert 'href="#sv-overall"' in empty.text and "Vælg et svar om forløbet" in empty.text

    answers = {"overall": "5", "processing_time": "4", "process": "5", "guidance": "0"}
    data = form_of(html, **answers, comment="Hurtig og venlig behandling.")
    sent = await browser.post(f"/survey/{case_id}", data=data)
    assert sent.status_code == 200 and "Tak for jeres svar" in sent.text
    again = await browser.post(f"/survey/{case_id}", data=data)  # a double submit
    assert again.status_code == 200
    async with sessions() as session:
        row = await session.get(SurveyAnswer, case_id)
        comment = await session.get(SurveyComment, case_id)
    assert (row.overall, row.processing_time, row.guidance, row.changes) == (5, 4, 0, 0)
    assert comment.text == "Hurtig og venlig behandling."

    # A second visit shows the answer and allows a change (counted, not a second answer).
    second = await browser.get(link)
    assert "I har allerede svaret" in second.text
    assert re.search(r'id="sv-overall" name="overall" value="5" checked', second.text)
    assert "Hurtig og venlig behandling." in second.text
    changed = await browser.post(
        f"/survey/{case_id}", data=form_of(second.text, **(answers | {"overall": "2"}))
    )
    assert changed.status_code == 200 and "ændrede svar" in changed.text
    async with sessions() as session:
        row = await session.get(SurveyAnswer, case_id)
        comment = await session.get(SurveyComment, case_id)
    assert (row.overall, row.changes) == (2, 1) and row.changed_at is not None
    assert comment is None  # the change left the comment empty

    # A tampered token: a Danish 403 page, on the link and on a post.
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    refused = await browser.get(tampered)
    assert refused.status_code == 403 and "Linket virker ikke" in refused.text
    forged = form_of(second.text, **answers) | {"token": "x" * 32}
    assert (await browser.post(f"/survey/{case_id}", data=forged)).status_code == 403
    other = await browser.get(f"/survey/case-NOPE-1?token={link.split('token=')[1]}")
    assert other.status_code == 403

    # No CSRF token (a forged cross-site post): refused, nothing changed.
    no_csrf = {k: v for k, v in form_of(second.text, **answers).items() if k != "csrf_token"}
    refused = await web().post(f"/survey/{case_id}", data=no_csrf)
    assert refused.status_code == 403 and "Formularen kunne ikke sendes" in refused.text
    async with sessions() as session:
        assert (await session.get(SurveyAnswer, case_id)).changes == 1


async def test_two_departments_are_asked_about_coordination(stack, product, web):  # noqa: F811
    reset_rate_limits()
    _, link, _ = await decided_case(product, stack.mail_dir, ("building", "fire"))
    page = await web().get(link)
    assert page.status_code == 200
    assert "koordineringen mellem fagområderne" in page.text
    assert 'name="coordination"' in page.text and 'name="pre_dialogue"' not in page.text

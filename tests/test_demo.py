"""`starter.py demo`: a small month on the real stack (Temporal, Postgres, SMTP sink, the real
worker) with the web service served for real on uvicorn, driven only over HTTP and the mail
sink; checked through the seams; a second run adds nothing."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime

import pytest
import pytest_asyncio

import case_api
import demo
from demo_content import plan_case
from domain.texts import COPENHAGEN
from tests.serving import serving
from tests.test_e2e import product, stack  # noqa: F401 - the running stack and worker
from web.app import create_app

pytestmark = pytest.mark.e2e
SEED, CASES = 7, 12


@pytest_asyncio.fixture(scope="module")
async def served(product):  # noqa: F811
    settings, client, sessions = product
    settings = settings.model_copy(update={"dev_sign_in": True})
    # Its own Postgres and Temporal connections, on the server thread's event loop.
    with serving(create_app(settings), "demo-web") as base_url:
        yield settings.model_copy(update={"public_base_url": base_url}), client, sessions


def mail_count(settings) -> int:
    return len(list((settings.state_dir / "mail").glob("*.eml")))


async def test_the_demo_fills_the_stack_once(served):
    settings, client, sessions = served
    directory = json.loads(settings.caseworkers_file.read_text(encoding="utf-8"))
    today = datetime.now(COPENHAGEN).date()
    scripts = [plan_case(SEED, i, today, directory) for i in range(1, CASES + 1)]
    fates = Counter(s.fate for s in scripts)
    assert fates["decided"] >= CASES // 2  # the seed gives a month worth looking at

    progress: list[str] = []
    first = await demo.run_demo(settings, CASES, SEED, concurrency=8, say=progress.append)
    assert first.failures == [], first.failures
    assert (first.started, first.existing) == (CASES, 0)
    assert progress[-1].startswith(f"  {CASES}/{CASES} cases")

    # Through the seam: every case exists and stands where its script left it.
    states = {s.reference: await case_api.get_state(client, s.reference) for s in scripts}
    for script in scripts:
        state = states[script.reference]
        if script.fate in ("decided", "withdrawn"):
            assert state.status.value == "closed", script.reference
            assert state.closing_reason.value == script.fate
        else:
            assert state.status.value != "closed", script.reference
        if script.fate == "unassigned":
            assert state.caseworker is None
        if script.fate == "decided":
            assert set(state.reviews) == set(script.intake["departments"])
            assert state.caseworker.id == script.coordinator
    closed = [s for s in scripts if s.fate in ("decided", "withdrawn")]
    assert len(closed) > CASES / 2  # most are closed
    assert first.decided == fates["decided"] and first.withdrawn == fates["withdrawn"]
    assert first.still_open == CASES - len(closed)
    assert first.late_departments == sum(
        len(s.late) for s in scripts if s.fate == "decided" or s.fate == "review"
    ) - sum(1 for s in scripts if s.fate == "review" and s.intake["departments"][-1] in s.late)

    # The surveys: about 60 % answered on the page, the rest left unanswered.
    answering = [s for s in closed if s.answers]
    assert first.surveys_left_unanswered == len(closed) - len(answering)
    assert first.survey_mail_missing == 0
    assert first.survey_page_missing == 0
    assert first.surveys_answered == len(answering) > 0, first
    import survey_api

    for script in closed:
        answer = await survey_api.get_answer(sessions, f"case-{script.reference}")
        assert (answer is not None) == script.answers, script.reference

    # A second run finds every case where the first left it: nothing new is sent or changed.
    versions = {ref: s.version for ref, s in states.items()}
    mails = mail_count(settings)
    again = await demo.run_demo(settings, CASES, SEED, concurrency=8, say=progress.append)
    assert again.failures == [], again.failures
    assert (again.started, again.existing) == (0, CASES)
    assert again.surveys_answered == 0
    assert again.surveys_already_answered == len(answering)
    for script in scripts:
        assert (await case_api.get_state(client, script.reference)).version == versions[
            script.reference
        ]
    assert mail_count(settings) == mails


async def test_the_demo_says_when_the_stack_is_not_running(product, capfd):  # noqa: F811
    settings = product[0].model_copy(update={"public_base_url": "http://127.0.0.1:9"})
    with pytest.raises(demo.DemoError, match="does not answer at http://127.0.0.1:9"):
        await demo.run_demo(settings, 3, SEED)
    # The command (it runs its own event loop): a message and exit code 2.
    assert await asyncio.to_thread(demo.main, settings, 3, SEED, None, 4) == 2
    assert "Demo not run: The web service does not answer" in capfd.readouterr().out

"""The doors to erasing a closed case's personal data (issue 10, item 3), on the real stack:
`POST /api/v1/cases/{reference}/erasure` over real HTTP (uvicorn; only an operator, only a
closed case, a repeat answers `already_erased`), `starter.py erase` against the same Postgres,
and what the company's own case page says about its personal data while the case is open,
once it is closed, and once it is erased (a real case, withdrawn and erased)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from rich.console import Console
from sqlalchemy import select
from typer.testing import CliRunner

import case_api
import erasure_api
import starter
from db.personal_models import CaseDataKey, Erasure
from domain import retention
from domain.texts import danish_date
from settings import get_settings
from tests.conftest import make_intake
from tests.serving import serving
from tests.test_e2e import mails_to, product, stack  # noqa: F401 - the running stack and worker
from tests.test_erasure import projected_case as projected
from tests.test_web_company import link_in, text_of
from web.app import create_app
from web.company.views import personal_data_text

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
OPERATOR, CASEWORKER = "jha", "mkj"  # the dev directory's operator and a caseworker
REASON = "Virksomheden bad om sletning"


@pytest_asyncio.fixture(scope="module")
async def web(product):  # noqa: F811
    """The app under uvicorn (its own Postgres pool and Temporal client): its base URL."""
    settings, _, _ = product
    settings = settings.model_copy(update={"dev_sign_in": True, "operators": [OPERATOR]})
    with serving(create_app(settings), "uvicorn-erasure") as url:
        yield url, settings


async def signed_in(url: str, caseworker_id: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=url)
    answer = await http.post("/auth/dev/sign-in", json={"caseworker_id": caseworker_id})
    assert answer.status_code == 200, answer.text
    return http


async def cases(product, *closed: bool) -> list[str]:  # noqa: F811
    """Projected cases (closed a week ago, or open), each with a data key; their references."""
    settings, _, sessions = product
    refs = [f"DOOR-{uuid.uuid4().hex[:8]}" for _ in closed]
    week_ago = datetime.now(UTC) - timedelta(days=7)
    async with sessions.begin() as session:
        session.add_all(projected(r, week_ago if c else None) for r, c in zip(refs, closed))
    vault = case_api.vault(sessions, settings)
    for reference in refs:
        await vault.seal_texts(f"case-{reference}", {"name": "Åse Ørsted"})
    return refs


async def key_row(sessions, reference: str) -> tuple | None:
    async with sessions() as session:
        row = (
            await session.execute(
                select(CaseDataKey.wrapped_key, CaseDataKey.kek_id, CaseDataKey.erased_at).where(
                    CaseDataKey.case_id == f"case-{reference}"
                )
            )
        ).first()
    return tuple(row) if row else None


async def erasure_of(sessions, reference: str) -> Erasure | None:
    async with sessions() as session:
        return await session.scalar(select(Erasure).where(Erasure.case_id == f"case-{reference}"))


# ------------------------------------------------------------------------------ HTTP
async def test_only_an_operator_erases_and_only_a_closed_case(web, product):  # noqa: F811
    url, _ = web
    _, _, sessions = product
    closed, still_open = await cases(product, True, False)
    path = f"/api/v1/cases/{closed}/erasure"
    body = {"reason": REASON}

    anonymous = await httpx.AsyncClient(base_url=url).post(path, json=body)
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == PROBLEM
    mkj, jha = await signed_in(url, CASEWORKER), await signed_in(url, OPERATOR)
    refused = await mkj.post(path, json=body)
    assert refused.status_code == 403 and refused.headers["content-type"] == PROBLEM
    assert refused.json()["detail"] == "Only an operator erases a case's personal data."
    assert (await mkj.post(path, json={"reason": "x"})).status_code == 403  # the role first
    assert await erasure_of(sessions, closed) is None

    unknown = await jha.post(f"/api/v1/cases/NOPE-{uuid.uuid4().hex[:8]}/erasure", json=body)
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("/NoSuchCase")

    before = await key_row(sessions, still_open)
    assert before is not None and before[2] is None
    running = await jha.post(f"/api/v1/cases/{still_open}/erasure", json=body)
    assert running.status_code == 409 and running.headers["content-type"] == PROBLEM
    assert running.json()["type"].endswith("/NotClosed")
    assert await key_row(sessions, still_open) == before  # nothing erased
    assert await erasure_of(sessions, still_open) is None

    for bad in (
        {"reason": "ab"},
        {"reason": "two\nlines"},
        {"reason": "x" * 201},
        {"reason": 42},
        {},
        {"reason": REASON, "who": "me"},
    ):
        invalid = await jha.post(path, json=bad)
        assert invalid.status_code == 422, (bad, invalid.text)
        assert invalid.headers["content-type"] == PROBLEM and invalid.json()["errors"], bad
    assert (await key_row(sessions, closed))[2] is None

    first = await jha.post(path, json=body, headers={"Idempotency-Key": "erase-1"})
    assert first.status_code == 200, first.text
    done = first.json()
    assert set(done) == {"reference", "erased_at", "erased_by", "already_erased"}
    assert done["reference"] == closed and done["erased_by"] == OPERATOR
    assert done["already_erased"] is False and REASON not in first.text
    record = await erasure_of(sessions, closed)
    assert record.reason == REASON and record.erased_by == OPERATOR
    assert datetime.fromisoformat(done["erased_at"]) == record.erased_at
    wrapped, _, erased_at = await key_row(sessions, closed)
    assert wrapped == b"" and erased_at == record.erased_at

    again = await jha.post(path, json={"reason": "Igen, for en sikkerheds skyld"})
    assert again.status_code == 200 and again.json()["already_erased"] is True
    assert again.json()["erased_at"] == done["erased_at"]
    assert (await erasure_of(sessions, closed)).reason == REASON  # one audit row, the first


# ------------------------------------------------------------------------------- CLI
def cli(runner: CliRunner, settings, *args: str):
    """`starter.py erase ...` on the test's Postgres (its own event loop: run in a thread)."""
    get_settings.cache_clear()
    try:
        return runner.invoke(
            starter.app,
            ["erase", *args],
            env={
                "ERHVERV_DATABASE_URL": settings.database_url,
                "ERHVERV_TEMPORAL_ADDRESS": settings.temporal_address,
                "ERHVERV_OPERATORS": f'["{OPERATOR}"]',
                "COLUMNS": "100",
            },
        )
    finally:
        get_settings.cache_clear()


async def test_the_cli_erases_a_closed_case_as_an_operator(product, monkeypatch):  # noqa: F811
    settings, _, sessions = product
    monkeypatch.setattr(starter, "console", Console(width=100, color_system=None))
    monkeypatch.setattr(starter, "err_console", Console(width=100, color_system=None, stderr=True))
    monkeypatch.setattr(starter, "configure_logging", lambda *args, **kwargs: None)
    runner = CliRunner()
    closed, still_open = await cases(product, True, False)

    async def erase(*args: str):
        result = await asyncio.to_thread(cli, runner, settings, *args)
        assert "Traceback" not in result.output
        return result, " ".join(result.output.split())

    result, out = await erase(closed, "--by", CASEWORKER, "--reason", REASON)
    assert result.exit_code == 1 and "mkj is not an operator" in out, out
    result, out = await erase(still_open, "--by", OPERATOR, "--reason", REASON)
    assert result.exit_code == 1 and f"Case {still_open} is not closed" in out, out
    assert (await key_row(sessions, still_open))[2] is None
    result, out = await erase("NOPE-1", "--by", OPERATOR, "--reason", REASON)
    assert result.exit_code == 1 and "No case with reference NOPE-1" in out, out
    result, out = await erase(closed, "--by", OPERATOR, "--reason", "ab")
    assert result.exit_code == 1 and "3-200 characters" in out, out
    assert await erasure_of(sessions, closed) is None

    result, out = await erase(closed, "--by", OPERATOR, "--reason", REASON)
    assert result.exit_code == 0, out
    record = await erasure_of(sessions, closed)
    assert record.erased_by == OPERATOR and record.reason == REASON
    when = starter.local(record.erased_at)
    assert f"Case {closed}: personal data erased at {when} by {OPERATOR}." in out
    result, out = await erase(closed, "--by", OPERATOR, "--reason", REASON)
    assert result.exit_code == 0, out
    assert f"personal data already erased at {when} by {OPERATOR}" in out


# ---------------------------------------------------------------------- company page
def test_the_page_says_months_in_danish():
    assert "i 1 måned. Derefter" in personal_data_text(None, None, 1)
    assert "i 36 måneder. Derefter" in personal_data_text(None, None, 36)
    closed = personal_data_text(date(2029, 3, 1), None, 36)
    assert closed == (
        "Vi sletter jeres kontaktoplysninger og jeres egne tekster torsdag den 1. marts 2029."
    )


async def test_the_company_page_tells_when_its_personal_data_goes(web, product, stack):  # noqa: F811
    """A real case, sealed at the door: open, withdrawn (closed), erased by an operator."""
    url, web_settings = web
    settings, client, sessions = product
    vault = case_api.vault(sessions, settings)
    reference = f"PAGE-{uuid.uuid4().hex[:8]}"
    email = f"{reference.lower()}@firma.dk"
    intake = make_intake(
        reference=reference,
        received_at=datetime.now(UTC),
        contact={"name": "Åse Ørsted", "email": email, "phone": "98123456"},
    )
    handle = await case_api.start_case(client, intake, settings.temporal_task_queue, vault=vault)
    mails = await mails_to(stack.mail_dir, email, 1)
    assert mails, "no receipt arrived"
    company = httpx.AsyncClient(base_url=url)
    link = link_in(mails[0].body)

    async def page() -> str:
        answer = await company.get(link)
        assert answer.status_code == 200, answer.text[:500]
        return text_of(answer.text)

    months = web_settings.retention_months
    assert "Jeres personoplysninger" in (text := await page())
    assert (
        "Når sagen er afsluttet, gemmer vi jeres kontaktoplysninger og jeres egne tekster i "
        f"{months} måneder. Derefter slettes de. Tallene i vores statistik er anonyme og "
        "bliver stående."
    ) in text

    await case_api.withdraw(
        client, reference, "Projektet er udsat", request_id=f"w-{reference}", vault=vault
    )
    await asyncio.wait_for(handle.result(), 60)  # closed, its letters sent
    kept = await erasure_api.retention_of(sessions, settings, reference)
    assert kept.closed_at is not None and kept.erased_at is None
    assert kept.erase_on == retention.erase_on(kept.closed_at, months)
    assert (
        f"Vi sletter jeres kontaktoplysninger og jeres egne tekster {danish_date(kept.erase_on)}."
    ) in await page()

    jha = await signed_in(url, OPERATOR)
    erased = await jha.post(f"/api/v1/cases/{reference}/erasure", json={"reason": REASON})
    assert erased.status_code == 200, erased.text
    record = await erasure_of(sessions, reference)
    text = await page()  # the page still opens, its personal fields "[slettet]"
    assert (
        f"Jeres personoplysninger i sagen blev slettet {danish_date(record.erased_at)}. "
        "Sagens forløb og de anonyme tal er gemt."
    ) in text
    assert "Vi sletter" not in text and "Når sagen er afsluttet" not in text
    assert "Åse" not in text and email not in text

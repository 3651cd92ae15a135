"""The public figures over HTTP on real Postgres: /figures shows the snapshot's numbers against
their targets, per industry side by side, with suppression said plainly; /figures.csv and
/figures.json carry the same numbers in their documented columns; no free text anywhere."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import delete

import figures_api
from db.measurement_models import ClosedCase, FigureSnapshot, SurveyComment
from settings import Settings
from tests.test_e2e import stack  # noqa: F401 - the module's running dev stack
from tests.test_figures_api import answer, closed_case, insert, sessions  # noqa: F401
from web.app import create_app
from web.figures import COLUMNS

pytestmark = pytest.mark.e2e
COMMENT = "Sagsbehandleren Jens Hansen var uhøflig"  # free text: never on a public page
MAY = datetime(2026, 5, 12, 9, tzinfo=UTC)
JUNE = datetime(2026, 6, 10, 10, tzinfo=UTC)


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest_asyncio.fixture(scope="module")
async def filled(sessions):  # noqa: F811
    """Two months of cases: building (F) with enough answers, restaurants (I) with 2 answers,
    one case without an industry; a broken contact promise; a comment."""
    async with sessions() as session, session.begin():
        await session.execute(delete(ClosedCase))
        await session.execute(delete(FigureSnapshot))
    cases = [closed_case(i, MAY + timedelta(hours=i)) for i in range(6)]
    cases += [closed_case(10 + i, JUNE + timedelta(hours=i)) for i in range(6)]
    cases += [
        closed_case(20, JUNE, industry_code="561010", contacted_within_deadline=False),
        closed_case(21, JUNE, industry_code="561010"),
        closed_case(22, JUNE, industry_code=None, departments=["building", "fire"]),
    ]
    answers = [answer(i) for i in range(6)] + [answer(10 + i, score=4) for i in range(5)]
    answers += [answer(20, score=1), answer(21, score=5)]
    await insert(sessions, *cases, *answers)
    async with sessions() as session, session.begin():
        session.add(SurveyComment(case_id="case-FIG-20", text=COMMENT, written_at=JUNE))
    await figures_api.refresh(sessions)
    return await figures_api.latest(sessions)


@pytest_asyncio.fixture(scope="module")
async def http(stack, sessions, filled):  # noqa: F811
    settings = Settings(
        database_url=stack.database_url,
        temporal_address="127.0.0.1:9",
        municipality_name="Høje-Taastrup Kommune",
    )
    app = create_app(settings, sessions=sessions)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as client:
            yield client


def find(rows, indicator, period="alle", dimension="alle", group="alle"):
    (row,) = [
        r
        for r in rows
        if (r["indicator"], r["period"], r["dimension"], r["group"])
        == (indicator, period, dimension, group)
    ]
    return row


async def test_csv_has_the_documented_columns_and_the_snapshot_rows(http, filled):
    response = await http.get("/figures.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == COLUMNS == [
        "period", "period_type", "dimension", "group", "indicator",
        "value", "target", "met", "n", "suppressed",
    ]  # fmt: skip
    assert len(rows) == len(filled["rows"])
    contact = find(rows, "contacted_within_5_working_days", "2026")
    assert contact == {
        "period": "2026",
        "period_type": "year",
        "dimension": "alle",
        "group": "alle",
        "indicator": "contacted_within_5_working_days",
        "value": str(round(14 / 15, 4)),
        "target": "1.0",
        "met": "false",
        "n": "15",
        "suppressed": "false",
    }
    small = find(rows, "satisfied_overall", "2026", "industry", "I")
    assert small["value"] == "" and small["met"] == "" and small["suppressed"] == "true"
    assert small["n"] == "2"


async def test_json_is_the_snapshot_with_definitions_and_published_cases(http, filled):
    response = await http.get("/figures.json")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["rows"] == filled["rows"] and document["columns"] == COLUMNS
    assert document["cases"] == 15 and document["answers"] == 13
    assert document["industry_sections"]["F"] == "Bygge- og anlægsvirksomhed"
    assert {i["key"] for i in document["indicators"]} >= {"response_rate", "decided_on_time"}
    assert len(document["published_cases"]) == 15
    assert "FIG-" not in response.text  # no case ids or references


async def test_the_page_shows_the_same_numbers_as_the_csv(http, filled):
    response = await http.get("/figures")
    assert response.status_code == 200
    page = response.text
    text = text_of(page)
    assert "<h1>Sådan går det – tal for erhvervsservice</h1>" in page
    assert "<script" not in page
    # The default period is the newest case's year; every glance figure as in the CSV.
    assert "Overblik: 2026" in text
    rows = filled["rows"]
    contact = find(rows, "contacted_within_5_working_days", "2026")
    shown = f"{contact['value'] * 100:.1f}".replace(".", ",") + " %"
    glance = text[text.index("Overblik: 2026") : text.index("Udviklingen måned for måned")]
    assert f"Kontaktet inden for 5 hverdage {shown} Alle sager (100 %) Ikke opfyldt 15" in glance
    response_rate = find(rows, "response_rate", "2026")
    rate = f"{response_rate['value'] * 100:.1f}".replace(".", ",") + " %"
    assert f"Svarprocent {rate} Over 50 % Opfyldt 15" in glance
    overall = find(rows, "satisfied_overall", "2026")
    satisfied = f"{overall['value'] * 100:.1f}".replace(".", ",") + " %"
    assert f"Tilfredse samlet set {satisfied} Over 90 % Opfyldt 13" in glance
    # Per industry side by side, named; the small group says why its figure is missing.
    assert "F – Bygge- og anlægsvirksomhed" in text
    assert "I – Overnatningsfaciliteter og restaurationsvirksomhed" in text
    assert "Branche ikke oplyst" in text
    industry_part = text[text.index("Pr. branche") : text.index("Pr. fagområde")]
    restaurants = industry_part[industry_part.index("I – Overnatning") :]
    assert restaurants.split("færre end 5 svar")[0].count("%") == 1  # response rate only
    assert "færre end 5 svar" in industry_part
    # Plots with text alternatives and the tables behind them; the open data and reports.
    for name in ("svarprocent", "tilfredshed", "loefter", "servicemaal"):
        assert f'src="/figures/plots/{name}.svg?v={filled["snapshot"]}"' in page
    assert len(re.findall(r'<img [^>]*alt="[^"]{40,}"', page)) == 4
    assert "Tallene bag figuren" in text and "Maj 2026" in text and "Jun. 2026" in text
    for link in ("/figures.csv", "/figures.json", "/figures/rapporter"):
        assert f'href="{link}"' in page


async def test_a_month_can_be_chosen_and_an_unknown_period_falls_back(http, filled):
    may = text_of((await http.get("/figures", params={"periode": "2026-05"})).text)
    assert "Overblik: maj 2026" in may
    rows = filled["rows"]
    assert find(rows, "satisfied_overall", "2026-05")["n"] == 6
    assert "Tilfredse samlet set 100,0 % Over 90 % Opfyldt 6" in may
    odd = text_of((await http.get("/figures", params={"periode": "1999<b>"})).text)
    assert "Der er ingen tal for den valgte periode" in odd and "Overblik: 2026" in odd
    assert "1999<b>" not in odd


async def test_plots_are_svg_with_text_and_the_target_line(http):
    response = await http.get("/figures/plots/tilfredshed.svg")
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
    svg = response.text
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "Tilfredse samlet set" in svg and "mål 90 %" in svg and "mål 80 %" in svg
    assert "<script" not in svg and not re.search(r'href="https?:', svg)  # nothing loaded
    assert (await http.get("/figures/plots/tilfredshed.svg")).content == response.content
    assert (await http.get("/figures/plots/ukendt.svg")).status_code == 404


async def test_no_free_text_on_any_public_page_or_data(http):
    for path in ("/figures", "/figures.csv", "/figures.json", "/figures?periode=2026-06"):
        body = (await http.get(path)).text
        assert "Jens Hansen" not in body and "uhøflig" not in body, path
    for name in ("svarprocent", "tilfredshed", "loefter", "servicemaal"):
        assert "uhøflig" not in (await http.get(f"/figures/plots/{name}.svg")).text


async def test_before_any_snapshot_the_page_says_so_and_the_data_is_empty(sessions, stack):  # noqa: F811
    async with sessions() as session, session.begin():
        await session.execute(delete(FigureSnapshot))
    try:
        settings = Settings(database_url=stack.database_url, temporal_address="127.0.0.1:9")
        app = create_app(settings, sessions=sessions)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://w.test") as client:
                page = await client.get("/figures")
                assert page.status_code == 200
                assert "Der er endnu ingen afsluttede sager" in text_of(page.text)
                assert (await client.get("/figures.csv")).text.strip() == ",".join(COLUMNS)
                assert (await client.get("/figures.json")).json()["rows"] == []
    finally:
        await figures_api.refresh(sessions)  # the figures back for the tests after this one

"""figures_api on real Postgres (the dev stack's embedded Postgres, migrated with Alembic):
closed cases and answers inserted as the survey workflow stores them, `refresh` computes and
stores a snapshot, the read side returns its header and the rows asked for; concurrent
refreshes are serialised, requested refreshes coalesced."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import delete, func, select, text

import figures_api
from db.measurement_models import ClosedCase, FigureSnapshot, FigureState, SurveyAnswer
from db.migrate import upgrade
from db.session import make_engine, make_sessionmaker
from domain.figures import MIN_ANSWERS
from tests.test_e2e import stack  # noqa: F401 - the module's running dev stack
from web.figures.open_data import published_cases

pytestmark = pytest.mark.e2e

# A fixed instant: the figures group by closing month, so tests pin their own months.
JUNE = datetime(2026, 6, 10, 10, tzinfo=UTC)


@pytest_asyncio.fixture(scope="module")
async def sessions(stack):  # noqa: F811
    await upgrade(stack.database_url)
    engine = make_engine(stack.database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest_asyncio.fixture
async def empty(sessions):
    """No closed cases and no snapshots before the test."""
    async with sessions() as session, session.begin():
        await session.execute(delete(ClosedCase))
        await session.execute(delete(FigureSnapshot))
    return sessions


def closed_case(n: int, closed_at: datetime = JUNE, **over) -> ClosedCase:
    """A closed case as its survey workflow records it."""
    received = closed_at - timedelta(days=50)
    fields = {
        "case_id": f"case-FIG-{n}",
        "reference": f"FIG-{n}",
        "case_type": "single_family_house",
        "departments": ["building"],
        "industry_code": "412000",
        "closing_reason": "decided",
        "received_at": received,
        "complete_at": received + timedelta(days=10),
        "decided_at": closed_at,
        "closed_at": closed_at,
        "agreed_date": closed_at.date(),
        "contacted_within_deadline": True,
        "decided_on_or_before_agreed_date": True,
        "net_processing_days": 40.0,
        "gross_days": 50.0,
        "gross_working_days": 35,
        "kl_target_days": 40,
        "survey_sent_at": closed_at,
    }
    return ClosedCase(**(fields | over))


def answer(n: int, score: int = 5, **over) -> SurveyAnswer:
    fields = {
        "case_id": f"case-FIG-{n}",
        "overall": score,
        "processing_time": score,
        "process": score,
        "guidance": score,
        "coordination": score,
        "pre_dialogue": None,
        "answered_at": JUNE + timedelta(days=1),
    }
    return SurveyAnswer(**(fields | over))


async def insert(sessions, *rows) -> None:
    """Cases first, then answers (the answers refer to them)."""
    async with sessions() as session, session.begin():
        session.add_all([r for r in rows if isinstance(r, ClosedCase)])
        await session.flush()
        session.add_all([r for r in rows if isinstance(r, SurveyAnswer)])


def row(body: dict, indicator: str, period="alle", dimension="alle", group="alle") -> dict:
    (found,) = [
        r
        for r in body["rows"]
        if (r["indicator"], r["period"], r["dimension"], r["group"])
        == (indicator, period, dimension, group)
    ]
    return found


async def test_latest_is_none_before_the_first_refresh_and_empty_figures_after(empty):
    assert await figures_api.latest(empty) is None
    await figures_api.refresh(empty)
    body = await figures_api.latest(empty)
    assert body["cases"] == 0 and body["rows"] == [] and body["snapshot"] >= 1
    assert datetime.fromisoformat(body["computed_at"]).tzinfo is not None


async def test_refresh_computes_from_the_stored_cases_and_answers(empty):
    cases = [closed_case(i) for i in range(8)]
    cases.append(closed_case(8, contacted_within_deadline=False, net_processing_days=55.0))
    cases.append(closed_case(9, survey_sent_at=None))  # no survey went out
    await insert(empty, *cases, *[answer(i) for i in range(5)], answer(5, score=2))
    await figures_api.refresh(empty)
    body = await figures_api.latest(empty)
    assert body["cases"] == 10 and body["answers"] == 6
    assert row(body, "response_rate")["value"] == round(6 / 9, 4)
    assert row(body, "response_rate")["n"] == 9
    satisfied = row(body, "satisfied_overall", "2026-06")
    assert satisfied["value"] == round(5 / 6, 4) and satisfied["met"] is False
    assert row(body, "contacted_within_5_working_days")["value"] == 0.9
    assert row(body, "within_kl_target_net")["value"] == 0.9
    assert row(body, "within_kl_target_gross")["value"] == 0.0
    assert row(body, "median_days_gross", dimension="industry", group="F")["value"] == 50.0
    assert "published_cases" not in body
    # what the page reads: the header with its periods, then one period's rows and the trend
    header = await figures_api.header(empty)
    assert header == {k: v for k, v in body.items() if k != "rows"}
    assert sorted(header["periods"]) == [
        ["2026", "year"], ["2026-06", "month"], ["2026-Q2", "quarter"], ["alle", "alle"]
    ]  # fmt: skip
    rows = [
        r
        for r in body["rows"]
        if r["period"] == "2026"
        or (
            r["period_type"] == "month"
            and r["dimension"] == "alle"
            and r["indicator"] == "response_rate"
        )
    ]  # what the page reads: the chosen period and the plotted months
    assert await figures_api.page(empty, lambda h: h["newest_month"][:4], ["response_rate"]) == (
        header,
        rows,
    )
    assert await figures_api.period_rows(empty, header["snapshot"], "2026") == [
        r for r in body["rows"] if r["period"] == "2026"
    ]
    assert await figures_api.trend_rows(empty, header["snapshot"], ["response_rate"]) == [
        row(body, "response_rate", "2026-06")
    ]
    # the open data's cases come from closed_cases, without ids, references or scores
    published = [c async for c in published_cases(empty)]
    assert len(published) == 10 and sum(c["answered"] for c in published) == 6
    assert "FIG-" not in str(published) and "overall" not in str(published)
    keys = [(c["month"], c["case_type"], c["surveyed"], c["answered"]) for c in published]
    assert keys == sorted(keys) and published == [c async for c in published_cases(empty)]


async def test_an_answer_moves_the_figures_a_changed_answer_changes_the_value_not_the_count(
    empty,
):
    await insert(empty, *[closed_case(i) for i in range(6)], *[answer(i) for i in range(4)])
    await figures_api.refresh(empty)
    before = await figures_api.latest(empty)
    assert row(before, "satisfied_overall")["suppressed"] is True
    assert row(before, "satisfied_overall")["n"] == MIN_ANSWERS - 1

    await insert(empty, answer(4))
    await figures_api.refresh(empty)
    after = await figures_api.latest(empty)
    assert after["snapshot"] > before["snapshot"]
    shown = row(after, "satisfied_overall")
    assert shown["suppressed"] is False and shown["value"] == 1.0 and shown["n"] == 5

    async with empty() as session, session.begin():
        changed = await session.get(SurveyAnswer, "case-FIG-4")
        changed.overall, changed.changes = 1, 1
    await figures_api.refresh(empty)
    again = await figures_api.latest(empty)
    assert row(again, "satisfied_overall")["value"] == 0.8
    assert row(again, "satisfied_overall")["n"] == 5 and again["answers"] == 5


async def test_concurrent_refreshes_are_serialised_and_old_snapshots_pruned(empty):
    await insert(empty, *[closed_case(i) for i in range(3)])
    await asyncio.gather(*(figures_api.refresh(empty) for _ in range(6)))
    async with empty() as session:
        count = (await session.execute(select(func.count(FigureSnapshot.id)))).scalar_one()
        bodies = (await session.execute(select(FigureSnapshot.body))).scalars().all()
    assert count == 6 and all(b["cases"] == 3 for b in bodies)
    for _ in range(figures_api.KEEP_SNAPSHOTS):
        await figures_api.refresh(empty)
    async with empty() as session:
        count = (await session.execute(select(func.count(FigureSnapshot.id)))).scalar_one()
    assert count == figures_api.KEEP_SNAPSHOTS
    assert (await figures_api.latest(empty))["cases"] == 3


async def test_periods_across_the_new_year_from_stored_times(empty):
    december = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # 23:30 in Copenhagen
    january = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # 00:30 on 1 January
    await insert(
        empty,
        closed_case(1, december, agreed_date=date(2026, 12, 31)),
        closed_case(
            2, january, agreed_date=date(2027, 1, 1), decided_on_or_before_agreed_date=False
        ),
    )
    await figures_api.refresh(empty)
    body = await figures_api.latest(empty)
    assert row(body, "decided_on_time", "2026")["value"] == 1.0
    assert row(body, "decided_on_time", "2027-01")["value"] == 0.0
    assert row(body, "decided_on_time", "2027-Q1")["n"] == 1
    assert body["newest_month"] == "2027-01"


async def state(sessions) -> tuple[int, int]:
    async with sessions() as session:
        found = (await session.execute(select(FigureState))).scalar_one()
        return found.requested, found.refreshed


async def test_requested_refreshes_are_coalesced_and_the_last_includes_every_case(empty):
    async def close_and_request(n: int) -> int:
        await insert(empty, closed_case(n), answer(n))
        return await figures_api.request_refresh(empty)

    before = await state(empty)
    ran = await asyncio.gather(*(close_and_request(i) for i in range(30)))
    assert 1 <= sum(ran) < 30 // 2, ran  # far fewer refreshes than requests
    requested, refreshed = await state(empty)
    assert requested == before[0] + 30 and refreshed == requested  # nothing left stale
    body = await figures_api.latest(empty)
    assert body["cases"] == 30 and body["answers"] == 30
    assert row(body, "satisfied_overall")["n"] == 30


async def test_a_request_while_a_refresh_runs_returns_at_once_and_is_not_lost(empty):
    await insert(empty, closed_case(1))
    await figures_api.refresh(empty)
    async with empty() as holder, holder.begin():  # a refresh in progress holds the lock
        await holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": figures_api.LOCK_KEY})
        await insert(empty, closed_case(2))
        assert await asyncio.wait_for(figures_api.request_refresh(empty), 5) == 0
        requested, refreshed = await state(empty)
        assert requested > refreshed  # the mark is left for the holder
    # the holder, after its commit, re-reads the mark and refreshes again
    assert await figures_api.request_refresh(empty) == 1
    assert (await figures_api.latest(empty))["cases"] == 2
    assert await figures_api.request_refresh(empty) == 1  # a new mark: one more refresh


async def test_an_old_format_snapshot_is_never_read(empty):
    await insert(empty, closed_case(1))
    assert await figures_api.header(empty) is None
    snapshot = await figures_api.refresh(empty)
    async with empty() as session, session.begin():  # e.g. written by the code before 0009
        session.add(
            FigureSnapshot(body={"version": 1, "cases": 9, "rows": [], "published_cases": []})
        )
    found = await figures_api.header(empty)
    assert found["snapshot"] == snapshot and found["cases"] == 1


async def test_a_closing_or_answer_leaves_the_refresh_to_the_background(empty):
    """The case's activity and the company's answer only mark the figures stale; the refresh
    runs in the background of that process, and a stale mark left by a stopped process is
    caught up by the next one (the worker starts with catch_up_later)."""
    await insert(empty, closed_case(1))
    await figures_api.refresh(empty)
    await insert(empty, closed_case(2))
    async with empty.begin() as session:  # as if the process stopped before refreshing
        await figures_api.mark_stale(session)
    requested, refreshed = await state(empty)
    assert requested > refreshed and (await figures_api.latest(empty))["cases"] == 1
    figures_api.catch_up_later(empty)
    await figures_api.settled()
    assert (await figures_api.latest(empty))["cases"] == 2
    requested, refreshed = await state(empty)
    assert requested == refreshed


async def test_a_background_refresh_that_fails_is_logged_and_the_mark_stays(empty, monkeypatch):
    await insert(empty, closed_case(1))
    async with empty.begin() as session:
        await figures_api.mark_stale(session)

    async def broken(session):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(figures_api, "_store", broken)
    figures_api.catch_up_later(empty)
    await figures_api.settled()  # no exception escapes
    requested, refreshed = await state(empty)
    assert requested > refreshed  # left for the next request


async def test_a_waiting_request_returns_with_figures_that_include_it(empty):
    """With `wait`, the figures have moved when the request returns."""
    await insert(empty, closed_case(1))
    await figures_api.refresh(empty)
    async with empty() as holder, holder.begin():
        await holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": figures_api.LOCK_KEY})
        await insert(empty, closed_case(2))
        waiting = asyncio.create_task(figures_api.request_refresh(empty, wait=True))
        await asyncio.sleep(0.3)
        assert not waiting.done()
    assert await asyncio.wait_for(waiting, 10) == 1
    assert (await figures_api.latest(empty))["cases"] == 2

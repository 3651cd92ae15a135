"""The figures computed in Postgres (figures_api.refresh) equal the pure reference
(domain.figures.figure_rows) exactly: hypothesis generates closed cases and answers (times
at the DST changes and month/year ends in Copenhagen, unknown flags, "ved ikke", unanswered
and not surveyed cases, several departments, unknown industry codes, even and odd counts,
halves), they are stored as the survey workflow stores them, refreshed, and the stored rows
and header are compared with the reference."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

import figures_api
from db.measurement_models import ClosedCase, FigureSnapshot, SurveyAnswer
from db.migrate import upgrade
from db.session import make_engine, make_sessionmaker
from domain.calendar import COPENHAGEN
from domain.figures import QUESTIONS, CaseFacts, compute, figure_rows
from tests.test_e2e import stack  # noqa: F401 - the module's running dev stack

pytestmark = pytest.mark.e2e


def _edges() -> list[datetime]:
    """Instants around Copenhagen's month and year ends and the DST changes."""
    out = []
    for year, month in [(2025, 12), (2026, 1), (2026, 3), (2026, 6), (2026, 9), (2026, 10)]:
        nxt = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=COPENHAGEN)
        for delta in (timedelta(microseconds=-1), timedelta(0), timedelta(minutes=-30)):
            out.append((nxt + delta).astimezone(UTC))
    for change in (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)):
        out += [change + timedelta(minutes=m) for m in (-61, -1, 0, 1, 59, 60)]
    return out


closed_at = st.one_of(
    st.sampled_from(_edges()),
    st.datetimes(datetime(2025, 11, 1), datetime(2027, 2, 1), timezones=st.just(UTC)),
)
days = st.one_of(
    st.none(),
    st.integers(0, 60).map(float),
    st.integers(0, 120).map(lambda h: h / 2),
    st.floats(-2, 200, allow_nan=False, allow_infinity=False),
)
score = st.one_of(st.none(), st.integers(0, 5))
flag = st.one_of(st.none(), st.booleans())
facts = st.builds(
    CaseFacts,
    case_id=st.just(""),
    case_type=st.sampled_from(["single_family_house", "industry_warehouse", "fire_safety"]),
    departments=st.lists(
        st.sampled_from(["building", "environment", "fire"]), unique=True, max_size=3
    ).map(tuple),
    industry_code=st.sampled_from([None, "412000", "561010", "011100", "990000", "", "4"]),
    closed_at=closed_at,
    surveyed=st.booleans(),
    answer=st.one_of(st.none(), st.fixed_dictionaries({q: score for q in QUESTIONS})),
    contacted_within_deadline=flag,
    decided_on_or_before_agreed_date=flag,
    net_processing_days=days,
    gross_days=days,
    kl_target_days=st.one_of(st.none(), st.integers(0, 60)),
    closing_reason=st.sampled_from(["decided", "withdrawn"]),
)


@pytest.fixture(scope="module")
def database(stack):  # noqa: F811
    """A loop of its own (hypothesis drives a plain function) and sessions on it."""
    loop = asyncio.new_event_loop()
    loop.run_until_complete(upgrade(stack.database_url))
    engine = make_engine(stack.database_url)
    yield loop, make_sessionmaker(engine)
    loop.run_until_complete(engine.dispose())
    loop.close()


async def _store(sessions, cases: list[CaseFacts]) -> None:
    async with sessions() as session, session.begin():
        await session.execute(delete(ClosedCase))
        await session.execute(delete(FigureSnapshot))
        if not cases:
            return
        await session.execute(
            insert(ClosedCase),
            [
                {
                    "case_id": f"case-{i}",
                    "reference": f"REF-{i}",
                    "case_type": c.case_type,
                    "departments": list(c.departments),
                    "industry_code": c.industry_code,
                    "closing_reason": c.closing_reason,
                    "received_at": c.closed_at - timedelta(days=30),
                    "closed_at": c.closed_at,
                    "contacted_within_deadline": c.contacted_within_deadline,
                    "decided_on_or_before_agreed_date": c.decided_on_or_before_agreed_date,
                    "net_processing_days": c.net_processing_days,
                    "gross_days": c.gross_days,
                    "kl_target_days": c.kl_target_days,
                    "survey_sent_at": c.closed_at if c.surveyed else None,
                }
                for i, c in enumerate(cases)
            ],
        )
        answers = [
            {"case_id": f"case-{i}", "answered_at": c.closed_at, **c.answer}
            for i, c in enumerate(cases)
            if c.answer is not None
        ]
        if answers:
            await session.execute(insert(SurveyAnswer), answers)


async def _check(sessions, cases: list[CaseFacts]) -> None:
    await _store(sessions, cases)
    await figures_api.refresh(sessions)
    stored = await figures_api.latest(sessions)
    want = compute(cases)
    assert stored["rows"] == figure_rows(cases)
    assert {k: stored[k] for k in ("cases", "answers", "newest_month", "indicators")} == {
        k: want[k] for k in ("cases", "answers", "newest_month", "indicators")
    }
    periods = dict.fromkeys((r["period"], r["period_type"]) for r in want["rows"])
    assert stored["periods"] == [list(p) for p in periods]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases=st.lists(facts, max_size=40))
def test_the_sql_refresh_equals_the_reference(database, cases):
    loop, sessions = database
    loop.run_until_complete(_check(sessions, cases))


def test_a_large_group_with_halves_even_and_odd(database):
    """Many cases in one cell: medians of even and odd counts, halves, ties, p80's rank."""
    loop, sessions = database
    base = datetime(2026, 5, 31, 21, 59, 59, 999999, tzinfo=UTC)  # the last µs of May
    for count in (9, 10):
        cases = [
            CaseFacts(
                case_id="",
                case_type="fire_safety",
                departments=("fire", "building"),
                industry_code="561010",
                closed_at=base + timedelta(microseconds=i % 2),  # May and June
                net_processing_days=(i * 7 % 11) / 2,
                gross_days=float(i // 3),
                kl_target_days=3,
                answer={q: i % 6 for q in QUESTIONS},
            )
            for i in range(count)
        ]
        loop.run_until_complete(_check(sessions, cases))

"""The figures kept current (commitment 9): `refresh` recomputes them from the closed cases'
facts and the survey answers and stores a new snapshot; `latest` returns the newest one.

Call `refresh` after a case closes and after an answer arrives (it is cheap: one read of two
tables and one insert). Concurrent refreshes are serialised by a Postgres advisory lock, so
the newest snapshot is always computed from everything committed before it. The pages, the
CSV and the JSON read `latest` and never recompute per view.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from db.measurement_models import ClosedCase, FigureSnapshot, SurveyAnswer
from domain.figures import QUESTIONS, CaseFacts, compute

log = structlog.get_logger(__name__)

LOCK_KEY = 0x46494755  # "FIGU": the advisory lock that serialises refreshes
KEEP_SNAPSHOTS = 20  # older snapshots are deleted (the newest is what counts)


def facts_of(case: ClosedCase, answer: SurveyAnswer | None) -> CaseFacts:
    return CaseFacts(
        case_id=case.case_id,
        case_type=case.case_type,
        departments=tuple(case.departments),
        industry_code=case.industry_code,
        closed_at=case.closed_at,
        surveyed=case.survey_sent_at is not None,
        answer=None if answer is None else {q: getattr(answer, q) for q in QUESTIONS},
        contacted_within_deadline=case.contacted_within_deadline,
        decided_on_or_before_agreed_date=case.decided_on_or_before_agreed_date,
        net_processing_days=case.net_processing_days,
        gross_days=case.gross_days,
        kl_target_days=case.kl_target_days,
        closing_reason=case.closing_reason,
    )


async def refresh(sessions: async_sessionmaker) -> None:
    """Recompute the figures from every closed case and answer and store them as the newest
    snapshot (one transaction, under the advisory lock)."""
    async with sessions() as session, session.begin():
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        result = await session.execute(
            select(ClosedCase, SurveyAnswer).outerjoin(
                SurveyAnswer, SurveyAnswer.case_id == ClosedCase.case_id
            )
        )
        facts = [facts_of(case, answer) for case, answer in result.all()]
        body = compute(facts)
        snapshot = FigureSnapshot(body=body)
        session.add(snapshot)
        await session.flush()
        await session.execute(
            delete(FigureSnapshot).where(FigureSnapshot.id <= snapshot.id - KEEP_SNAPSHOTS)
        )
    log.info(
        "figures_refreshed", cases=body["cases"], answers=body["answers"], rows=len(body["rows"])
    )


async def latest(sessions: async_sessionmaker, *, cases: bool = True) -> dict[str, Any] | None:
    """The newest snapshot's body with its `computed_at` (ISO 8601) and `snapshot` id; None
    before the first refresh. Without *cases* the per-case open data (`published_cases`, one
    entry per closed case) is left in Postgres: the page and the plots need only the rows."""
    body = FigureSnapshot.body if cases else FigureSnapshot.body.op("-")("published_cases")
    async with sessions() as session:
        row = (
            await session.execute(
                select(body, FigureSnapshot.computed_at, FigureSnapshot.id)
                .order_by(FigureSnapshot.id.desc())
                .limit(1)
            )
        ).first()
    if row is None:
        return None
    found, computed_at, snapshot = row
    return {**found, "computed_at": computed_at.isoformat(), "snapshot": snapshot}

"""Operational figures for the metrics (docs/deployment.md "Metrics"): counts only, computed
from the projection and the outbox in one short read. The web service's `/metrics` calls
`operational_figures` through this seam (it never reads the tables itself) and caches it
for a few seconds.

No personal data: statuses, letter kinds and counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from db.models import Case, OutboxLetter
from schemas.case import CaseStatus


@dataclass(frozen=True)
class OperationalFigures:
    """Open cases per status; open cases whose contact deadline is breached (recorded, or
    passed without first contact); late department reviews on open cases and how many open
    cases have one; unsent letters per kind, pending (never tried) and failing (tried)."""

    open_cases: dict[str, int] = field(default_factory=dict)
    contact_deadline_breached: int = 0
    late_reviews: int = 0
    cases_with_late_reviews: int = 0
    letters_pending: dict[str, int] = field(default_factory=dict)
    letters_failing: dict[str, int] = field(default_factory=dict)


async def operational_figures(sessions: async_sessionmaker) -> OperationalFigures:
    """The figures now (every open status is present, with 0 when no case has it)."""
    is_open = Case.closed_at.is_(None) & (Case.status != CaseStatus.closed.value)
    breached = or_(
        Case.contact_breached.is_(True),
        and_(Case.contacted_at.is_(None), Case.contact_deadline < func.now()),
    )
    async with sessions() as session:
        per_status = dict(
            (
                await session.execute(
                    select(Case.status, func.count()).where(is_open).group_by(Case.status)
                )
            ).all()
        )
        breached_count, late, with_late = (
            await session.execute(
                select(
                    func.count().filter(breached),
                    func.coalesce(func.sum(Case.late_reviews), 0),
                    func.count().filter(Case.late_reviews > 0),
                ).where(is_open)
            )
        ).one()
        tried = (OutboxLetter.send_attempts > 0).label("tried")
        unsent = (
            await session.execute(
                select(OutboxLetter.kind, tried, func.count())
                .where(OutboxLetter.sent_at.is_(None))
                .group_by(OutboxLetter.kind, tried)
            )
        ).all()
    open_cases = {s.value: 0 for s in CaseStatus if s is not CaseStatus.closed}
    open_cases |= {status: int(n) for status, n in per_status.items()}
    pending: dict[str, int] = {}
    failing: dict[str, int] = {}
    for kind, tried, n in unsent:
        target = failing if tried else pending
        target[kind] = target.get(kind, 0) + int(n)
    return OperationalFigures(
        open_cases=open_cases,
        contact_deadline_breached=int(breached_count),
        late_reviews=int(late),
        cases_with_late_reviews=int(with_late),
        letters_pending=pending,
        letters_failing=failing,
    )

"""The figures kept current (commitment 9), at scale (docs/figures.md): `refresh` aggregates
every closed case and answer in Postgres (figures_sql.py; the rows made by
`domain.figures.cell_rows`, as the pure reference does) and stores a snapshot (a header in
`figure_snapshots.body`, the rows in `figure_rows`); `request_refresh`, run after closings
and answers, coalesces them; the read side returns only what is asked for. The per-case open
data is streamed from `closed_cases` by web/figures/open_data.py; no snapshot holds it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import structlog
from sqlalchemy import and_, delete, insert, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.measurement_models import FigureRow, FigureSnapshot
from domain.figures import ALL, indicator_definitions
from figures_sql import AGGREGATE, cell_values, header_of, industry_sections, rows_of

log = structlog.get_logger(__name__)

LOCK_KEY = 0x46494755  # "FIGU": the advisory lock that serialises refreshes
KEEP_SNAPSHOTS = 20  # older snapshots are deleted (the newest is what counts)
VERSION = 2  # the body is the header; the rows are in figure_rows (migration 0009)
COLUMNS = [
    "period", "period_type", "dimension", "group", "indicator",
    "value", "target", "met", "n", "suppressed",
]  # fmt: skip
_ROW = [getattr(FigureRow, c) for c in COLUMNS]
_BUMP = text(
    "INSERT INTO figure_state (id, requested, refreshed) VALUES (1, 1, 0) "
    "ON CONFLICT (id) DO UPDATE SET requested = figure_state.requested + 1"
)
_STATE = text("SELECT requested, refreshed FROM figure_state WHERE id = 1")


async def _store(session: AsyncSession) -> tuple[int, dict]:
    """Aggregate, store the new snapshot and its rows, prune old ones; under the lock."""
    state = (await session.execute(_STATE)).first()
    requested = state.requested if state else 0
    codes, sections = await industry_sections(session)
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    result = await session.execute(AGGREGATE, {"codes": codes, "sections": sections})
    cells = cell_values(result.mappings().all())
    rows = rows_of(cells)
    body = header_of(cells, rows) | {"version": VERSION, "indicators": indicator_definitions()}
    snapshot = (
        await session.execute(insert(FigureSnapshot).values(body=body).returning(FigureSnapshot.id))
    ).scalar_one()
    if rows:
        await session.execute(
            insert(FigureRow),
            [{"snapshot_id": snapshot, "position": i, **r} for i, r in enumerate(rows)],
        )
    await session.execute(
        delete(FigureSnapshot).where(FigureSnapshot.id <= snapshot - KEEP_SNAPSHOTS)
    )
    await session.execute(
        text("UPDATE figure_state SET refreshed = greatest(refreshed, :r) WHERE id = 1"),
        {"r": requested},
    )
    log.info("figures_refreshed", cases=body["cases"], answers=body["answers"], rows=len(rows))
    return snapshot, body


async def refresh(sessions: async_sessionmaker) -> int:
    """Recompute the figures from every closed case and answer and store them as the newest
    snapshot (one transaction, waiting for any running refresh first). Returns its id."""
    async with sessions() as session, session.begin():
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        snapshot, _ = await _store(session)
    return snapshot


async def mark_stale(session: AsyncSession) -> None:
    """Record, in the caller's transaction, that the figures miss what it commits (a closing or
    an answer): the mark and the fact are stored together or not at all."""
    await session.execute(_BUMP)


async def catch_up(sessions: async_sessionmaker, *, wait: bool = False) -> int:
    """Refresh while the figures are marked stale, unless another refresh holds the lock (that
    one sees the mark when it is done and runs again). Returns how many refreshes ran here.

    No mark is lost: a request that finds the lock taken has bumped the counter before
    trying; whoever holds the lock refreshes while the counter is ahead of what the newest
    snapshot covers, and after each commit (which releases the lock) tries again.

    With *wait*, the first try waits for the lock instead of returning, so the figures cover
    every mark made before the call when it returns."""
    ran, take = 0, "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    while True:
        async with sessions() as session, session.begin():
            locked = await session.scalar(text(f"SELECT {take}(:key)"), {"key": LOCK_KEY})
            if locked is False:
                return ran
            state = (await session.execute(_STATE)).first()
            if state is not None and state.requested <= state.refreshed:
                return ran
            await _store(session)
        ran, take = ran + 1, "pg_try_advisory_xact_lock"


async def request_refresh(sessions: async_sessionmaker, *, wait: bool = False) -> int:
    """Mark the figures stale and catch up here (see `catch_up`)."""
    async with sessions.begin() as session:
        await mark_stale(session)
    return await catch_up(sessions, wait=wait)


_BACKGROUND: set[asyncio.Task] = set()  # held here: the event loop keeps tasks only weakly


def catch_up_later(sessions: async_sessionmaker) -> None:
    """`catch_up` in the background of this process: a closing's activity or an answer's
    request does not wait for a refresh (O(all closed cases): seconds at 100,000 cases).
    Call it after the transaction that marked the figures stale has committed. A failure is
    logged; the mark stays, so the next request (or the worker's next start) refreshes."""

    async def run() -> None:
        try:
            await catch_up(sessions)
        except Exception as err:  # noqa: BLE001 - the mark stays; logged by kind
            log.warning("figures not refreshed", error=type(err).__name__)

    task = asyncio.get_running_loop().create_task(run())
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


async def settled() -> None:
    """Wait until this process's background refreshes are done (tests and the bench)."""
    while _BACKGROUND:
        await asyncio.gather(*list(_BACKGROUND), return_exceptions=True)


# ------------------------------------------------------------------ the read side
def _newest():
    return (
        select(FigureSnapshot.body, FigureSnapshot.computed_at, FigureSnapshot.id)
        .where(FigureSnapshot.body["version"].as_integer() == VERSION)
        .order_by(FigureSnapshot.id.desc())
        .limit(1)
    )


def _header_of(row) -> dict[str, Any] | None:
    if row is None:
        return None
    body, computed_at, snapshot = row
    return {**body, "computed_at": computed_at.isoformat(), "snapshot": snapshot}


async def header(sessions: async_sessionmaker) -> dict[str, Any] | None:
    """The newest snapshot's header (version, cases, answers, newest_month, indicators,
    periods) with its `computed_at` (ISO 8601) and `snapshot` id; None before the first."""
    async with sessions() as session:
        return _header_of((await session.execute(_newest())).first())


async def _read(session: AsyncSession, snapshot: int, where) -> list[dict]:
    query = select(*_ROW).where(FigureRow.snapshot_id == snapshot, where)
    result = await session.execute(query.order_by(FigureRow.position))
    return [dict(zip(COLUMNS, r, strict=True)) for r in result.all()]


async def _rows(sessions: async_sessionmaker, snapshot: int, where) -> list[dict]:
    async with sessions() as session:
        return await _read(session, snapshot, where)


async def page(
    sessions: async_sessionmaker, choose: Callable[[dict], str], indicators: Iterable[str]
) -> tuple[dict[str, Any] | None, list[dict]]:
    """What /figures reads, on one connection: the header, then the rows of the period
    *choose(header)* picks and the monthly rows of *indicators* (as `period_rows` and
    `trend_rows`, in one query). (None, []) before the first refresh."""
    async with sessions() as session:
        found = _header_of((await session.execute(_newest())).first())
        if found is None:
            return None, []
        where = or_(FigureRow.period == choose(found), _trend(indicators))
        return found, await _read(session, found["snapshot"], where)


def _trend(indicators: Iterable[str]):
    return and_(
        FigureRow.period_type == "month",
        FigureRow.dimension == ALL,
        FigureRow.indicator.in_(list(indicators)),
    )


async def period_rows(sessions: async_sessionmaker, snapshot: int, period: str) -> list[dict]:
    """Every row of one period (all dimensions, groups and indicators)."""
    return await _rows(sessions, snapshot, FigureRow.period == period)


async def trend_rows(
    sessions: async_sessionmaker, snapshot: int, indicators: Iterable[str]
) -> list[dict]:
    """The monthly rows of dimension "alle" for *indicators* (the plots)."""
    return await _rows(sessions, snapshot, _trend(indicators))


async def stream_rows(
    sessions: async_sessionmaker, snapshot: int, batch: int = 2000
) -> AsyncIterator[dict]:
    """Every row of the snapshot in order, read in batches (a server-side cursor)."""
    query = select(*_ROW).where(FigureRow.snapshot_id == snapshot).order_by(FigureRow.position)
    async with sessions() as session:
        result = await session.stream(query.execution_options(yield_per=batch))
        async for part in result.partitions(batch):
            for r in part:
                yield dict(zip(COLUMNS, r, strict=True))


async def latest(sessions: async_sessionmaker) -> dict[str, Any] | None:
    """The newest header with every row (`rows`); None before the first refresh. For tests and
    the bench's checks: the pages read only what they show."""
    found = await header(sessions)
    if found is None:
        return None
    return found | {"rows": [r async for r in stream_rows(sessions, found["snapshot"])]}

"""The open data, streamed: `/figures.csv` (every row of the newest snapshot) and
`/figures.json` (the header, the rows and `published_cases`, one object per closed case read
from `closed_cases` by a server-side cursor in batches). Neither is held in memory whole."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

import figures_api
import figures_sql
from domain import industry
from domain.figures import CaseFacts, published_case

COLUMNS = figures_api.COLUMNS
BATCH = 2000
DOCUMENTATION = "/figures#om-tallene and docs/figures.md"

# Ordered by the published values themselves (the case id only breaks ties between cases
# whose published values are all equal), so the order tells nothing the values do not.
PUBLISHED = text(
    f"""WITH {figures_sql.SECTIONS_CTE}
SELECT c.case_type, c.departments, c.industry_code, c.closed_at,
       c.survey_sent_at IS NOT NULL AS surveyed, a.case_id IS NOT NULL AS answered,
       c.contacted_within_deadline, c.decided_on_or_before_agreed_date,
       c.net_processing_days, c.gross_days, c.kl_target_days
FROM closed_cases c
LEFT JOIN survey_answers a ON a.case_id = c.case_id
LEFT JOIN sections s ON s.code = coalesce(c.industry_code, '')
ORDER BY to_char(c.closed_at AT TIME ZONE 'Europe/Copenhagen', 'YYYY-MM'), c.case_type,
         c.departments, coalesce(s.section, '{industry.UNKNOWN}'), surveyed, answered,
         c.contacted_within_deadline, c.decided_on_or_before_agreed_date,
         c.net_processing_days, c.gross_days, c.kl_target_days, c.case_id"""
)


async def published_cases(sessions: async_sessionmaker, batch: int = BATCH) -> AsyncIterator[dict]:
    """Every closed case as `domain.figures.published_case` publishes it."""
    async with sessions() as session:
        # one snapshot of the database for the codes and the cases
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        codes, sections = await figures_sql.industry_sections(session)
        result = await session.stream(
            PUBLISHED.execution_options(yield_per=batch), {"codes": codes, "sections": sections}
        )
        async for part in result.partitions(batch):
            for r in part:
                yield published_case(
                    CaseFacts(
                        case_id="",
                        case_type=r.case_type,
                        departments=tuple(r.departments),
                        industry_code=r.industry_code,
                        closed_at=r.closed_at,
                        surveyed=r.surveyed,
                        answer={} if r.answered else None,
                        contacted_within_deadline=r.contacted_within_deadline,
                        decided_on_or_before_agreed_date=r.decided_on_or_before_agreed_date,
                        net_processing_days=r.net_processing_days,
                        gross_days=r.gross_days,
                        kl_target_days=r.kl_target_days,
                    )
                )


def csv_line(row: dict | list) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if isinstance(row, list):
        writer.writerow(row)
    else:
        writer.writerow(
            [
                ""
                if row[c] is None
                else str(row[c]).lower()
                if isinstance(row[c], bool)
                else row[c]
                for c in COLUMNS
            ]
        )
    return out.getvalue()


async def csv_stream(sessions: async_sessionmaker, header: dict | None) -> AsyncIterator[str]:
    yield csv_line(COLUMNS)
    if header is None:
        return
    lines = []
    async for row in figures_api.stream_rows(sessions, header["snapshot"], BATCH):
        lines.append(csv_line(row))
        if len(lines) >= BATCH:
            yield "".join(lines)
            lines = []
    yield "".join(lines)


def _dump(value) -> str:
    return json.dumps(value, ensure_ascii=False)


async def _array(items: AsyncIterator[dict]) -> AsyncIterator[str]:
    """A JSON array, one item per line, yielded in batches."""
    parts, first = [], True
    async for item in items:
        parts.append(("\n  " if first else ",\n  ") + _dump(item))
        first = False
        if len(parts) >= BATCH:
            yield "".join(parts)
            parts = []
    yield "".join(parts) + ("]" if first else "\n ]")


async def json_stream(sessions: async_sessionmaker, header: dict | None) -> AsyncIterator[str]:
    """The document (docs/figures.md): computed_at, cases, answers, columns, indicators,
    industry_sections, rows, published_cases (empty before the first refresh), documentation.
    The cases are read when asked for, so a case closed since the snapshot is among them."""
    header = header or {"computed_at": None, "cases": 0, "answers": 0, "indicators": []}
    start = {
        "computed_at": header.get("computed_at"),
        "cases": header["cases"],
        "answers": header["answers"],
        "columns": COLUMNS,
        "indicators": header.get("indicators") or [],
        "industry_sections": industry.SECTIONS | {industry.UNKNOWN: industry.UNKNOWN_NAME},
    }
    yield "{\n" + "".join(f" {_dump(k)}: {_dump(v)},\n" for k, v in start.items())
    snapshot = header.get("snapshot")
    yield ' "rows": ['
    async for part in _array(
        _none() if snapshot is None else figures_api.stream_rows(sessions, snapshot)
    ):
        yield part
    yield ',\n "published_cases": ['
    async for part in _array(_none() if snapshot is None else published_cases(sessions)):
        yield part
    yield f',\n "documentation": {_dump(DOCUMENTATION)}\n}}\n'


async def _none() -> AsyncIterator[dict]:
    return
    yield

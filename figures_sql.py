"""The figures' aggregation in Postgres (docs/figures.md): one query over every closed case
and answer gives each cell's counts and order statistics; `cell_values` turns them into the
indicators' values with the formulas of `domain.figures` (the pure reference; the equivalence
is tested in tests/test_figures_sql.py). figures_api stores and serves the result.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain import industry
from domain.figures import ALL, INDICATORS, QUESTIONS, cell_rows

# ------------------------------------------------------------------ the aggregation in SQL
# One row per cell (dimension, group, period): counts for the shares (FILTER) and the order
# statistics. Periods are a ROLLUP of year > quarter > month of `closed_at AT TIME ZONE
# 'Europe/Copenhagen'`, grouped as integers (2026, 20264, 202611: cheaper to sort than text)
# and named in Python as domain.figures.periods_of does; a case counts once in "alle", its
# case type, its industry section and each of its departments.
_PERIOD_TYPE = {0: "month", 1: "quarter", 3: "year", 7: ALL}  # GROUPING(year, quarter, month)
_CLOCKS = ("net", "gross")
_AGGREGATES = [
    "count(*) AS cases",
    "count(*) FILTER (WHERE answered) AS answers",
    "count(*) FILTER (WHERE surveyed) AS surveyed_n",
    "count(*) FILTER (WHERE surveyed AND answered) AS surveyed_yes",
    *(
        f"count(*) FILTER (WHERE {q} BETWEEN 1 AND 5) AS {q}_n, "
        f"count(*) FILTER (WHERE {q} BETWEEN 4 AND 5) AS {q}_yes"
        for q in QUESTIONS
    ),
    "count(contacted) AS contacted_n, count(*) FILTER (WHERE contacted) AS contacted_yes",
    "count(on_time) AS on_time_n, count(*) FILTER (WHERE on_time) AS on_time_yes",
    *(
        f"count(*) FILTER (WHERE {c} IS NOT NULL AND kl IS NOT NULL) AS {c}_within_n, "
        f"count(*) FILTER (WHERE {c} <= kl) AS {c}_within_yes, count({c}) AS {c}_n, "
        # one sort per clock: the lower middle (rank ceil(n/2)), the upper middle (rank
        # ceil((0.5 + 1e-9)·n) = n/2 + 1 for an even n, the middle for an odd one, while
        # n < 500,000,000) and the 80th percentile (rank ceil(0.8·n), as
        # domain.figures.percentile); statistics.median is the mean of the two middles
        f"percentile_disc(ARRAY[0.5, 0.500000001, 0.8]) WITHIN GROUP (ORDER BY {c}) AS {c}_q"
        for c in _CLOCKS
    ),
]
SECTIONS_CTE = """sections AS (
  SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:sections AS text[])) AS s(code, section)
)"""
AGGREGATE = text(
    f"""WITH {SECTIONS_CTE}, facts AS (
  SELECT l.ym / 100 AS year, l.ym / 100 * 10 + (l.ym % 100 + 2) / 3 AS quarter, l.ym AS month,
         c.case_type, c.departments,
         coalesce(s.section, '{industry.UNKNOWN}') AS section,
         c.survey_sent_at IS NOT NULL AS surveyed, a.case_id IS NOT NULL AS answered,
         {", ".join(f"a.{q}" for q in QUESTIONS)},
         c.contacted_within_deadline AS contacted, c.decided_on_or_before_agreed_date AS on_time,
         c.net_processing_days AS net, c.gross_days AS gross, c.kl_target_days AS kl
  FROM closed_cases c
  CROSS JOIN LATERAL (
    SELECT (extract(year FROM t) * 100 + extract(month FROM t))::int AS ym
    FROM (SELECT c.closed_at AT TIME ZONE 'Europe/Copenhagen' AS t) local
  ) l
  LEFT JOIN survey_answers a ON a.case_id = c.case_id
  LEFT JOIN sections s ON s.code = coalesce(c.industry_code, '')
  OFFSET 0  -- computed once per case, not once per group it counts in
)
SELECT g.dimension COLLATE "C" AS dimension, g.grp COLLATE "C" AS grp,
       f.year, f.quarter, f.month,
       GROUPING(f.year, f.quarter, f.month) AS level, {", ".join(_AGGREGATES)}
FROM facts f
CROSS JOIN LATERAL (
  SELECT '{ALL}' AS dimension, '{ALL}' AS grp
  UNION ALL SELECT 'case_type', f.case_type
  UNION ALL SELECT 'industry', f.section
  UNION ALL SELECT 'department', unnest(f.departments)
) g
GROUP BY g.dimension COLLATE "C", g.grp COLLATE "C", ROLLUP (f.year, f.quarter, f.month)"""
)


def _values(r) -> dict[str, tuple[float | None, int]]:
    """A cell's (unrounded value, n) per indicator from its counts, as domain.figures.COMPUTE."""

    def share(prefix: str) -> tuple[float | None, int]:
        n = r[f"{prefix}_n"]
        return (r[f"{prefix}_yes"] / n if n else None), n

    values = {
        "response_rate": share("surveyed"),
        **{f"satisfied_{q}": share(q) for q in QUESTIONS},
        "contacted_within_5_working_days": share("contacted"),
        "decided_on_time": share("on_time"),
    }
    for c in _CLOCKS:
        n, (lo, hi, p80) = r[f"{c}_n"], r[f"{c}_q"] or (None, None, None)
        values[f"within_kl_target_{c}"] = share(f"{c}_within")
        values[f"median_days_{c}"] = (round(lo if n % 2 else (lo + hi) / 2, 1) if n else None), n
        values[f"p80_days_{c}"] = (round(p80, 1) if n else None), n
    assert values.keys() == INDICATORS.keys()
    return values


def _period_name(period_type: str, r) -> str:
    """As domain.figures.periods_of: 202611 -> "2026-11", 20264 -> "2026-Q4", 2026 -> "2026"."""
    if period_type == "month":
        return f"{r['month'] // 100}-{r['month'] % 100:02d}"
    if period_type == "quarter":
        return f"{r['quarter'] // 10}-Q{r['quarter'] % 10}"
    return str(r["year"]) if period_type == "year" else ALL


def cell_values(result: Iterable) -> dict[tuple[str, str, str, str], dict]:
    """(period_type, period, dimension, group) -> {"values", "cases", "answers"}."""
    cells = {}
    for r in result:
        period_type = _PERIOD_TYPE[r["level"]]
        period = _period_name(period_type, r)
        cells[(period_type, period, r["dimension"], r["grp"])] = {
            "values": _values(r),
            "cases": r["cases"],
            "answers": r["answers"],
        }
    return cells


def rows_of(cells: dict) -> list[dict]:
    """The rows in `domain.figures.figure_rows`' order (cells sorted, indicators in order)."""
    return [row for cell in sorted(cells) for row in cell_rows(cell, cells[cell]["values"])]


def header_of(cells: dict, rows: list[dict]) -> dict:
    everything = cells.get((ALL, ALL, ALL, ALL), {"cases": 0, "answers": 0})
    months = [cell[1] for cell in cells if cell[0] == "month"]
    return {
        "cases": everything["cases"],
        "answers": everything["answers"],
        "newest_month": max(months, default=None),
        "periods": list(dict.fromkeys((r["period"], r["period_type"]) for r in rows)),
    }


async def industry_sections(session: AsyncSession) -> tuple[list[str], list[str]]:
    """Every stored industry code ('' for none) and its DB07 section, computed in Python."""
    codes = (
        await session.scalars(text("SELECT DISTINCT coalesce(industry_code, '') FROM closed_cases"))
    ).all()
    codes = sorted(set(codes) | {""})
    return codes, [industry.section_of(c or None) for c in codes]

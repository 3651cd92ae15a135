"""The agreement's figures (commitment 9), computed from the facts of closed cases and their
survey answers. Pure: rows in, a JSON-ready dict out (no I/O, no clock).

Every figure is one row: (period, period_type, dimension, group, indicator) -> value, with
its target, whether it is met, the number of cases behind it (n) and whether it is
suppressed. docs/figures.md defines every indicator; in short:

- periods by the case's closing time in Europe/Copenhagen: month "2026-11", quarter
  "2026-Q4", year "2026", and "alle" (everything measured);
- dimensions: "alle" (one group "alle"), "department" (a case counts once in each of its
  departments), "case_type", "industry" (DB07 section A–U, "?" without a code);
- a survey figure (share satisfied) behind fewer than MIN_ANSWERS answers is suppressed:
  value and met are None, suppressed True ("færre end 5 svar"). Rows with n = 0 are left out.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from domain import industry
from domain.calendar import COPENHAGEN

MIN_ANSWERS = 5  # Danish statistical practice: fewer answers are not published
ALL = "alle"

QUESTIONS = ("overall", "processing_time", "process", "guidance", "coordination", "pre_dialogue")
MAIN_AREA_TARGET = 0.9  # satisfied above 90 % on the main areas
PROCESSING_TIME_TARGET = 0.8  # satisfied above 80 % on processing time
RESPONSE_TARGET = 0.5  # response rate above 50 %
PROMISE_TARGET = 1.0  # contact and decision are promised to every case: all of them


@dataclass(frozen=True)
class Indicator:
    key: str
    name: str  # Danish, for the pages
    unit: str  # "share" (0..1) or "days"
    target: float | None = None
    rule: str | None = None  # "above" (value > target) or "at_least" (value >= target)
    survey: bool = False  # suppressed below MIN_ANSWERS answers

    def met(self, value: float) -> bool | None:
        if self.target is None:
            return None
        return value > self.target if self.rule == "above" else value >= self.target


_QUESTION_NAMES = {
    "overall": "Tilfredse samlet set",
    "processing_time": "Tilfredse med sagsbehandlingstiden",
    "process": "Tilfredse med forløbet",
    "guidance": "Tilfredse med vejledningen om materiale",
    "coordination": "Tilfredse med koordineringen mellem fagområder",
    "pre_dialogue": "Tilfredse med forhåndsdialogen",
}

INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in [
        Indicator("response_rate", "Svarprocent", "share", RESPONSE_TARGET, "above"),
        *(
            Indicator(
                f"satisfied_{q}",
                _QUESTION_NAMES[q],
                "share",
                PROCESSING_TIME_TARGET if q == "processing_time" else MAIN_AREA_TARGET,
                "above",
                survey=True,
            )
            for q in QUESTIONS
        ),
        Indicator(
            "contacted_within_5_working_days",
            "Kontaktet inden for 5 hverdage",
            "share",
            PROMISE_TARGET,
            "at_least",
        ),
        Indicator(
            "decided_on_time",
            "Afgørelse senest på den aftalte dato",
            "share",
            PROMISE_TARGET,
            "at_least",
        ),
        *(
            ind
            for clock, label in (("net", "fra fuldt oplyst"), ("gross", "fra modtagelse"))
            for ind in (
                Indicator(
                    f"within_kl_target_{clock}",
                    f"Inden for KL's servicemål ({label})",
                    "share",
                    PROMISE_TARGET,
                    "at_least",
                ),
                Indicator(f"median_days_{clock}", f"Median, dage ({label})", "days"),
                Indicator(f"p80_days_{clock}", f"80 %-fraktil, dage ({label})", "days"),
            )
        ),
    ]
}


@dataclass(frozen=True)
class CaseFacts:
    """What the figures need of one closed case (see db.measurement_models.ClosedCase) and its
    answer's scores (1..5, 0 "ved ikke", None not asked/answered)."""

    case_id: str
    case_type: str
    departments: tuple[str, ...]
    industry_code: str | None
    closed_at: datetime
    surveyed: bool = True
    answer: dict[str, int | None] | None = None
    contacted_within_deadline: bool | None = None
    decided_on_or_before_agreed_date: bool | None = None
    net_processing_days: float | None = None
    gross_days: float | None = None
    kl_target_days: int | None = None
    closing_reason: str = "decided"


def periods_of(closed_at: datetime) -> list[tuple[str, str]]:
    """The (period_type, period) pairs a case closed at *closed_at* counts in."""
    local = closed_at.astimezone(COPENHAGEN)
    quarter = (local.month - 1) // 3 + 1
    return [
        ("month", f"{local.year}-{local.month:02d}"),
        ("quarter", f"{local.year}-Q{quarter}"),
        ("year", str(local.year)),
        (ALL, ALL),
    ]


def groups_of(case: CaseFacts) -> list[tuple[str, str]]:
    """The (dimension, group) pairs a case counts in."""
    return [
        (ALL, ALL),
        *(("department", d) for d in case.departments),
        ("case_type", case.case_type),
        ("industry", industry.section_of(case.industry_code)),
    ]


def share(flags: Iterable[bool]) -> tuple[float | None, int]:
    values = list(flags)
    return (sum(values) / len(values) if values else None), len(values)


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def _satisfaction(question: str) -> Callable[[list[CaseFacts]], tuple[float | None, int]]:
    def compute(cases: list[CaseFacts]) -> tuple[float | None, int]:
        scores = [
            c.answer.get(question) for c in cases if c.answer is not None
        ]  # 0 "ved ikke" and None (not asked) are left out
        return share(s >= 4 for s in scores if s is not None and 1 <= s <= 5)

    return compute


def _days(cases: list[CaseFacts], clock: str) -> list[tuple[float, int | None]]:
    attr = "net_processing_days" if clock == "net" else "gross_days"
    return [(getattr(c, attr), c.kl_target_days) for c in cases if getattr(c, attr) is not None]


def _within(clock: str):
    def compute(cases):
        return share(d <= t for d, t in _days(cases, clock) if t is not None)

    return compute


def _stat(clock: str, how: Callable[[list[float]], float]):
    def compute(cases):
        days = [d for d, _ in _days(cases, clock)]
        return (round(how(days), 1) if days else None), len(days)

    return compute


COMPUTE: dict[str, Callable[[list[CaseFacts]], tuple[float | None, int]]] = {
    "response_rate": lambda cases: share(c.answer is not None for c in cases if c.surveyed),
    **{f"satisfied_{q}": _satisfaction(q) for q in QUESTIONS},
    "contacted_within_5_working_days": lambda cases: share(
        c.contacted_within_deadline for c in cases if c.contacted_within_deadline is not None
    ),
    "decided_on_time": lambda cases: share(
        c.decided_on_or_before_agreed_date
        for c in cases
        if c.decided_on_or_before_agreed_date is not None
    ),
    **{
        key: fn
        for clock in ("net", "gross")
        for key, fn in (
            (f"within_kl_target_{clock}", _within(clock)),
            (f"median_days_{clock}", _stat(clock, statistics.median)),
            (f"p80_days_{clock}", _stat(clock, lambda v: percentile(v, 0.8))),
        )
    },
}


def figure_rows(cases: Iterable[CaseFacts]) -> list[dict]:
    """Every figure of every period, dimension and group with at least one case behind it."""
    cells: dict[tuple[str, str, str, str], list[CaseFacts]] = defaultdict(list)
    for case in cases:
        for period_type, period in periods_of(case.closed_at):
            for dimension, group in groups_of(case):
                cells[(period_type, period, dimension, group)].append(case)
    rows = []
    for cell, members in sorted(cells.items()):
        rows += cell_rows(cell, {key: COMPUTE[key](members) for key in INDICATORS})
    return rows


def cell_rows(
    cell: tuple[str, str, str, str], values: dict[str, tuple[float | None, int]]
) -> list[dict]:
    """The rows of one (period_type, period, dimension, group) from each indicator's unrounded
    value and n: rounding, targets, suppression, n = 0 left out. Shared by `figure_rows` and
    the SQL refresh (figures_api), so both publish by the same formulas."""
    period_type, period, dimension, group = cell
    rows = []
    for key, indicator in INDICATORS.items():
        value, n = values[key]
        if n == 0:
            continue
        suppressed = indicator.survey and n < MIN_ANSWERS
        if indicator.unit == "share" and value is not None:
            value = round(value, 4)
        rows.append(
            {
                "period": period,
                "period_type": period_type,
                "dimension": dimension,
                "group": group,
                "indicator": key,
                "value": None if suppressed else value,
                "target": indicator.target,
                "met": None if suppressed or value is None else indicator.met(value),
                "n": n,
                "suppressed": suppressed,
            }
        )
    return rows


def published_case(case: CaseFacts) -> dict:
    """A case as the open data publishes it: no id, no reference, no scores, no free text;
    the month it closed, its groups and the facts the non-survey figures are computed from."""
    return {
        "month": periods_of(case.closed_at)[0][1],
        "case_type": case.case_type,
        "departments": list(case.departments),
        "industry": industry.section_of(case.industry_code),
        "surveyed": case.surveyed,
        "answered": case.answer is not None,
        "contacted_within_5_working_days": case.contacted_within_deadline,
        "decided_on_time": case.decided_on_or_before_agreed_date,
        "net_processing_days": case.net_processing_days,
        "gross_days": case.gross_days,
        "kl_target_days": case.kl_target_days,
    }


def indicator_definitions() -> list[dict]:
    """What each indicator is, for the open data."""
    return [
        {"key": i.key, "name": i.name, "unit": i.unit, "target": i.target, "rule": i.rule}
        | {"survey": i.survey}
        for i in INDICATORS.values()
    ]


def compute(cases: Iterable[CaseFacts]) -> dict:
    """The figures' snapshot body: the rows, the indicators' definitions, the published cases
    (sorted so that the same facts give the same body)."""
    cases = list(cases)
    published = sorted(
        (published_case(c) for c in cases), key=lambda p: tuple(str(v) for v in p.values())
    )
    return {
        "version": 1,
        "cases": len(cases),
        "answers": sum(1 for c in cases if c.answer is not None),
        "newest_month": max((periods_of(c.closed_at)[0][1] for c in cases), default=None),
        "indicators": indicator_definitions(),
        "rows": figure_rows(cases),
        "published_cases": published,
    }

"""What the figures page shows, read from the newest snapshot (never recomputed here):
the chosen period's indicators against their targets, the monthly trends, and the same
indicators per industry, department and case type side by side."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from domain import industry
from domain.figures import ALL, INDICATORS
from domain.texts import CASE_TYPE_NAMES, DEPARTMENT_NAMES
from schemas.intake import CaseType, Department

MONTHS = [
    "jan.",
    "feb.",
    "mar.",
    "apr.",
    "maj",
    "jun.",
    "jul.",
    "aug.",
    "sep.",
    "okt.",
    "nov.",
    "dec.",
]
# The columns of the side-by-side tables (the agreement's headline indicators).
COMPARE = [
    "response_rate",
    "satisfied_overall",
    "satisfied_processing_time",
    "contacted_within_5_working_days",
    "decided_on_time",
    "within_kl_target_net",
    "median_days_net",
]
DIMENSIONS = {
    "industry": "Branche (DB07-hovedafsnit)",
    "department": "Fagområde",
    "case_type": "Sagstype",
}
SUPPRESSED = "færre end 5 svar"


def period_name(period: str, period_type: str) -> str:
    """'2026-06' -> 'juni 2026' style labels: 'jun. 2026', '2. kvartal 2026', '2026', 'alle'."""
    if period_type == "month":
        year, month = period.split("-")
        return f"{MONTHS[int(month) - 1]} {year}"
    if period_type == "quarter":
        year, quarter = period.split("-Q")
        return f"{quarter}. kvartal {year}"
    if period_type == ALL:
        return "hele perioden"
    return period


def group_name(dimension: str, group: str) -> str:
    if dimension == "industry":
        name = industry.section_name(group)
        return name if group == industry.UNKNOWN else f"{group} – {name}"
    if dimension == "department":
        return DEPARTMENT_NAMES[Department(group)].capitalize()
    if dimension == "case_type":
        name = CASE_TYPE_NAMES[CaseType(group)]
        return name[:1].upper() + name[1:]
    return "Alle sager"


def number(value: float, decimals: int = 1) -> str:
    return f"{value:.{decimals}f}".replace(".", ",")


def show_value(indicator: str, value: float | None) -> str:
    if value is None:
        return "–"
    if INDICATORS[indicator].unit == "share":
        return f"{number(value * 100)} %"
    return f"{number(value)} dage"


def show_target(indicator: str) -> str:
    ind = INDICATORS[indicator]
    if ind.target is None:
        return "Intet fælles mål"
    if ind.rule == "above":
        return f"Over {number(ind.target * 100, 0)} %"
    return "Alle sager (100 %)" if ind.target == 1.0 else f"Mindst {number(ind.target * 100, 0)} %"


@dataclass(frozen=True)
class Cell:
    indicator: str
    name: str
    value: str
    target: str
    met: bool | None
    status: str  # "Opfyldt", "Ikke opfyldt", "Ikke vist: færre end 5 svar", "–"
    n: int | None
    suppressed: bool


def cell(indicator: str, row: dict | None) -> Cell:
    name = INDICATORS[indicator].name
    if row is None:
        return Cell(indicator, name, "–", show_target(indicator), None, "Ingen sager", None, False)
    if row["suppressed"]:
        status = f"Ikke vist: {SUPPRESSED}"
    elif row["met"] is None:
        status = "–"
    else:
        status = "Opfyldt" if row["met"] else "Ikke opfyldt"
    return Cell(
        indicator,
        name,
        SUPPRESSED if row["suppressed"] else show_value(indicator, row["value"]),
        show_target(indicator),
        row["met"],
        status,
        row["n"],
        row["suppressed"],
    )


class Figures:
    """What the page reads of the newest snapshot: its header (with every period) and the rows
    it shows (the chosen period's, the monthly trend's), indexed by key."""

    def __init__(self, header: dict, rows: Iterable[dict] = ()):
        self.body = header
        self.index: dict[tuple[str, str, str, str], dict] = {}
        self.groups: dict[tuple[str, str], set[str]] = defaultdict(set)
        for r in rows:
            self.index[(r["period"], r["dimension"], r["group"], r["indicator"])] = r
            self.groups[(r["period"], r["dimension"])].add(r["group"])

    def periods(self) -> list[tuple[str, str, str]]:
        """(period, period_type, name) of every period with figures, newest first per type."""
        seen = {(p, t) for p, t in self.body.get("periods") or []}
        order = {"year": 0, "quarter": 1, "month": 2, ALL: 3}
        ordered = sorted(seen, key=lambda p: p[0], reverse=True)
        ordered.sort(key=lambda p: order[p[1]])
        return [(p, t, period_name(p, t)) for p, t in ordered]

    def default_period(self) -> str:
        """The year of the newest closed case (everything when there is none)."""
        newest = self.body.get("newest_month")
        return newest[:4] if newest else ALL

    def glance(self, period: str) -> list[Cell]:
        return [cell(key, self.index.get((period, ALL, ALL, key))) for key in INDICATORS]

    def side_by_side(self, period: str, dimension: str) -> list[tuple[str, list[Cell]]]:
        groups = sorted(
            self.groups.get((period, dimension), ()), key=lambda g: (g == industry.UNKNOWN, g)
        )
        return [
            (
                group_name(dimension, g),
                [cell(key, self.index.get((period, dimension, g, key))) for key in COMPARE],
            )
            for g in groups
        ]

    def months(self) -> list[str]:
        return sorted(p for p, t in self.body.get("periods") or [] if t == "month")

    def trend(self, indicators: list[str]) -> list[tuple[str, list[Cell]]]:
        """Per month (oldest first), the indicators for all cases."""
        return [
            (
                period_name(month, "month"),
                [cell(key, self.index.get((month, ALL, ALL, key))) for key in indicators],
            )
            for month in self.months()
        ]

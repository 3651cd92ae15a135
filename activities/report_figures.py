"""The monthly report's figures, pure: from the month's closed cases and their answers to one
JSON-able dict (what `monthly_reports.figures` stores and both the HTML and the PDF show).

Which rows: the cases closed within the month (Copenhagen time), their answers given by the
end of the month; so the same month always gives the same figures from the same rows. The
free text is never read here: only the staff's tags are counted.

The indicators themselves (names, targets, satisfied = scores 4–5 of the answers scored 1–5,
suppression below 5 answers, median and nearest-rank 80th percentile) come from
`domain/figures.py`, the figures page's own computation, for the month and all cases. Changes
since last month are in percentage points, where both months have a figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from domain import figures as df
from domain.texts import CASE_TYPE_NAMES, DEPARTMENT_NAMES, MONTHS
from schemas.intake import CaseType, Department
from schemas.report import TAGS, Promise, month_start

# The indicators the report shows (domain/figures.py's keys, names and targets).
REPORTED = (
    "response_rate",
    *(f"satisfied_{q}" for q in df.QUESTIONS),
    "contacted_within_5_working_days",
    "decided_on_time",
)
PROMISE_TEXT: dict[str, str] = {
    Promise.contact: "Kontakt senest 5 hverdage efter modtagelsen",
    Promise.decision: "Afgørelse senest på den aftalte dato",
    Promise.processing_time: "Sagsbehandlingstid inden for KL's servicemål",
}
NOT_RECORDED = "Ikke registreret endnu"


@dataclass(frozen=True)
class CaseFacts:
    """What the report needs of one closed case (from `closed_cases`)."""

    case_id: str
    case_type: str
    departments: list[str]
    closed_at: datetime
    survey_sent: bool
    contacted_within_deadline: bool | None
    decided_on_or_before_agreed_date: bool | None
    net_processing_days: float | None
    gross_days: float | None
    kl_target_days: int | None
    breach_causes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    case_id: str
    scores: dict[str, int | None]


def month_label(month: str) -> str:
    first = month_start(month)
    return f"{MONTHS[first.month - 1]} {first.year}"


def broken_promises(case: CaseFacts) -> list[str]:
    """The promises *case* broke, in a fixed order."""
    broken = []
    if case.contacted_within_deadline is False:
        broken.append(Promise.contact.value)
    if case.decided_on_or_before_agreed_date is False:
        broken.append(Promise.decision.value)
    if (
        case.net_processing_days is not None
        and case.kl_target_days is not None
        and case.net_processing_days > case.kl_target_days
    ):
        broken.append(Promise.processing_time.value)
    return broken


def _target_text(indicator: df.Indicator) -> str:
    if indicator.target is None:
        return "–"
    if indicator.rule == "at_least" and indicator.target == 1.0:
        return "alle"
    return f"over {indicator.target * 100:.0f} %"


def _month_rows(month: str, cases: list[CaseFacts], answers: list[Answer]) -> dict[str, dict]:
    """domain/figures.py's rows of *month* for all cases (the figures page's own numbers)."""
    by_case = {a.case_id: a.scores for a in answers}
    facts = [
        df.CaseFacts(
            case_id=c.case_id,
            case_type=c.case_type,
            departments=tuple(c.departments),
            industry_code=None,
            closed_at=c.closed_at,
            surveyed=c.survey_sent,
            answer=by_case.get(c.case_id),
            contacted_within_deadline=c.contacted_within_deadline,
            decided_on_or_before_agreed_date=c.decided_on_or_before_agreed_date,
            net_processing_days=c.net_processing_days,
            gross_days=c.gross_days,
            kl_target_days=c.kl_target_days,
        )
        for c in cases
    ]
    return {
        row["indicator"]: row
        for row in df.figure_rows(facts)
        if row["period_type"] == "month" and row["period"] == month and row["dimension"] == df.ALL
    }


def _indicator(key: str, rows: dict[str, dict]) -> dict:
    indicator = df.INDICATORS[key]
    row = rows.get(key, {"value": None, "n": 0, "suppressed": False, "met": None})
    return {
        "key": key,
        "name": indicator.name,
        "target": indicator.target,
        "target_text": _target_text(indicator),
        "value": row["value"],
        "n": row["n"],
        "suppressed": row["suppressed"],
        "met": row["met"],
    }


def _clock(clock: str, rows: dict[str, dict]) -> dict:
    def value(key: str):
        return rows.get(f"{key}_{clock}", {}).get("value")

    return {
        "n": rows.get(f"median_days_{clock}", {}).get("n", 0),
        "within_share": value("within_kl_target"),
        "median": value("median_days"),
        "p80": value("p80_days"),
    }


def month_figures(month: str, cases: list[CaseFacts], answers: list[Answer]) -> dict:
    """The month's indicators (computed by domain/figures.py, so the report and the figures
    page agree), processing times and broken promises (the change: see `with_change`)."""
    rows = _month_rows(month, cases, answers)
    by_case = {a.case_id for a in answers}
    surveyed = [c for c in cases if c.survey_sent]
    answered = [c for c in surveyed if c.case_id in by_case]
    indicators = [_indicator(key, rows) for key in REPORTED]
    broken = []
    for case in sorted(cases, key=lambda c: (c.closed_at, c.case_id)):
        for promise in broken_promises(case):
            broken.append(
                {
                    "promise": promise,
                    "promise_text": PROMISE_TEXT[promise],
                    "case_type": CASE_TYPE_NAMES[CaseType(case.case_type)],
                    "departments": ", ".join(
                        DEPARTMENT_NAMES[Department(d)] for d in case.departments
                    ),
                    "cause": str(case.breach_causes.get(promise) or NOT_RECORDED),
                }
            )
    causes: dict[str, int] = {}
    for line in broken:
        causes[line["cause"]] = causes.get(line["cause"], 0) + 1
    return {
        "month": month,
        "label": month_label(month),
        "cases": len(cases),
        "surveyed": len(surveyed),
        "answered": len(answered),
        "indicators": indicators,
        "net": _clock("net", rows),
        "gross": _clock("gross", rows),
        "broken": broken,
        "broken_counts": {p.value: sum(1 for b in broken if b["promise"] == p) for p in Promise},
        "causes": sorted(causes.items(), key=lambda kv: (-kv[1], kv[0])),
    }


def themes(tag_lists: list[list[str]]) -> dict:
    """How many comments carry each tag (the texts themselves stay out of the report)."""
    counts = {tag: 0 for tag in TAGS}
    for tags in tag_lists:
        for tag in set(tags):
            if tag in counts:
                counts[tag] += 1
    rows = [
        {"tag": tag, "name": TAGS[tag], "count": n}
        for tag, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if n
    ]
    untagged = sum(1 for tags in tag_lists if not tags)
    return {"comments": len(tag_lists), "untagged": untagged, "rows": rows}


def with_change(current: dict, previous: dict) -> dict:
    """*current* with last month's value and the change in percentage points beside each
    indicator and the share within KL's target."""
    before = {i["key"]: i for i in previous["indicators"]}
    for indicator in current["indicators"]:
        old = before.get(indicator["key"], {}).get("value")
        indicator["previous"] = old
        indicator["change_pp"] = (
            None
            if old is None or indicator["value"] is None
            else round((indicator["value"] - old) * 100, 1)
        )
    for clock in ("net", "gross"):
        old = previous[clock]["within_share"]
        new = current[clock]["within_share"]
        current[clock]["previous_within_share"] = old
        current[clock]["change_pp"] = (
            None if old is None or new is None else round((new - old) * 100, 1)
        )
    current["previous"] = {
        "month": previous["month"],
        "label": previous["label"],
        "cases": previous["cases"],
    }
    return current


def month_bounds(month: str) -> tuple[date, date]:
    """The first day of *month* and the first day of the next."""
    first = month_start(month)
    following = (
        date(first.year + 1, 1, 1) if first.month == 12 else first.replace(month=first.month + 1)
    )
    return first, following

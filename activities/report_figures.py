"""The monthly report's figures, pure: from the month's closed cases and their answers to one
JSON-able dict (what `monthly_reports.figures` stores and both the HTML and the PDF show).

Which rows: the cases closed within the month (Copenhagen time), their answers given by the
end of the month; so the same month always gives the same figures from the same rows. The
free text is never read here: only the staff's tags are counted.

Shares: satisfied = scores 4–5 ("meget tilfreds", "tilfreds") of the answers with a score
1–5 ("ved ikke" and questions not asked are left out); a survey share on fewer than 5
answers is suppressed (Danish statistical practice). Median and 80th percentile by nearest
rank. Changes since last month in percentage points, where both months have a figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from domain.texts import CASE_TYPE_NAMES, DEPARTMENT_NAMES, MONTHS
from schemas.intake import CaseType, Department
from schemas.report import TAGS, Promise, month_start

MIN_GROUP = 5
QUESTIONS: dict[str, str] = {
    "overall": "Tilfredshed samlet",
    "processing_time": "Tilfredshed med sagsbehandlingstiden",
    "process": "Tilfredshed med forløbet",
    "guidance": "Tilfredshed med vejledningen om materiale",
    "coordination": "Tilfredshed med koordineringen på tværs af fagområder",
    "pre_dialogue": "Tilfredshed med forhåndsdialogen",
}
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


def _share(hits: int, n: int) -> float | None:
    return round(hits / n, 4) if n else None


def _rank(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 1)


def _indicator(key, name, target, target_text, hits, n, survey) -> dict:
    suppressed = survey and 0 < n < MIN_GROUP
    value = None if suppressed else _share(hits, n)
    return {
        "key": key,
        "name": name,
        "target": target,
        "target_text": target_text,
        "value": value,
        "n": n,
        "suppressed": suppressed,
        "met": None if value is None or target is None else value > target or value == 1.0,
    }


def _clock(values: list[float], targets: list[int | None]) -> dict:
    pairs = [(v, t) for v, t in zip(values, targets, strict=True) if t is not None]
    within = sum(1 for v, t in pairs if v <= t)
    return {
        "n": len(values),
        "within_share": _share(within, len(pairs)),
        "median": _rank(values, 0.5),
        "p80": _rank(values, 0.8),
    }


def month_figures(month: str, cases: list[CaseFacts], answers: list[Answer]) -> dict:
    """The month's indicators, processing times, broken promises (no figures for last month
    yet: see `with_change`)."""
    by_case = {a.case_id: a for a in answers}
    surveyed = [c for c in cases if c.survey_sent]
    answered = [c for c in surveyed if c.case_id in by_case]
    indicators = [
        _indicator(
            "response_rate",
            "Svarprocent",
            0.5,
            "over 50 %",
            len(answered),
            len(surveyed),
            survey=False,
        )
    ]
    for key, name in QUESTIONS.items():
        scores = [by_case[c.case_id].scores.get(key) for c in answered]
        given = [s for s in scores if s is not None and 1 <= s <= 5]
        target, text = (0.8, "over 80 %") if key == "processing_time" else (0.9, "over 90 %")
        satisfied = sum(1 for s in given if s >= 4)
        indicators.append(_indicator(key, name, target, text, satisfied, len(given), True))
    contact = [
        c.contacted_within_deadline for c in cases if c.contacted_within_deadline is not None
    ]
    indicators.append(
        _indicator(
            "contact",
            "Kontaktet senest 5 hverdage efter modtagelsen",
            1.0,
            "alle",
            sum(contact),
            len(contact),
            survey=False,
        )
    )
    decided = [
        c.decided_on_or_before_agreed_date
        for c in cases
        if c.decided_on_or_before_agreed_date is not None
    ]
    indicators.append(
        _indicator(
            "decision",
            "Afgørelse senest på den aftalte dato",
            1.0,
            "alle",
            sum(decided),
            len(decided),
            survey=False,
        )
    )
    net = [c for c in cases if c.net_processing_days is not None]
    gross = [c for c in cases if c.gross_days is not None]
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
        "net": _clock([c.net_processing_days for c in net], [c.kl_target_days for c in net]),
        "gross": _clock([c.gross_days for c in gross], [c.kl_target_days for c in gross]),
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

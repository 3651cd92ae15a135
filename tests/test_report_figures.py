"""The monthly report's figures and rendering, plain (no stack): suppression below 5 answers,
changes that need both months, broken promises with their causes, the staff's themes, months
across a year boundary, the Danish number formats, and the PDF's text (æ, ø, å and – through
the embedded font's ToUnicode map; no PDF library is among the dependencies)."""

from __future__ import annotations

import re
import zlib
from datetime import date, datetime

import pytest
from pydantic import ValidationError

from activities.report_figures import (
    Answer,
    CaseFacts,
    broken_promises,
    month_bounds,
    month_figures,
    themes,
    with_change,
)
from activities.report_render import met_text, pct, pp, render_pdf, value_text
from domain.calendar import COPENHAGEN
from schemas.report import ReportRequest, next_month, previous_month


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=COPENHAGEN)


def _stream(body: bytes) -> bytes:
    found = re.search(rb"stream\r?\n(.*?)\r?\nendstream", body, re.DOTALL)
    if not found:
        return b""
    try:
        return zlib.decompress(found.group(1))
    except zlib.error:
        return found.group(1)


def _unescape(literal: bytes) -> bytes:
    simple = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

    def one(m: re.Match) -> bytes:
        code = m.group(1)
        return bytes([int(code, 8)]) if code.isdigit() else simple.get(code, code)

    return re.sub(rb"\\([nrtbf()\\]|[0-7]{1,3})", one, literal)


def pdf_text(pdf: bytes) -> str:
    """The text of an fpdf2 PDF: each content stream's glyph codes through the ToUnicode map
    of the font in use (enough for this test; no PDF library is among the dependencies)."""
    objects = {int(n): body for n, body in re.findall(rb"(\d+) 0 obj(.*?)endobj", pdf, re.DOTALL)}
    cmaps: dict[bytes, dict[int, str]] = {}
    for body in objects.values():
        for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", body):
            font = objects.get(int(ref), b"")
            to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", font)
            if not to_unicode:
                continue
            data = _stream(objects[int(to_unicode.group(1))])
            cmap: dict[int, str] = {}
            for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.DOTALL):
                for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                    cmap[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
            cmaps[name] = cmap
    text = []
    for body in objects.values():
        content = _stream(body)
        if b" Tf" not in content:
            continue
        font: dict[int, str] = {}
        for name, literal in re.findall(
            rb"/(F\d+)\s+[\d.]+\s+Tf|\(((?:\\.|[^\\)])*)\)", content, re.DOTALL
        ):
            if name:
                font = cmaps.get(name, {})
                continue
            data = _unescape(literal)
            codes = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data) - 1, 2)]
            text.append("".join(font.get(c, "") for c in codes))
    return " ".join(text)


def facts(n: int, day: date, **extra) -> CaseFacts:
    values = {
        "case_id": f"case-P-{n}",
        "case_type": "single_family_house",
        "departments": ["building"],
        "closed_at": at(day),
        "survey_sent": True,
        "contacted_within_deadline": True,
        "decided_on_or_before_agreed_date": True,
        "net_processing_days": 30.0,
        "gross_days": 40.0,
        "kl_target_days": 40,
    }
    return CaseFacts(**(values | extra))


def test_survey_shares_under_five_answers_are_suppressed_and_changes_need_both_months():
    day = date(2025, 6, 30)
    cases = [facts(n, day) for n in range(6)]
    four = [Answer(f"case-P-{n}", {"overall": 5, "processing_time": 0}) for n in range(4)]
    june = month_figures("2025-06", cases, four)
    june["themes"] = themes([])
    indicators = {i["key"]: i for i in june["indicators"]}
    assert indicators["satisfied_overall"]["suppressed"] is True
    assert indicators["satisfied_overall"]["value"] is None
    assert indicators["satisfied_processing_time"]["n"] == 0  # only "ved ikke"
    assert indicators["response_rate"]["value"] == round(4 / 6, 4)
    may = month_figures("2025-05", [], [])
    changed = with_change(june, may)
    assert {i["key"]: i["change_pp"] for i in changed["indicators"]}["response_rate"] is None
    assert value_text(indicators["satisfied_overall"]) == "Under 5 svar"
    assert met_text(indicators["satisfied_overall"]) == "Under 5 svar: ikke vist"


def test_broken_promises_their_causes_and_the_themes():
    day = date(2025, 12, 31)
    late = facts(1, day, contacted_within_deadline=False, breach_causes={"contact": "Ferie"})
    slow = facts(2, day, net_processing_days=41.0, decided_on_or_before_agreed_date=False)
    on_time = facts(3, day, net_processing_days=40.0)
    assert broken_promises(late) == ["contact"]
    assert broken_promises(slow) == ["decision", "processing_time"]
    assert broken_promises(on_time) == []
    figures = month_figures("2025-12", [late, slow, on_time], [])
    assert figures["broken_counts"] == {"contact": 1, "decision": 1, "processing_time": 1}
    assert [b["cause"] for b in figures["broken"]] == [
        "Ferie",
        "Ikke registreret endnu",
        "Ikke registreret endnu",
    ]
    assert figures["causes"][0] == ("Ikke registreret endnu", 2)
    counted = themes([["ros", "kontakt"], ["kontakt"], [], ["ukendt"]])
    assert counted["comments"] == 4 and counted["untagged"] == 1
    assert [(t["tag"], t["count"]) for t in counted["rows"]] == [("kontakt", 2), ("ros", 1)]
    assert (pct(0.92345), pp(-2.5), pp(0.0), pct(None)) == (
        "92,3 %",
        "−2,5 point",
        "±0,0 point",
        "–",
    )


def test_a_month_before_and_after_a_year_boundary():
    assert (previous_month("2025-01"), next_month("2024-12")) == ("2024-12", "2025-01")
    assert month_bounds("2024-12") == (date(2024, 12, 1), date(2025, 1, 1))
    with pytest.raises(ValidationError):
        ReportRequest.model_validate({"month": "2025-13"})
    with pytest.raises(ValidationError):
        ReportRequest.model_validate({"month": "2025-01", "extra": 1})


def test_the_pdf_text_has_the_month_and_danish_letters():
    day = date(2026, 2, 27)
    case = facts(
        1, day, contacted_within_deadline=False, breach_causes={"contact": "Ærø-sagen – ventede"}
    )
    figures = month_figures("2026-02", [case], [])
    figures["themes"] = themes([])
    pdf = render_pdf(
        with_change(figures, month_figures("2026-01", [], [])), "Høje-Taastrup Kommune"
    )
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    text = pdf_text(pdf)
    assert "Månedsrapport om erhvervsservice – februar 2026" in text
    assert "Høje-Taastrup Kommune" in text and "Ærø-sagen – ventede" in text
    assert "Kontakt senest 5 hverdage efter modtagelsen" in text

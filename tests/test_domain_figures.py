"""The figures on hand-built cases: every indicator, its target, suppression below 5 answers,
periods in Copenhagen time across a year boundary, both clocks, broken promises."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain import industry
from domain.figures import (
    ALL,
    INDICATORS,
    MIN_ANSWERS,
    CaseFacts,
    compute,
    figure_rows,
    percentile,
    periods_of,
)

SCORES = {
    "overall": 5,
    "processing_time": 4,
    "process": 5,
    "guidance": 4,
    "coordination": 5,
    "pre_dialogue": None,
}


def case(n: int, closed_at: datetime | None = None, **over) -> CaseFacts:
    fields = {
        "case_id": f"case-T-{n}",
        "case_type": "single_family_house",
        "departments": ("building",),
        "industry_code": "412000",
        "closed_at": closed_at or datetime(2026, 6, 10, 12, tzinfo=UTC),
        "surveyed": True,
        "answer": dict(SCORES),
        "contacted_within_deadline": True,
        "decided_on_or_before_agreed_date": True,
        "net_processing_days": 30.0,
        "gross_days": 45.0,
        "kl_target_days": 40,
    }
    return CaseFacts(**(fields | over))


def figure(rows, indicator, period=ALL, dimension=ALL, group=ALL) -> dict:
    found = [
        r
        for r in rows
        if (r["indicator"], r["period"], r["dimension"], r["group"])
        == (indicator, period, dimension, group)
    ]
    assert len(found) == 1, (indicator, period, dimension, group, found)
    return found[0]


def test_response_rate_counts_answers_of_the_cases_that_got_a_survey():
    cases = [case(i) for i in range(6)]
    cases += [case(i, answer=None) for i in range(6, 10)]  # surveyed, no answer
    cases += [case(10, surveyed=False, answer=None)]  # no survey (e.g. no e-mail): not counted
    row = figure(figure_rows(cases), "response_rate")
    assert row["value"] == 0.6 and row["n"] == 10
    assert row["target"] == 0.5 and row["met"] is True and row["suppressed"] is False
    half = [case(i) for i in range(5)] + [case(i, answer=None) for i in range(5, 10)]
    row = figure(figure_rows(half), "response_rate")
    assert row["value"] == 0.5 and row["met"] is False  # the target is *above* 50 %


def test_share_satisfied_leaves_out_ved_ikke_and_unasked_questions():
    scores = [5, 4, 4, 3, 1, 0, 0, 5, 5, 4, 2]  # two "ved ikke"
    cases = [case(i, answer=dict(SCORES, overall=s)) for i, s in enumerate(scores)]
    row = figure(figure_rows(cases), "satisfied_overall")
    assert row["n"] == 9  # 11 answers, 2 "ved ikke"
    assert row["value"] == round(6 / 9, 4) and row["met"] is False and row["target"] == 0.9
    # Nobody was asked about a pre-dialogue: no row at all.
    assert not [r for r in figure_rows(cases) if r["indicator"] == "satisfied_pre_dialogue"]


def test_processing_time_has_its_own_target_of_80_percent():
    answers = [5] * 17 + [2] * 3  # 85 % satisfied
    cases = [case(i, answer=dict(SCORES, processing_time=s)) for i, s in enumerate(answers)]
    rows = figure_rows(cases)
    time_row = figure(rows, "satisfied_processing_time")
    assert time_row["value"] == 0.85 and time_row["target"] == 0.8 and time_row["met"] is True
    cases = [case(i, answer=dict(SCORES, overall=s)) for i, s in enumerate(answers)]
    overall = figure(figure_rows(cases), "satisfied_overall")
    assert overall["value"] == 0.85 and overall["target"] == 0.9 and overall["met"] is False


def test_fewer_than_five_answers_suppress_the_survey_figures_not_the_others():
    cases = [case(i) for i in range(MIN_ANSWERS - 1)] + [case(9, answer=None)]
    rows = figure_rows(cases)
    for q in ("overall", "processing_time", "process", "guidance", "coordination"):
        row = figure(rows, f"satisfied_{q}")
        assert row["suppressed"] is True and row["value"] is None and row["met"] is None
        assert row["n"] == MIN_ANSWERS - 1
    # The case facts are not opinions: shown.
    contact = figure(rows, "contacted_within_5_working_days")
    assert contact["suppressed"] is False and contact["value"] == 1.0 and contact["n"] == 5
    assert figure(rows, "response_rate")["value"] == 0.8
    # Five answers: shown.
    rows = figure_rows([case(i) for i in range(MIN_ANSWERS)])
    row = figure(rows, "satisfied_overall")
    assert row["suppressed"] is False and row["value"] == 1.0 and row["met"] is True


def test_suppression_is_per_group_a_small_industry_is_suppressed_the_whole_is_not():
    cases = [case(i) for i in range(8)] + [case(8 + i, industry_code="561010") for i in range(2)]
    rows = figure_rows(cases)
    assert figure(rows, "satisfied_overall")["suppressed"] is False
    assert figure(rows, "satisfied_overall", dimension="industry", group="F")["n"] == 8
    small = figure(rows, "satisfied_overall", dimension="industry", group="I")
    assert small["suppressed"] is True and small["value"] is None and small["n"] == 2


def test_broken_promises_lower_the_shares_and_the_promise_target_is_all():
    cases = [case(i) for i in range(8)]
    cases.append(case(8, contacted_within_deadline=False))
    cases.append(case(9, decided_on_or_before_agreed_date=False))
    cases.append(case(10, decided_on_or_before_agreed_date=None))  # withdrawn: no decision
    rows = figure_rows(cases)
    contact = figure(rows, "contacted_within_5_working_days")
    assert contact["value"] == round(10 / 11, 4) and contact["n"] == 11
    assert contact["target"] == 1.0 and contact["met"] is False
    decided = figure(rows, "decided_on_time")
    assert decided["value"] == 0.9 and decided["n"] == 10 and decided["met"] is False
    kept = figure_rows(cases[:8])
    assert figure(kept, "decided_on_time")["met"] is True


def test_both_clocks_share_within_kl_target_first_median_and_80th_percentile():
    # net (from "fuldt oplyst") within the target of 40 days for 4 of 5; gross for 2 of 5
    net = [10.0, 20.0, 30.0, 40.0, 50.0]
    gross = [30.0, 40.0, 55.0, 60.0, 90.0]
    cases = [
        case(i, net_processing_days=n, gross_days=g) for i, (n, g) in enumerate(zip(net, gross))
    ]
    cases.append(case(5, net_processing_days=None, gross_days=None))  # withdrawn before
    rows = figure_rows(cases)
    assert figure(rows, "within_kl_target_net")["value"] == 0.8
    assert figure(rows, "within_kl_target_net")["n"] == 5
    assert figure(rows, "within_kl_target_gross")["value"] == 0.4
    assert figure(rows, "median_days_net")["value"] == 30.0
    assert figure(rows, "median_days_gross")["value"] == 55.0
    assert figure(rows, "p80_days_net")["value"] == 40.0  # nearest rank: 4th of 5
    assert figure(rows, "p80_days_gross")["value"] == 60.0
    assert figure(rows, "median_days_net")["target"] is None
    assert figure(rows, "median_days_net")["met"] is None
    # The target is each case's own: a large environmental approval has 200 days.
    big = case(
        9, case_type="environmental_approval_large", net_processing_days=150.0, kl_target_days=200
    )
    assert figure(figure_rows([big]), "within_kl_target_net")["value"] == 1.0


def test_percentile_and_median_on_an_even_count():
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.8) == 4.0
    assert percentile([1.0], 0.8) == 1.0
    assert percentile(list(map(float, range(1, 11))), 0.8) == 8.0
    rows = figure_rows(
        [case(i, net_processing_days=float(d)) for i, d in enumerate([10, 20, 31, 41])]
    )
    assert figure(rows, "median_days_net")["value"] == 25.5


def test_periods_in_copenhagen_time_across_a_year_boundary():
    # 31 Dec 2026 23:30 UTC is 1 Jan 2027 00:30 in Copenhagen.
    new_year = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert periods_of(new_year) == [
        ("month", "2027-01"),
        ("quarter", "2027-Q1"),
        ("year", "2027"),
        (ALL, ALL),
    ]
    old_year = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # 23:30 in Copenhagen
    assert periods_of(old_year)[:3] == [
        ("month", "2026-12"),
        ("quarter", "2026-Q4"),
        ("year", "2026"),
    ]
    cases = [case(i, old_year) for i in range(5)] + [
        case(10 + i, new_year, contacted_within_deadline=False) for i in range(3)
    ]
    rows = figure_rows(cases)
    assert figure(rows, "contacted_within_5_working_days", "2026")["value"] == 1.0
    assert figure(rows, "contacted_within_5_working_days", "2026-Q4")["n"] == 5
    assert figure(rows, "contacted_within_5_working_days", "2027-Q1")["value"] == 0.0
    assert figure(rows, "contacted_within_5_working_days", "2027-01")["n"] == 3
    assert figure(rows, "contacted_within_5_working_days")["n"] == 8
    # The same answers: 5 in December are shown, 3 in January are suppressed.
    assert figure(rows, "satisfied_overall", "2026-12")["suppressed"] is False
    assert figure(rows, "satisfied_overall", "2027-01")["suppressed"] is True
    assert figure(rows, "satisfied_overall", "2027-01")["period_type"] == "month"


def test_groups_per_department_case_type_and_industry_section():
    cases = [
        case(1, departments=("building", "fire")),
        case(
            2,
            departments=("environment",),
            case_type="environmental_approval_minor",
            industry_code="101100",
        ),
        case(3, industry_code=None),
    ]
    rows = figure_rows(cases)
    n = {
        (d, g): figure(rows, "contacted_within_5_working_days", dimension=d, group=g)["n"]
        for d, g in [
            ("department", "building"),
            ("department", "fire"),
            ("department", "environment"),
            ("case_type", "single_family_house"),
            ("case_type", "environmental_approval_minor"),
            ("industry", "F"),
            ("industry", "C"),
            ("industry", industry.UNKNOWN),
        ]
    }
    assert n == {
        ("department", "building"): 2,  # a case counts in each of its departments
        ("department", "fire"): 1,
        ("department", "environment"): 1,
        ("case_type", "single_family_house"): 2,
        ("case_type", "environmental_approval_minor"): 1,
        ("industry", "F"): 1,
        ("industry", "C"): 1,
        ("industry", industry.UNKNOWN): 1,
    }


def test_compute_publishes_cases_without_ids_scores_or_text_and_is_reproducible():
    cases = [case(i) for i in range(6)]
    body = compute(cases)
    assert body["cases"] == 6 and body["answers"] == 6 and body["newest_month"] == "2026-06"
    assert {i["key"] for i in body["indicators"]} == set(INDICATORS)
    for published in body["published_cases"]:
        assert "case_id" not in published and "answer" not in published
        assert "case-T" not in str(published)
    assert compute(list(reversed(cases))) == body
    # The non-survey figures can be recomputed from the published cases.
    published = body["published_cases"]
    within = [p["net_processing_days"] <= p["kl_target_days"] for p in published]
    assert figure(body["rows"], "within_kl_target_net")["value"] == sum(within) / len(within)
    assert compute([]) | {"indicators": None} == {
        "version": 1,
        "cases": 0,
        "answers": 0,
        "newest_month": None,
        "indicators": None,
        "rows": [],
        "published_cases": [],
    }


@pytest.mark.parametrize(
    ("code", "valid", "section"),
    [
        ("412000", True, "F"),
        ("011100", True, "A"),
        ("990000", True, "U"),
        ("561010", True, "I"),
        ("040000", False, "?"),  # no division 04
        ("000000", False, "?"),
        ("41200", False, "F"),
        ("4120000", False, "F"),
        ("41200a", False, "F"),
    ],
)
def test_db07_codes_and_sections(code, valid, section):
    assert industry.is_valid_code(code) is valid
    assert industry.section_of(code) == section


def test_the_code_list_has_21_sections_and_88_divisions():
    assert list(industry.SECTIONS) == [chr(c) for c in range(ord("A"), ord("U") + 1)]
    assert len(industry.DIVISIONS) == 88
    assert set(industry.DIVISIONS.values()) == set(industry.SECTIONS)
    assert industry.section_name("F") == "Bygge- og anlægsvirksomhed"
    assert industry.section_name(industry.UNKNOWN) == "Branche ikke oplyst"


def test_the_intake_takes_an_optional_db07_code_and_refuses_a_bad_one_without_echoing_it():
    import json

    from pydantic import ValidationError

    from schemas.intake import CaseIntake
    from tests.conftest import make_intake

    raw = make_intake().model_dump(mode="json")
    assert CaseIntake.model_validate_json(json.dumps(raw)).industry_code is None
    taken = CaseIntake.model_validate_json(json.dumps(raw | {"industry_code": "412000"}))
    assert taken.industry_code == "412000"
    for bad in ("049999", "51999", "51999x", "9999999"):
        with pytest.raises(ValidationError) as refused:
            CaseIntake.model_validate_json(json.dumps(raw | {"industry_code": bad}))
        (error,) = refused.value.errors()
        assert error["loc"] == ("industry_code",) and error["type"] == "db07_code"
        assert bad not in error["msg"] and "6-digit DB07 code" in error["msg"]
    with pytest.raises(ValidationError):
        CaseIntake.model_validate_json(json.dumps(raw | {"industry_code": 412000}))

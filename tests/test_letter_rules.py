"""Every letter, in realistic states of a three-department case (building, environment, fire),
checked mechanically against the rules a Danish company reads them by.

The states come from the same domain functions the workflow uses (the material checklist, the
estimate, the complaint bodies, the reasons), so a change there is read here too. Each rule is
one test over every (letter kind, state) pair.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from domain import complaints, material, reasons
from domain.estimate import estimate_decision_date
from domain.texts import danish_date
from mail.render import render_letter
from schemas.case import Caseworker
from schemas.intake import CaseType, Department
from schemas.letters import LetterFacts, LetterKind
from schemas.life import (
    ClosingReason,
    Estimate,
    EstimateBasis,
    PreDialogue,
    PreDialogueTopic,
    ReviewOutcome,
    ReviewResult,
)

CET = timezone(timedelta(hours=1))
REFERENCE = "MIL-2026-04711"
CASE_TYPE = CaseType.industry_warehouse
DEPARTMENTS = [Department.building, Department.environment, Department.fire]
COMPLETE_ON = date(2026, 12, 1)
DECIDED_ON = date(2027, 1, 18)

# Letters to the municipality's own staff; every other kind is read by the company.
INTERNAL_KINDS = {
    "contact_reminder",
    "contact_escalation",
    "review_reminder",
    "review_escalation",
    "review_failed",
}

COORDINATOR = Caseworker(
    id="jha",
    name="Jørgen Hald Andersen",
    email="jha@kommune.example",
    phone="+45 99 31 44 44",
    departments=DEPARTMENTS,
)
FORMER = Caseworker(
    id="mkj",
    name="Mette Kjær Jensen",
    email="mkj@kommune.example",
    phone="99311111",
    departments=[Department.building],
)

REQUIRED = material.required_material(CASE_TYPE, DEPARTMENTS)
EMERGENCY_PLAN = next(m for m in REQUIRED if m.code == "fire.emergency_plan")
APPLICATION_FORM = next(m for m in REQUIRED if m.code == "environment.application_form")
HISTORY = [30.0, 35, 38, 40, 41, 42, 45, 36, 33, 39, 44, 37, 38, 40]

ESTIMATES: dict[str, Estimate] = {
    "kl": estimate_decision_date(COMPLETE_ON, CASE_TYPE, [], None),
    "history": estimate_decision_date(COMPLETE_ON, CASE_TYPE, HISTORY, None),
    "wish_met": estimate_decision_date(COMPLETE_ON, CASE_TYPE, [], date(2027, 3, 1)),
    "wish_missed": estimate_decision_date(COMPLETE_ON, CASE_TYPE, [], date(2027, 1, 8)),
}
assert ESTIMATES["kl"].basis == EstimateBasis.kl_target
assert ESTIMATES["history"].basis == EstimateBasis.history
assert ESTIMATES["wish_met"].wished_date_met is True
assert ESTIMATES["wish_missed"].wished_date_met is False


def review(department: Department, outcome: ReviewOutcome, *conditions: str) -> ReviewResult:
    texts = {
        Department.building: "Byggeriet overholder bygningsreglementet.",
        Department.environment: "Virksomhedens støj og spildevand ligger inden for grænserne.",
        Department.fire: "Brandstrategien er gennemført i projektet.",
    }
    return ReviewResult(
        department=department,
        round=1,
        officer_id="off",
        outcome=outcome,
        text=texts[department],
        conditions=list(conditions),
        submitted_at=datetime(2027, 1, 14, 14, 0, tzinfo=CET),
        late=False,
    )


APPROVED = ReviewOutcome.approved
WITH_CONDITIONS = ReviewOutcome.approved_with_conditions
REVIEWS: dict[str, list[ReviewResult]] = {
    "no conditions": [review(d, APPROVED) for d in DEPARTMENTS],
    "1 condition": [
        review(Department.building, APPROVED),
        review(Department.environment, WITH_CONDITIONS, "Støjen må ikke overstige 40 dB(A)."),
        review(Department.fire, APPROVED),
    ],
    "several conditions": [
        review(Department.building, WITH_CONDITIONS, "Facaden udføres i teglsten."),
        review(Department.environment, WITH_CONDITIONS, "Støjen må ikke overstige 40 dB(A)."),
        review(
            Department.fire,
            WITH_CONDITIONS,
            "Sprinkleranlægget skal serviceres årligt.",
            "Flugtvejene skal holdes fri.",
        ),
    ],
    "refusal": [
        review(Department.building, APPROVED),
        review(Department.environment, APPROVED),
        review(Department.fire, ReviewOutcome.refused),
    ],
}


def meeting(topic: PreDialogueTopic = PreDialogueTopic.general, bookings: int = 1) -> PreDialogue:
    return PreDialogue(
        topic=topic,
        requested_at=datetime(2026, 11, 24, 9, 15, tzinfo=CET),
        at=datetime(2026, 12, 9, 13, 30, tzinfo=CET),
        place="Stigsborg Brygge 5, 9400 Nørresundby",
        bookings=bookings,
    )


def case(**changes: Any) -> LetterFacts:
    """The three-department case, assigned and waiting for two items, agreed date from KL."""
    estimate = changes.pop("estimate", ESTIMATES["kl"])
    values: dict[str, Any] = {
        "reference": REFERENCE,
        "case_type": CASE_TYPE,
        "departments": DEPARTMENTS,
        "company_name": "Nordjysk Stål ApS",
        "contact_name": "Søren Ærø Østergård",
        "project_description": "Ny lagerhal med lakering og oplag af brandfarlige væsker",
        "received_at": datetime(2026, 11, 24, 9, 15, tzinfo=CET),
        "contact_deadline": datetime(2026, 12, 1, 23, 59, 59, tzinfo=CET),
        "municipality_name": "Aalborg Kommune",
        "caseworker": COORDINATOR,
        "sustainability_level": 3,
        "missing_material": [EMERGENCY_PLAN, APPLICATION_FORM],
        "received_material": [m for m in REQUIRED if m not in (EMERGENCY_PLAN, APPLICATION_FORM)],
        "agreed_date": estimate.decision_date if estimate else None,
        "estimate": estimate,
        "wished_decision_date": estimate.wished_date if estimate else None,
        "pre_dialogue": meeting(),
        "department": Department.fire,
        "review_deadline": datetime(2027, 1, 13, 23, 59, 59, tzinfo=CET),
        "dismissal_date": date(2027, 1, 29),
    }
    values.update(changes)
    return LetterFacts(**values)


def decided(reviews: str = "several conditions", **changes: Any) -> LetterFacts:
    bodies = complaints.complaint_bodies(DEPARTMENTS)
    values: dict[str, Any] = {
        "missing_material": [],
        "reviews": REVIEWS[reviews],
        "decision_date": DECIDED_ON,
        "grounds": "Projektet overholder reglerne, når vilkårene overholdes.",
        "complaint_bodies": bodies,
        "complaint_deadline": complaints.complaint_deadline(DECIDED_ON),
    }
    return case(**{**values, **changes})


def closed(reason: ClosingReason, **changes: Any) -> LetterFacts:
    if reason == ClosingReason.decided:
        return decided(closing_reason=reason, **changes)
    return case(closing_reason=reason, **changes)


SURVEY = {"survey_url": f"https://survey.kommune.example/survey/case-{REFERENCE}?token=abc"}


def states() -> Iterator[tuple[LetterKind, str, LetterFacts]]:
    """Every letter kind in the states it is sent in."""
    k = LetterKind
    yield k.receipt, "plain", case(caseworker=None, agreed_date=None, estimate=None)
    yield (
        k.receipt,
        "pre-dialogue and date wished",
        case(
            caseworker=None,
            agreed_date=None,
            estimate=None,
            pre_dialogue_wished=True,
            wished_decision_date=date(2027, 1, 8),
        ),
    )
    for name, estimate in ESTIMATES.items():
        for missing in ([], [EMERGENCY_PLAN], [EMERGENCY_PLAN, APPLICATION_FORM]):
            yield (
                k.contact_letter,
                f"{name}, {len(missing)} missing",
                case(estimate=estimate, missing_material=missing),
            )
        yield (
            k.material_status,
            f"complete, {name}",
            case(estimate=estimate, missing_material=[], received_material=[EMERGENCY_PLAN]),
        )
    yield k.contact_letter, "pre-dialogue wished", case(pre_dialogue_wished=True)
    yield k.material_status, "1 missing", case(missing_material=[EMERGENCY_PLAN])
    yield k.material_status, "2 missing", case()
    yield k.reassignment, "from Mette", case(previous_caseworker=FORMER)
    yield k.reassignment, "after a breach", case(previous_caseworker=None)
    yield k.contact_reminder, "no caseworker", case(caseworker=None)
    yield k.contact_escalation, "no caseworker", case(caseworker=None)

    kl = ESTIMATES["kl"].decision_date
    later = kl + timedelta(days=14)
    date_changes = {
        "material complete": reasons.material_complete(COMPLETE_ON, 50),
        "waited 1 day": reasons.waited_for_material(1),
        "waited 7 days": reasons.waited_for_material(7),
        "more time": reasons.more_time(Department.fire, "Vi afventer en brandteknisk vurdering."),
        "1 more working day": reasons.more_time(
            Department.fire, "vi afventer en brandteknisk vurdering", 1
        ),
        "5 more working days": reasons.more_time(
            Department.environment, "Støjberegningen skal kontrolleres.", 5
        ),
        "project change": reasons.project_change("Hallen flyttes 20 meter mod nord."),
        "legacy more time": "Fagområdet brand/beredskab har brug for mere tid: Vi afventer svar.",
        "legacy project change": "I har meddelt en ændring af projektet: Hallen flyttes.",
    }
    for name, reason in date_changes.items():
        yield (
            k.date_changed,
            name,
            case(agreed_date=later, previous_agreed_date=kl, change_reason=reason),
        )
    wish_met = ESTIMATES["wish_met"]
    yield (
        k.date_changed,
        "past the wished date",
        case(
            estimate=wish_met,
            previous_agreed_date=wish_met.decision_date,
            agreed_date=wish_met.decision_date + timedelta(days=7),
            change_reason=reasons.more_time(Department.fire, "Vi afventer en vurdering.", 5),
        ),
    )
    yield (
        k.date_changed,
        "still before the wished date",
        case(
            estimate=ESTIMATES["kl"],
            wished_decision_date=date(2027, 3, 1),
            previous_agreed_date=kl,
            agreed_date=later,
            change_reason=reasons.waited_for_material(14),
        ),
    )
    yield (
        k.date_changed,
        "wished date already missed",
        case(
            estimate=ESTIMATES["wish_missed"],
            previous_agreed_date=kl,
            agreed_date=later,
            change_reason=reasons.waited_for_material(14),
        ),
    )
    for topic in PreDialogueTopic:
        for bookings in (1, 2):
            yield (
                k.pre_dialogue_booked,
                f"{topic.value}, booking {bookings}",
                case(pre_dialogue=meeting(topic, bookings)),
            )
        yield k.pre_dialogue_reminder, topic.value, case(pre_dialogue=meeting(topic))
    yield (
        k.pre_dialogue_cancelled,
        "while open",
        case(cancel_reason="Sagsbehandleren er desværre syg."),
    )
    for reason in ClosingReason:
        yield (
            k.pre_dialogue_cancelled,
            f"at closing, {reason.value}",
            closed(reason, cancel_reason=reasons.case_closed()),
        )
    yield k.nbe_offer, "level 3", case()
    for department in DEPARTMENTS:
        for kind in (k.review_reminder, k.review_escalation):
            yield kind, department.value, case(department=department, missing_material=[])
    if hasattr(k, "review_failed"):  # a letter kind of a later issue
        yield k("review_failed"), "fire", case(missing_material=[])
    for name in REVIEWS:
        yield k.decision, name, decided(name)
    yield k.dismissal_warning, "1 missing", case(missing_material=[EMERGENCY_PLAN])
    yield k.dismissal_warning, "2 missing", case()
    yield k.closed_notice, "withdrawn", closed(ClosingReason.withdrawn)
    yield (
        k.closed_notice,
        "dismissed",
        closed(
            ClosingReason.dismissed_incomplete,
            complaint_bodies=complaints.complaint_bodies(DEPARTMENTS),
            complaint_deadline=date(2027, 3, 1),
        ),
    )
    for reason in ClosingReason:
        yield k.survey, reason.value, closed(reason, **SURVEY)
        yield k.survey_reminder, reason.value, closed(reason, **SURVEY)


STATES = list(states())
IDS = [f"{kind.value}: {name}" for kind, name, _ in STATES]


@pytest.fixture(params=STATES, ids=IDS)
def letter(request: pytest.FixtureRequest) -> tuple[LetterKind, LetterFacts, str, str]:
    kind, _, facts = request.param
    subject, body = render_letter(kind, facts)
    return kind, facts, subject, body


def test_every_kind_is_read() -> None:
    assert {kind for kind, _, _ in STATES} == set(LetterKind)


# ------------------------------------------------------------------ the rules


def test_one_form_of_address(letter) -> None:
    """The company is "I/jer/jeres"; staff letters are impersonal: never du/din/dig/De/Deres."""
    kind, _, subject, body = letter
    found = re.findall(r"\b(du|Du|din|Din|dit|dine|dig|De|Deres|Dem)\b", subject + "\n" + body)
    assert not found, found
    if kind.value in INTERNAL_KINDS:
        assert "Kære" not in body
    else:
        assert re.search(r"\bI\b", body) and re.search(r"\b([Jj]er|[Jj]eres)\b", body)


def test_company_letters_say_jeres_sag(letter) -> None:
    kind, _, subject, body = letter
    if kind.value not in INTERNAL_KINDS:
        assert not re.search(rf"\b(sagen|din sag) {REFERENCE}", subject + body)


def test_no_doubled_parentheses(letter) -> None:
    _, _, subject, body = letter
    for pattern in ("((", "))", ") ("):
        assert pattern not in subject + body


def test_counts_agree_with_their_nouns(letter) -> None:
    _, _, subject, body = letter
    text = subject + "\n" + body
    singular_wrong = re.findall(
        r"\b(?:de 1 \w+|1 (?:dage|hverdage|kalenderdage|uger|sager|vilkårene|fagområder|"
        r"afdelinger|forvaltninger|sammenlignelige|dokumenter|bilag|minutter))\b",
        text,
    )
    plural_wrong = re.findall(
        r"\b(?:[02-9]|\d{2,}) (?:dag|hverdag|kalenderdag|uge|sag|fagområde|afdeling|"
        r"forvaltning|sammenlignelig|minut)\b",
        text,
    )
    assert not singular_wrong and not plural_wrong, (singular_wrong, plural_wrong)
    assert "1 vilkårene" not in text and "det 1 vilkår" not in text


def test_one_colon_on_a_reason_line(letter) -> None:
    _, _, _, body = letter
    assert "::" not in body
    for line in body.splitlines():
        if line.startswith("Årsag:"):
            assert line.count(":") == 1, line


def test_guidance_lines_have_one_colon(letter) -> None:
    _, _, _, body = letter
    for line in body.splitlines():
        if line.startswith("- ") and "https://" in line:
            title = line.rsplit(": https://", 1)[0]
            assert ":" not in title, line


def test_a_newly_assigned_caseworker_does_not_continue(letter) -> None:
    kind, _, _, body = letter
    if kind == LetterKind.reassignment:
        assert "fortsat" not in body
        assert "overtager sagen" in body


def test_no_promise_of_a_decision_after_it(letter) -> None:
    """After the decision, or on a closed case: the decision date, never an expected one."""
    _, facts, _, body = letter
    if facts.decision_date is None and facts.closing_reason is None:
        return
    for promise in (
        "Forventet afgørelse",
        "Vi forventer at kunne træffe afgørelse",
        "indtil afgørelsen er truffet",
        "bede om en ny",
        "så længe sagen er under behandling",
    ):
        assert promise not in body
    if facts.decision_date is not None:
        assert "Afgørelsen er truffet: mandag den 18. januar 2027\n" in body


def test_a_meeting_cancelled_at_closing_says_the_case_is_closed(letter) -> None:
    kind, facts, _, body = letter
    if kind != LetterKind.pre_dialogue_cancelled:
        return
    if facts.closing_reason is None:
        assert "Ønsker I stadig en forhåndsdialog, kan I bede om en ny" in body
    else:
        assert "er aflyst, fordi sagen er afsluttet." in body
        assert "Årsag:" not in body


def test_danish_letters_and_dates(letter) -> None:
    _, _, subject, body = letter
    text = subject + body
    for bad in ("Ã", "Â", "\ufffd", "&amp;", "&#", "{{", "{%", "None", "Undefined"):
        assert bad not in text, bad
    assert re.search("[æøåÆØÅ]", body)
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", body), "an ISO date in the letter"
    english = r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|"
    english += r"March|April|May|June|July|August|September|October|November|December)\b"
    assert not re.search(english, text)
    # every date names its weekday: "fredag den 29. januar 2027"
    months = "januar|februar|marts|april|maj|juni|juli|august|september|oktober|november|december"
    weekdays = "mandag|tirsdag|onsdag|torsdag|fredag|lørdag|søndag"
    for match in re.finditer(rf"(\S+ \S+ )?\d{{1,2}}\. (?:{months}) \d{{4}}", text):
        assert re.match(rf"(?:{weekdays}) den ", match.group(0)), match.group(0)


def test_layout(letter) -> None:
    _, _, subject, body = letter
    assert "\n" not in subject and subject == subject.strip()
    assert "\n\n\n" not in body
    assert body.endswith("\n") and not body.startswith(("\n", " "))
    for line in body.splitlines():
        assert line == line.rstrip(), repr(line)


# ------------------------------------------------------------------ the agreed date's basis


def expectation(body: str) -> str:
    """The paragraph that states the expected decision date."""
    return next(p for p in body.split("\n\n") if "Vi forventer at kunne træffe afgørelse" in p)


@pytest.mark.parametrize("estimate", list(ESTIMATES), ids=list(ESTIMATES))
@pytest.mark.parametrize("kind", [LetterKind.contact_letter, LetterKind.material_status])
def test_the_basis_sentence_matches_the_estimate(kind: LetterKind, estimate: str) -> None:
    e = ESTIMATES[estimate]
    facts = case(estimate=e, missing_material=[], received_material=[EMERGENCY_PLAN])
    _, body = render_letter(kind, facts)
    paragraph = expectation(body)
    assert paragraph.startswith(
        f"Vi forventer at kunne træffe afgørelse senest {danish_date(e.decision_date)}."
    )
    if estimate == "wish_met":
        assert "Det er den dato, I selv har ønsket." in paragraph
        assert "Datoen bygger på" not in paragraph
        assert "kan vi desværre ikke" not in body
    elif e.basis == EstimateBasis.history:
        assert (
            f"Datoen bygger på den typiske sagsbehandlingstid (medianen) i {e.history_cases} "
            f"sammenlignelige, afgjorte sager: {e.processing_days} kalenderdage"
        ) in paragraph
        assert "KL" not in body and "ønsket" not in body
    else:
        assert (
            f"Datoen bygger på KL's servicemål for denne type sag: {e.processing_days} "
            "kalenderdage fra den dag, sagen er fuldt oplyst."
        ) in paragraph
    if estimate == "wish_missed":
        assert e.wished_date is not None
        assert (
            f"I har ønsket en afgørelse senest {danish_date(e.wished_date)}. Den dato kan vi desværre "
            f"ikke nå: med den forventede sagsbehandlingstid er {danish_date(e.decision_date)} den "
            "tidligste dato, vi kan give jer."
        ) in body


def test_a_date_change_past_the_wished_date_says_so() -> None:
    by_name = {name: render_letter(kind, f)[1] for kind, name, f in STATES}
    assert "vi desværre ikke længere kan nå jeres ønskede dato" in by_name["past the wished date"]
    assert "forventer vi fortsat at kunne nå" in by_name["still before the wished date"]
    assert "Som tidligere oplyst kan vi desværre ikke nå" in by_name["wished date already missed"]
    for name in ("waited 1 day", "more time"):
        assert "ønsket" not in by_name[name]


def test_the_intake_wishes_are_acknowledged() -> None:
    by_name = {(k, name): render_letter(k, f)[1] for k, name, f in STATES}
    receipt = by_name[LetterKind.receipt, "pre-dialogue and date wished"]
    assert "I har ønsket en forhåndsdialog om projektet." in receipt
    assert "kontakter jer for at aftale et tidspunkt" in receipt
    assert "I har ønsket en afgørelse senest fredag den 8. januar 2027." in receipt
    contact = by_name[LetterKind.contact_letter, "pre-dialogue wished"]
    assert "I har ønsket en forhåndsdialog om projektet. Jørgen Hald Andersen kontakter" in contact
    assert "I har ønsket en forhåndsdialog" not in by_name[LetterKind.receipt, "plain"]


@pytest.mark.parametrize(
    ("reviews", "sentence"),
    [
        ("no conditions", "til projektet.\n"),
        ("1 condition", "til projektet på det vilkår, der står under fagområdernes vurderinger "),
        ("several conditions", "til projektet på de 4 vilkår, der står under fagområdernes "),
    ],
)
def test_the_decision_counts_its_conditions(reviews: str, sentence: str) -> None:
    _, body = render_letter(LetterKind.decision, decided(reviews))
    assert "Kommunen giver tilladelse og miljøgodkendelse " + sentence in body
    if reviews == "1 condition":
        assert "Vilkåret skal overholdes." in body and "Vilkårene" not in body
    if reviews == "several conditions":
        assert "(vilkår 1–4). Vilkårene skal overholdes." in body

"""Tests for the letters: mail/render.py, the Danish texts (domain/texts.py) and the guidance
links (domain/guidance.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from jinja2.exceptions import UndefinedError

from domain import reasons
from domain.guidance import GUIDANCE, SUSTAINABILITY, guidance_for
from domain.texts import (
    CASE_TYPE_NAMES,
    CLOSING_REASON_NAMES,
    DEPARTMENT_NAMES,
    OUTCOME_NAMES,
    TOPIC_NAMES,
    TOPIC_NAMES_DEFINITE,
    danish_date,
    danish_datetime,
    noun,
    plural,
    to_company,
)
from domain.texts import department_list as department_list_text
from mail.render import (
    REQUIRED_FACTS,
    MissingLetterFacts,
    complaint_groups,
    latest_reviews,
    render_letter,
)
from schemas.case import Caseworker
from schemas.intake import CaseType, Department
from schemas.letters import LetterFacts, LetterKind
from schemas.life import (
    ClosingReason,
    ComplaintBody,
    Estimate,
    EstimateBasis,
    MaterialLine,
    PreDialogue,
    PreDialogueTopic,
    ReviewOutcome,
    ReviewResult,
)
from tests.conftest import make_intake

CPH = ZoneInfo("Europe/Copenhagen")
CET = timezone(timedelta(hours=1))
REFERENCE = "BYG-2026-00123"

METTE = Caseworker(
    id="mkj",
    name="Mette Kjær Jensen",
    email="mkj@kommune.example",
    phone="99311111",
    departments=[Department.building],
)
JOERGEN = Caseworker(
    id="jha",
    name="Jørgen Hald Andersen",
    email="jha@kommune.example",
    phone="+45 99 31 44 44",
    departments=[Department.building, Department.environment, Department.fire],
)

BUILDING_AND_FIRE_LINKS = [
    g.url for d in (Department.building, Department.fire) for g in GUIDANCE[d]
]
ENVIRONMENT_LINKS = [g.url for g in GUIDANCE[Department.environment]]

FIRE_PLAN = MaterialLine(
    code="fire.plan", department=Department.fire, title="Brandteknisk dokumentation"
)
DRAWINGS = MaterialLine(
    code="building.drawings", department=Department.building, title="Plan- og facadetegninger"
)
SITE_PLAN = MaterialLine(
    code="building.site_plan", department=Department.building, title="Situationsplan"
)
SURVEY_URL = "https://survey.kommune.example/s/BYG-2026-00123?sig=abc123"


def review(
    department: Department,
    outcome: ReviewOutcome,
    text: str,
    conditions: tuple[str, ...] = (),
    round: int = 1,
) -> ReviewResult:
    return ReviewResult(
        department=department,
        round=round,
        officer_id="off",
        outcome=outcome,
        text=text,
        conditions=list(conditions),
        submitted_at=datetime(2027, 1, 20, 14, 0, tzinfo=CET),
        late=False,
    )


BUILDING_REVIEW = review(
    Department.building,
    ReviewOutcome.approved_with_conditions,
    "Byggeriet overholder bygningsreglementet.",
    ("Der skal etableres 4 handicapparkeringspladser.", "Facaden udføres i teglsten."),
)
ENVIRONMENT_REVIEW = review(
    Department.environment, ReviewOutcome.approved, "Ingen væsentlige miljøpåvirkninger."
)
FIRE_REFUSAL = review(
    Department.fire,
    ReviewOutcome.refused,
    "Flugtvejene fra hallens nordlige del er for lange.",
)
FIRE_APPROVAL = review(
    Department.fire,
    ReviewOutcome.approved_with_conditions,
    "Sprinkleranlægget dækker hele hallen.",
    ("Sprinkleranlægget skal serviceres årligt.",),
)
BYGGEKLAGE = ComplaintBody(
    department=Department.building,
    body="Nævnenes Hus, Byggeklageenheden",
    how="Klag via Klageportalen på naevneneshus.dk (kun retlige spørgsmål).",
    weeks=4,
)
PLANKLAGE = ComplaintBody(
    department=Department.building,
    body="Planklagenævnet",
    how="Klag via Klageportalen på naevneneshus.dk.",
    weeks=4,
)
MILJOEKLAGE = ComplaintBody(
    department=Department.environment,
    body="Miljø- og Fødevareklagenævnet",
    how="Klag via Klageportalen på naevneneshus.dk.",
    weeks=4,
)
FIRE_BYGGEKLAGE = BYGGEKLAGE.model_copy(update={"department": Department.fire})


def facts(
    departments: tuple[Department, ...] = (Department.building, Department.fire),
    case_type: CaseType = CaseType.industry_warehouse,
    **changes,
) -> LetterFacts:
    values = {
        "reference": REFERENCE,
        "case_type": case_type,
        "departments": list(departments),
        "company_name": "Nordjysk Stål ApS",
        "contact_name": "Søren Ærø Østergård",
        "project_description": "Ny lagerhal på 2.400 m² med sprinkleranlæg",
        "received_at": datetime(2026, 11, 24, 9, 15, tzinfo=CET),
        "contact_deadline": datetime(2026, 12, 1, 23, 59, 59, 999999, tzinfo=CET),
        "municipality_name": "Aalborg Kommune",
        "caseworker": JOERGEN,
        "previous_caseworker": METTE,
        # issue 4: every letter kind has what it needs
        "sustainability_level": 1,
        "missing_material": [FIRE_PLAN],
        "received_material": [DRAWINGS, SITE_PLAN],
        "agreed_date": date(2027, 1, 29),
        "estimate": Estimate(
            decision_date=date(2027, 1, 29),
            basis=EstimateBasis.kl_target,
            processing_days=50,
            history_cases=3,
        ),
        "previous_agreed_date": date(2027, 1, 15),
        "change_reason": "Virksomheden har ændret hallens placering på grunden.",
        "pre_dialogue": PreDialogue(
            topic=PreDialogueTopic.general,
            requested_at=datetime(2026, 12, 2, 10, 0, tzinfo=CET),
            at=datetime(2026, 12, 9, 13, 30, tzinfo=CET),
            place="Stigsborg Brygge 5, 9400 Nørresundby, mødelokale 2.14",
            bookings=1,
        ),
        "cancel_reason": "Sagsbehandleren er syg.",
        "department": Department.fire,
        "review_deadline": datetime(2027, 1, 22, 23, 59, 59, 999999, tzinfo=CET),
        "reviews": [BUILDING_REVIEW, FIRE_APPROVAL],
        "decision_date": None,
        "grounds": "Projektet opfylder reglerne, når vilkårene overholdes.",
        "complaint_bodies": [BYGGEKLAGE, FIRE_BYGGEKLAGE],
        "complaint_deadline": date(2027, 2, 24),
        "dismissal_date": date(2027, 2, 12),
        "closing_reason": None,
        "survey_url": SURVEY_URL,
    }
    values.update(changes)
    return LetterFacts(**values)


DECISION_DATE = date(2027, 1, 27)

# The facts a letter kind is sent with on top of an open case: the decision letter after the
# decision (the case not yet closed), the closed notice on a withdrawn case, the survey on a
# decided and closed case.
CLOSING_FACTS: dict[LetterKind, dict] = {
    LetterKind.decision: {"decision_date": DECISION_DATE},
    LetterKind.closed_notice: {"closing_reason": ClosingReason.withdrawn},
    LetterKind.survey: {"closing_reason": ClosingReason.decided, "decision_date": DECISION_DATE},
}


def facts_for(kind: LetterKind, **changes) -> LetterFacts:
    """The facts *kind* is sent with in a realistic state of the case."""
    return facts(**{**CLOSING_FACTS.get(kind, {}), **changes})


def assert_clean(text: str) -> None:
    """No mojibake, no replacement characters, no unrendered Jinja."""
    for bad in ("Ã", "Â", "\ufffd", "{{", "}}", "{%", "%}", "{#", "Undefined", "None"):
        assert bad not in text, f"{bad!r} in {text!r}"


# ------------------------------------------------------------------ every letter


@pytest.mark.parametrize("kind", list(LetterKind))
def test_every_letter_renders(kind: LetterKind) -> None:
    subject, body = render_letter(kind, facts_for(kind))
    assert REFERENCE in subject
    assert REFERENCE in body
    assert subject and "\n" not in subject
    assert not subject.startswith("Emne")
    assert body.endswith("\n") and not body.endswith("\n\n")
    assert not body.startswith(("\n", " "))
    assert_clean(subject)
    assert_clean(body)
    # the signature
    assert "Aalborg Kommune" in body
    assert f"Sagsnummer: {REFERENCE}" in body


@pytest.mark.parametrize("kind", list(LetterKind))
@pytest.mark.parametrize("case_type", list(CaseType))
def test_every_letter_renders_every_case_type(kind: LetterKind, case_type: CaseType) -> None:
    subject, body = render_letter(kind, facts_for(kind, case_type=case_type))
    assert_clean(subject + body)


def test_each_kind_has_its_own_subject() -> None:
    subjects = {render_letter(kind, facts_for(kind))[0] for kind in LetterKind}
    assert len(subjects) == len(LetterKind)


# ------------------------------------------------------------------ receipt


def test_receipt() -> None:
    subject, body = render_letter(LetterKind.receipt, facts())
    assert subject == f"Kvittering for jeres sag {REFERENCE} – industri- og lagerbygning"
    assert "Kære Søren Ærø Østergård" in body
    assert "tirsdag den 24. november 2026 kl. 09.15" in body
    assert "Senest tirsdag den 1. december 2026 kontakter vi jer" in body
    assert "Fagområder: byggeri og brand/beredskab\n" in body
    assert "Virksomhed: Nordjysk Stål ApS" in body
    assert "Projekt: Ny lagerhal på 2.400 m² med sprinkleranlæg" in body


def test_receipt_deadline_at_end_of_day_in_utc_is_still_the_danish_date() -> None:
    # 23:59:59.999999 Copenhagen time is 22:59 UTC: the letter must show the Danish date.
    deadline = datetime(2026, 12, 1, 23, 59, 59, 999999, tzinfo=CET).astimezone(UTC)
    _, body = render_letter(LetterKind.receipt, facts(contact_deadline=deadline))
    assert "Senest tirsdag den 1. december 2026" in body


def test_receipt_guidance_for_building_and_fire() -> None:
    _, body = render_letter(LetterKind.receipt, facts())
    for url in BUILDING_AND_FIRE_LINKS:
        assert url in body
    for url in ENVIRONMENT_LINKS:
        assert url not in body
    assert SUSTAINABILITY.url in body
    assert f"- {SUSTAINABILITY.title}: {SUSTAINABILITY.url}" in body


def test_receipt_guidance_for_environment() -> None:
    _, body = render_letter(
        LetterKind.receipt,
        facts(
            departments=(Department.environment,),
            case_type=CaseType.environmental_approval_minor,
        ),
    )
    assert "Fagområde: miljø\n" in body
    for url in ENVIRONMENT_LINKS:
        assert url in body
    for url in BUILDING_AND_FIRE_LINKS:
        assert url not in body
    assert SUSTAINABILITY.url in body


def test_receipt_guidance_lines_are_exactly_the_involved_departments() -> None:
    _, body = render_letter(LetterKind.receipt, facts())
    links = [line for line in body.splitlines() if line.startswith("- ") and "https://" in line]
    expected = guidance_for([Department.building, Department.fire])
    assert links == [f"- {g.title}: {g.url}" for g in expected]


def test_receipt_without_caseworker() -> None:
    """The receipt goes out before anyone is assigned."""
    subject, body = render_letter(
        LetterKind.receipt, facts(caseworker=None, previous_caseworker=None)
    )
    assert REFERENCE in subject
    assert_clean(body)


# ------------------------------------------------------------------ caseworker letters


def test_contact_letter() -> None:
    subject, body = render_letter(LetterKind.contact_letter, facts(previous_caseworker=None))
    assert subject == f"Jeres procesansvarlige sagsbehandler i sag {REFERENCE}"
    assert "Kære Søren Ærø Østergård" in body
    assert "Jørgen Hald Andersen" in body
    assert "E-mail: jha@kommune.example" in body
    assert "Telefon: +4599314444" in body
    assert "på tværs af byggeri og brand/beredskab" in body
    assert SUSTAINABILITY.url in body
    for url in BUILDING_AND_FIRE_LINKS:
        assert url in body
    for url in ENVIRONMENT_LINKS:
        assert url not in body


def test_reassignment() -> None:
    subject, body = render_letter(LetterKind.reassignment, facts())
    assert subject == f"Ny procesansvarlig sagsbehandler i sag {REFERENCE}"
    assert "i stedet for Mette Kjær Jensen" in body
    assert "Jørgen Hald Andersen" in body
    assert "E-mail: jha@kommune.example" in body
    assert "Telefon: +4599314444" in body


def test_reassignment_without_previous_caseworker() -> None:
    _, body = render_letter(LetterKind.reassignment, facts(previous_caseworker=None))
    assert "i stedet for" not in body
    assert "Jørgen Hald Andersen" in body


@pytest.mark.parametrize("kind", [LetterKind.contact_letter, LetterKind.reassignment])
def test_caseworker_letters_need_a_caseworker(kind: LetterKind) -> None:
    """The workflow always sets the caseworker first; a missing one fails loudly (StrictUndefined)."""
    with pytest.raises(UndefinedError):
        render_letter(kind, facts(caseworker=None))


def test_applicant_text_is_not_evaluated_as_a_template() -> None:
    _, body = render_letter(
        LetterKind.receipt, facts(project_description="{{ 7 * 7 }} {% raw %}", company_name="{#")
    )
    assert "Projekt: {{ 7 * 7 }} {% raw %}\n" in body
    assert "Virksomhed: {#\n" in body
    assert "49" not in body


# ------------------------------------------------------------------ team letters


@pytest.mark.parametrize("kind", [LetterKind.contact_reminder, LetterKind.contact_escalation])
def test_team_letters(kind: LetterKind) -> None:
    subject, body = render_letter(kind, facts(caseworker=None, previous_caseworker=None))
    assert "tirsdag den 1. december 2026" in subject + body
    assert f"starter.py assign {REFERENCE} <initialer>" in body
    assert "(industri- og lagerbygning; byggeri og brand/beredskab)" in body
    assert "tirsdag den 24. november 2026" in body
    # internal letters: no applicant contact details
    assert "Søren Ærø Østergård" not in body


def test_contact_reminder_subject() -> None:
    subject, _ = render_letter(LetterKind.contact_reminder, facts())
    assert subject == (
        f"Påmindelse: kontaktfristen i sag {REFERENCE} udløber tirsdag den 1. december 2026"
    )


def test_contact_escalation() -> None:
    subject, body = render_letter(LetterKind.contact_escalation, facts())
    assert subject == (f"Frist overskredet: ingen procesansvarlig sagsbehandler i sag {REFERENCE}")
    assert "udløb tirsdag den 1. december 2026" in body


# ------------------------------------------------------------------ contact letter: material, date


def test_contact_letter_lists_the_missing_material() -> None:
    _, body = render_letter(
        LetterKind.contact_letter, facts(missing_material=[FIRE_PLAN, DRAWINGS])
    )
    assert (
        "Før vi kan gå i gang med selve behandlingen, mangler vi:\n"
        "\nByggeri:\n- Plan- og facadetegninger\n"
        "\nBrand/beredskab:\n- Brandteknisk dokumentation\n"
    ) in body
    assert "Sagen er fuldt oplyst." not in body


def test_contact_letter_when_fully_informed() -> None:
    _, body = render_letter(LetterKind.contact_letter, facts(missing_material=[]))
    assert "Sagen er fuldt oplyst" in body
    assert "mangler vi" not in body


def test_contact_letter_agreed_date_and_kl_basis() -> None:
    _, body = render_letter(LetterKind.contact_letter, facts())
    assert (
        "Vi forventer at kunne træffe afgørelse senest fredag den 29. januar 2027. "
        "Datoen bygger på KL's servicemål for denne type sag: 50 kalenderdage fra den dag, "
        "sagen er fuldt oplyst."
    ) in body


def test_contact_letter_history_basis() -> None:
    estimate = Estimate(
        decision_date=date(2027, 1, 29),
        basis=EstimateBasis.history,
        processing_days=38,
        history_cases=14,
    )
    _, body = render_letter(LetterKind.contact_letter, facts(estimate=estimate))
    assert (
        "senest fredag den 29. januar 2027. Datoen bygger på den typiske sagsbehandlingstid "
        "(medianen) i 14 sammenlignelige, afgjorte sager: 38 kalenderdage fra den dag"
    ) in body
    assert "KL's servicemål" not in body


def test_contact_letter_without_agreed_date() -> None:
    _, body = render_letter(LetterKind.contact_letter, facts(agreed_date=None, estimate=None))
    assert "Vi forventer at kunne træffe afgørelse" not in body
    assert_clean(body)


@pytest.mark.parametrize(
    ("wished", "met", "text"),
    [
        # a wish on or after the estimate: the estimate (and the agreed date) is the wish
        (date(2027, 2, 5), True, "Det er den dato, I selv har ønsket. Den kan vi nå, da KL's"),
        # a wish before the estimate: said plainly, with the date we can give
        (
            date(2027, 1, 15),
            False,
            (
                "I har ønsket en afgørelse senest fredag den 15. januar 2027. Den dato kan vi "
                "desværre ikke nå: med den forventede sagsbehandlingstid er fredag den 29. "
                "januar 2027 den tidligste dato, vi kan give jer."
            ),
        ),
        # estimates from before wished_date_met was recorded: the dates decide
        (date(2027, 1, 15), None, "Den dato kan vi desværre ikke nå"),
    ],
)
def test_contact_letter_wished_date(wished: date, met: bool | None, text: str) -> None:
    agreed = wished if met else date(2027, 1, 29)
    estimate = facts().estimate.model_copy(
        update={"decision_date": agreed, "wished_date": wished, "wished_date_met": met}
    )
    _, body = render_letter(
        LetterKind.contact_letter,
        facts(estimate=estimate, agreed_date=agreed, wished_decision_date=wished),
    )
    assert text in body
    assert ("Datoen bygger på KL's servicemål" in body) == (not met)


def test_contact_letter_wish_from_the_intake_that_the_estimate_meets() -> None:
    _, body = render_letter(LetterKind.contact_letter, facts(wished_decision_date=date(2027, 2, 5)))
    assert "Datoen bygger på KL's servicemål for denne type sag: 50 kalenderdage" in body
    assert (
        "I har ønsket en afgørelse senest fredag den 5. februar 2027, og den dato forventer vi "
        "at kunne nå."
    ) in body


def test_contact_letter_wish_on_a_closed_day() -> None:
    """A wish on a Saturday gives the next working day: said so, not called the wish itself."""
    estimate = facts().estimate.model_copy(
        update={
            "decision_date": date(2027, 3, 1),
            "wished_date": date(2027, 2, 27),
            "wished_date_met": True,
        }
    )
    _, body = render_letter(
        LetterKind.contact_letter, facts(estimate=estimate, agreed_date=date(2027, 3, 1))
    )
    assert (
        "senest mandag den 1. marts 2027. Datoen bygger på jeres ønske om en afgørelse senest "
        "lørdag den 27. februar 2027, rykket til nærmeste hverdag."
    ) in body
    assert "kan vi desværre ikke" not in body


def test_contact_letter_basis_for_fire_cases_is_not_called_kls() -> None:
    """KL has no common service target for fire cases: the municipality's own target is used."""
    estimate = facts().estimate.model_copy(update={"processing_days": 30})
    _, body = render_letter(
        LetterKind.contact_letter, facts(case_type=CaseType.fire_safety, estimate=estimate)
    )
    assert "Datoen bygger på kommunens eget servicemål for denne type sag: 30 kalenderdage" in body
    assert "KL" not in body


def test_pre_dialogue_wished_at_intake_is_acknowledged() -> None:
    _, receipt = render_letter(LetterKind.receipt, facts(pre_dialogue_wished=True))
    assert (
        "I har ønsket en forhåndsdialog om projektet. Jeres procesansvarlige sagsbehandler "
        "kontakter jer for at aftale et tidspunkt."
    ) in receipt
    _, contact = render_letter(LetterKind.contact_letter, facts(pre_dialogue_wished=True))
    assert (
        "I har ønsket en forhåndsdialog om projektet. Jørgen Hald Andersen kontakter jer for at "
        "aftale et tidspunkt"
    ) in contact
    for body in (
        render_letter(LetterKind.receipt, facts())[1],
        render_letter(LetterKind.contact_letter, facts())[1],
    ):
        assert "I har ønsket en forhåndsdialog" not in body


def test_receipt_acknowledges_the_wished_decision_date() -> None:
    _, body = render_letter(LetterKind.receipt, facts(wished_decision_date=date(2027, 2, 5)))
    assert "I har ønsket en afgørelse senest fredag den 5. februar 2027." in body


def test_of_case_carries_what_the_company_asked_for() -> None:
    intake = make_intake(pre_dialogue_wished=True, wished_decision_date="2027-06-01")
    f = LetterFacts.of_case(
        intake, contact_deadline=facts().contact_deadline, municipality_name="Aalborg Kommune"
    )
    assert f.pre_dialogue_wished is True
    assert f.wished_decision_date == date(2027, 6, 1)
    plain = LetterFacts.of_case(
        make_intake(), contact_deadline=facts().contact_deadline, municipality_name="Aalborg"
    )
    assert plain.pre_dialogue_wished is False and plain.wished_decision_date is None


@pytest.mark.parametrize("level", [1, 2, 3])
def test_contact_letter_sustainability_level(level: int) -> None:
    _, body = render_letter(LetterKind.contact_letter, facts(sustainability_level=level))
    assert "I kan til enhver tid, indtil afgørelsen er truffet, bede om en forhåndsdialog" in body
    assert SUSTAINABILITY.url in body
    offer = "Vi tilbyder jer en forhåndsdialog om bæredygtighed og cirkulær økonomi"
    assert (offer in body) == (level >= 2)
    assert ("særskilt brev et tilbud om medlemskab af NBE" in body) == (level == 3)


# ------------------------------------------------------------------ case life letters

FIRST_CONTACT_KINDS = {
    LetterKind.receipt,
    LetterKind.contact_letter,
    LetterKind.reassignment,
    LetterKind.contact_reminder,
    LetterKind.contact_escalation,
}
CASE_LIFE_KINDS = [k for k in LetterKind if k not in FIRST_CONTACT_KINDS]


@pytest.mark.parametrize("kind", [k for k in LetterKind if k not in REQUIRED_FACTS])
def test_letters_without_optional_facts(kind: LetterKind) -> None:
    """Letters that need none of the issue-4 facts render without them."""
    bare = facts().model_copy(
        update={
            "missing_material": [],
            "received_material": [],
            "agreed_date": None,
            "estimate": None,
            "previous_agreed_date": None,
            "change_reason": None,
        }
    )
    subject, body = render_letter(kind, bare)
    assert_clean(subject + body)
    assert "Forventet afgørelse" not in body


@pytest.mark.parametrize(("kind", "fields"), list(REQUIRED_FACTS.items()))
def test_letters_need_their_facts(kind: LetterKind, fields: tuple[str, ...]) -> None:
    for field in fields:
        empty = [] if isinstance(getattr(facts_for(kind), field), list) else None
        with pytest.raises(MissingLetterFacts, match=f"needs {field}$"):
            render_letter(kind, facts_for(kind, **{field: empty}))


@pytest.mark.parametrize("kind", CASE_LIFE_KINDS)
def test_case_facts_block(kind: LetterKind) -> None:
    """Every case-life letter shows the reference, the caseworker and the agreed date; after
    the decision the decision date instead, and a closed case's status."""
    f = facts_for(kind)
    _, body = render_letter(kind, f)
    assert body.startswith(f"Sagsnummer: {REFERENCE}\n")
    assert "Procesansvarlig sagsbehandler: Jørgen Hald Andersen, jha@kommune.example" in body
    expected = "Forventet afgørelse (aftalt dato): fredag den 29. januar 2027\n"
    assert (expected in body) == (kind not in CLOSING_FACTS)
    decided = "Afgørelsen er truffet: onsdag den 27. januar 2027\n"
    assert (body.count(decided) == 1) == (f.decision_date is not None)
    assert ("Status: afsluttet – " in body) == (f.closing_reason is not None)


@pytest.mark.parametrize("kind", CASE_LIFE_KINDS)
def test_case_life_letters_without_caseworker(kind: LetterKind) -> None:
    subject, body = render_letter(kind, facts_for(kind, caseworker=None, previous_caseworker=None))
    assert "Procesansvarlig sagsbehandler:" not in body
    assert "Jørgen" not in body
    assert_clean(subject + body)


def test_material_status_lists_received_and_missing() -> None:
    subject, body = render_letter(LetterKind.material_status, facts())
    assert subject == f"Der mangler stadig materiale i sag {REFERENCE}"
    assert ("Vi har modtaget:\n\nByggeri:\n- Plan- og facadetegninger\n- Situationsplan\n") in body
    assert "mangler vi stadig:\n\nBrand/beredskab:\n- Brandteknisk dokumentation\n" in body
    assert "er nu fuldt oplyst" not in body


def test_material_status_fully_informed() -> None:
    subject, body = render_letter(
        LetterKind.material_status, facts(missing_material=[], received_material=[FIRE_PLAN])
    )
    assert subject == f"Sag {REFERENCE} er fuldt oplyst – behandlingen er gået i gang"
    assert f"Jeres sag {REFERENCE} er nu fuldt oplyst" in body
    assert "gået i gang med selve behandlingen" in body
    assert "Brand/beredskab:\n- Brandteknisk dokumentation\n" in body  # received
    assert "mangler" not in body
    assert "Vi forventer at kunne træffe afgørelse senest fredag den 29. januar 2027" in body


def test_date_changed() -> None:
    subject, body = render_letter(LetterKind.date_changed, facts())
    assert subject == f"Ny forventet dato for afgørelse i sag {REFERENCE}"
    assert "Tidligere dato: fredag den 15. januar 2027\n" in body
    assert "Ny dato: fredag den 29. januar 2027\n" in body
    assert "Årsag: Virksomheden har ændret hallens placering på grunden.\n" in body
    assert "Jørgen Hald Andersen, på jha@kommune.example" in body
    assert "beklage" not in body.lower()


def test_pre_dialogue_booked() -> None:
    subject, body = render_letter(LetterKind.pre_dialogue_booked, facts())
    assert subject == f"Bekræftelse af forhåndsdialog i sag {REFERENCE}"
    assert "Bekræftelse af forhåndsdialog\n" in body
    assert "Tidspunkt: onsdag den 9. december 2026 kl. 13.30\n" in body
    assert "Sted: Stigsborg Brygge 5, 9400 Nørresundby, mødelokale 2.14\n" in body
    assert "Videomøde" not in body
    assert "flyttet" not in subject + body
    assert "Kære" not in body  # one letter to the company and the caseworker


def test_pre_dialogue_booked_moved_to_a_video_meeting() -> None:
    moved = PreDialogue(
        topic=PreDialogueTopic.sustainability,
        at=datetime(2026, 12, 10, 9, 0, tzinfo=CET),
        video_link="https://meet.kommune.example/abc",
        bookings=2,
    )
    subject, body = render_letter(LetterKind.pre_dialogue_booked, facts(pre_dialogue=moved))
    assert "flyttet" in subject
    assert "Forhåndsdialogen om bæredygtighed i sag BYG-2026-00123 er flyttet" in body
    assert "Tidspunkt: torsdag den 10. december 2026 kl. 09.00\n" in body
    assert "Videomøde: https://meet.kommune.example/abc\n" in body
    assert "Sted:" not in body
    assert "bæredygtighed og cirkulær økonomi" in body


def test_pre_dialogue_reminder_and_cancellation() -> None:
    subject, body = render_letter(LetterKind.pre_dialogue_reminder, facts())
    assert "onsdag den 9. december 2026 kl. 13.30" in subject
    assert "Tidspunkt: onsdag den 9. december 2026 kl. 13.30" in body
    subject, body = render_letter(LetterKind.pre_dialogue_cancelled, facts())
    assert subject == f"Aflysning af forhåndsdialog i sag {REFERENCE}"
    assert "er aflyst" in body
    assert "Årsag: Sagsbehandleren er syg." in body


def test_nbe_offer() -> None:
    subject, body = render_letter(LetterKind.nbe_offer, facts(sustainability_level=3))
    assert "NBE" in subject
    assert "Netværk for Bæredygtig Erhvervsudvikling" in body
    assert "gratis" in body and "Nordjylland" in body
    assert "et ja eller et nej" in body
    assert "Jørgen Hald Andersen" in body


@pytest.mark.parametrize("kind", [LetterKind.review_reminder, LetterKind.review_escalation])
def test_review_letters_are_internal(kind: LetterKind) -> None:
    subject, body = render_letter(kind, facts())
    assert "brand/beredskab" in subject
    assert "fredag den 22. januar 2027 kl. 23.59" in subject + body
    assert "Søren Ærø Østergård" not in body
    assert "(industri- og lagerbygning; byggeri og brand/beredskab)" in body


def test_review_reminder_says_how_to_answer() -> None:
    _, body = render_letter(LetterKind.review_reminder, facts(department=Department.building))
    assert (
        f'starter.py review {REFERENCE} building approve|conditions|refuse --text "<vurdering>"'
    ) in body
    assert f"starter.py more-time {REFERENCE} building <hverdage> --reason" in body


def test_review_escalation_goes_to_the_coordinator() -> None:
    _, body = render_letter(LetterKind.review_escalation, facts())
    assert "Til Jørgen Hald Andersen\n" in body
    assert "Brand/beredskab har ikke afgivet sin faglige vurdering" in body


# ------------------------------------------------------------------ the decision


def three_department_decision(**changes) -> LetterFacts:
    values = {
        "departments": tuple(Department),
        "reviews": [FIRE_REFUSAL, ENVIRONMENT_REVIEW, BUILDING_REVIEW],
        "complaint_bodies": [BYGGEKLAGE, PLANKLAGE, MILJOEKLAGE, FIRE_BYGGEKLAGE],
        "grounds": "Flugtvejslængderne overstiger kravene i bygningsreglementet.",
        "decision_date": DECISION_DATE,
    }
    values.update(changes)
    return facts(**values)


def test_decision_three_departments_fire_refuses() -> None:
    subject, body = render_letter(LetterKind.decision, three_department_decision())
    assert subject == f"Afgørelse i sag {REFERENCE}"
    assert body.count("Afgørelsen er truffet: onsdag den 27. januar 2027") == 1
    assert "Kommunen giver afslag på jeres ansøgning, fordi brand/beredskab ikke kan" in body
    assert "giver tilladelse" not in body
    # every department's outcome, text and conditions, in department order
    byg = body.index("Byggeri: godkendt med vilkår\nByggeriet overholder bygningsreglementet.\n")
    mil = body.index("Miljø: godkendt\nIngen væsentlige miljøpåvirkninger.\n")
    brand = body.index("Brand/beredskab: afslag\nFlugtvejene fra hallens nordlige del")
    assert byg < mil < brand
    assert (
        "Vilkår:\n1. Der skal etableres 4 handicapparkeringspladser.\n"
        "2. Facaden udføres i teglsten.\n"
    ) in body
    assert "Begrundelse\n\nFlugtvejslængderne overstiger kravene i bygningsreglementet.\n" in body
    # klagevejledning: three bodies, Byggeklageenheden once for building and fire
    assert "Afgørelsen er truffet efter flere love" in body
    assert body.count("Nævnenes Hus, Byggeklageenheden") == 1
    assert "- Nævnenes Hus, Byggeklageenheden (byggeri og brand/beredskab): Klag via" in body
    assert "- Planklagenævnet (byggeri): " in body
    assert "- Miljø- og Fødevareklagenævnet (miljø): " in body
    complaint_lines = [
        line for line in body.splitlines() if line.startswith("- ") and "Klag" in line
    ]
    assert len(complaint_lines) == 3
    assert (
        "Klagefristen er 4 uger fra den dag, afgørelsen er meddelt, "
        "dvs. senest onsdag den 24. februar 2027."
    ) in body


def test_decision_approval_with_all_conditions() -> None:
    _, body = render_letter(
        LetterKind.decision,
        three_department_decision(reviews=[BUILDING_REVIEW, ENVIRONMENT_REVIEW, FIRE_APPROVAL]),
    )
    assert "afslag" not in body
    assert "Kommunen giver tilladelse og miljøgodkendelse til projektet på de 3 vilkår" in body
    assert "(vilkår 1–3)" in body
    assert "3. Sprinkleranlægget skal serviceres årligt.\n" in body


def test_decision_plain_approval_one_body() -> None:
    approved = review(Department.building, ReviewOutcome.approved, "I orden.")
    _, body = render_letter(
        LetterKind.decision,
        facts_for(
            LetterKind.decision,
            departments=(Department.building,),
            reviews=[approved],
            complaint_bodies=[BYGGEKLAGE],
        ),
    )
    assert "Kommunen giver tilladelse til projektet.\n" in body
    assert "Vilkår" not in body
    assert "flere love" not in body
    assert "I kan klage over afgørelsen til:\n\n- Nævnenes Hus, Byggeklageenheden (byggeri)" in body


def test_decision_uses_each_departments_latest_round() -> None:
    first = review(Department.fire, ReviewOutcome.refused, "For lange flugtveje.")
    second = review(Department.fire, ReviewOutcome.approved, "Flugtvejene er ændret.", round=2)
    _, body = render_letter(
        LetterKind.decision,
        facts_for(
            LetterKind.decision,
            reviews=[second, BUILDING_REVIEW, first],
            departments=(Department.building, Department.fire),
        ),
    )
    assert "Brand/beredskab: godkendt\nFlugtvejene er ændret." in body
    assert "For lange flugtveje" not in body
    assert "afslag" not in body


def test_complaint_groups_and_latest_reviews() -> None:
    groups = complaint_groups([BYGGEKLAGE, MILJOEKLAGE, FIRE_BYGGEKLAGE, BYGGEKLAGE])
    assert [(g.body, g.departments) for g in groups] == [
        ("Nævnenes Hus, Byggeklageenheden", [Department.building, Department.fire]),
        ("Miljø- og Fødevareklagenævnet", [Department.environment]),
    ]
    assert latest_reviews([FIRE_REFUSAL, BUILDING_REVIEW]) == [BUILDING_REVIEW, FIRE_REFUSAL]


def test_decision_with_different_complaint_periods() -> None:
    six_weeks = MILJOEKLAGE.model_copy(update={"weeks": 6})
    _, body = render_letter(
        LetterKind.decision, three_department_decision(complaint_bodies=[BYGGEKLAGE, six_weeks])
    )
    assert "Klagefristen er 6 uger fra den dag, afgørelsen er meddelt." in body
    assert "Klagefristen er 4 uger fra den dag, afgørelsen er meddelt." in body
    assert "Klag senest onsdag den 24. februar 2027" in body


# ------------------------------------------------------------------ closing


def test_dismissal_warning() -> None:
    subject, body = render_letter(LetterKind.dismissal_warning, facts())
    assert subject == f"Varsel om afvisning af sag {REFERENCE}"
    assert "Brand/beredskab:\n- Brandteknisk dokumentation\n" in body
    assert "Vi afviser sagen fredag den 12. februar 2027, hvis vi ikke har modtaget" in body
    assert "ikke er fuldt oplyst" in body


def test_closed_notice_withdrawn() -> None:
    subject, body = render_letter(LetterKind.closed_notice, facts_for(LetterKind.closed_notice))
    assert subject == f"Sag {REFERENCE} er afsluttet"
    assert f"I har trukket jeres sag {REFERENCE} tilbage" in body
    assert "Klagevejledning" not in body


def test_closed_notice_dismissed_incomplete() -> None:
    _, body = render_letter(
        LetterKind.closed_notice,
        facts(closing_reason=ClosingReason.dismissed_incomplete, complaint_bodies=[BYGGEKLAGE]),
    )
    assert f"Jeres sag {REFERENCE} er afvist, fordi den ikke blev fuldt oplyst" in body
    assert "Vi mangler stadig:\n\nBrand/beredskab:\n- Brandteknisk dokumentation\n" in body
    assert "I har trukket" not in body
    assert "Klagevejledning" in body and "senest onsdag den 24. februar 2027" in body


def test_closed_notice_decided() -> None:
    _, body = render_letter(
        LetterKind.closed_notice,
        facts(closing_reason=ClosingReason.decided, decision_date=DECISION_DATE),
    )
    assert (
        f"Kommunen har truffet afgørelse i jeres sag {REFERENCE} onsdag den 27. januar 2027, "
        "og sagen er nu afsluttet."
    ) in body


def test_survey() -> None:
    subject, body = render_letter(LetterKind.survey, facts_for(LetterKind.survey))
    assert REFERENCE in subject
    assert f"  {SURVEY_URL}\n" in body
    assert "et par minutter" in body
    assert "sagsbehandlingstiden" in body
    for answer in ("meget tilfreds", "tilfreds", "hverken eller", "utilfreds", "meget utilfreds"):
        assert answer in body
    assert "offentliggør" in body and "erhvervsorganisationerne" in body


# ------------------------------------------------------------------ texts


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (date(2026, 12, 4), "fredag den 4. december 2026"),
        (datetime(2026, 12, 1, 23, 59, 59, 999999, tzinfo=CET), "tirsdag den 1. december 2026"),
        # across midnight UTC: 23:30 UTC is 00:30 the next day in Copenhagen (winter)
        (datetime(2026, 11, 24, 23, 30, tzinfo=UTC), "onsdag den 25. november 2026"),
        (datetime(2026, 11, 24, 22, 59, tzinfo=UTC), "tirsdag den 24. november 2026"),
        # summer time (+02:00): 22:30 UTC is already the next day
        (datetime(2026, 6, 14, 22, 30, tzinfo=UTC), "mandag den 15. juni 2026"),
        (datetime(2026, 6, 14, 21, 59, tzinfo=UTC), "søndag den 14. juni 2026"),
        # DST starts Sun 29 Mar 2026 at 01:00 UTC
        (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), "søndag den 29. marts 2026"),
        (datetime(2026, 3, 29, 22, 30, tzinfo=UTC), "mandag den 30. marts 2026"),
        # DST ends Sun 25 Oct 2026 at 01:00 UTC
        (datetime(2026, 10, 24, 22, 30, tzinfo=UTC), "søndag den 25. oktober 2026"),
        (datetime(2026, 10, 25, 22, 30, tzinfo=UTC), "søndag den 25. oktober 2026"),
        (datetime(2026, 10, 25, 23, 30, tzinfo=UTC), "mandag den 26. oktober 2026"),
        # New Year's Eve in UTC is New Year's Day in Copenhagen
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "fredag den 1. januar 2027"),
        (datetime(2027, 5, 1, 8, 0, tzinfo=CPH), "lørdag den 1. maj 2027"),
    ],
)
def test_danish_date(value: date | datetime, text: str) -> None:
    assert danish_date(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2026, 11, 24, 9, 15, tzinfo=CET), "tirsdag den 24. november 2026 kl. 09.15"),
        (datetime(2026, 11, 24, 8, 15, tzinfo=UTC), "tirsdag den 24. november 2026 kl. 09.15"),
        (datetime(2026, 6, 15, 7, 5, tzinfo=UTC), "mandag den 15. juni 2026 kl. 09.05"),
        (datetime(2026, 11, 24, 23, 30, tzinfo=UTC), "onsdag den 25. november 2026 kl. 00.30"),
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "søndag den 29. marts 2026 kl. 01.59"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "søndag den 29. marts 2026 kl. 03.00"),
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "søndag den 25. oktober 2026 kl. 02.30"),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "søndag den 25. oktober 2026 kl. 02.30"),
    ],
)
def test_danish_datetime(value: datetime, text: str) -> None:
    assert danish_datetime(value) == text


@pytest.mark.parametrize(
    ("departments", "text"),
    [
        ([Department.building], "byggeri"),
        ([Department.environment], "miljø"),
        ([Department.fire], "brand/beredskab"),
        ([Department.building, Department.fire], "byggeri og brand/beredskab"),
        ([Department.building, Department.environment], "byggeri og miljø"),
        (
            [Department.building, Department.environment, Department.fire],
            "byggeri, miljø og brand/beredskab",
        ),
    ],
)
def test_department_list(departments: list[Department], text: str) -> None:
    assert department_list_text(departments) == text


def test_every_department_and_case_type_has_a_danish_name() -> None:
    assert set(DEPARTMENT_NAMES) == set(Department)
    assert set(CASE_TYPE_NAMES) == set(CaseType)
    assert set(OUTCOME_NAMES) == set(ReviewOutcome)
    assert set(TOPIC_NAMES) == set(TOPIC_NAMES_DEFINITE) == set(PreDialogueTopic)
    assert set(CLOSING_REASON_NAMES) == set(ClosingReason)
    names = [
        *DEPARTMENT_NAMES.values(),
        *CASE_TYPE_NAMES.values(),
        *OUTCOME_NAMES.values(),
        *TOPIC_NAMES.values(),
        *TOPIC_NAMES_DEFINITE.values(),
        *CLOSING_REASON_NAMES.values(),
    ]
    for name in names:
        assert name and name == name.strip()
        assert_clean(name)


# ------------------------------------------------------------------ guidance


def test_every_department_has_guidance() -> None:
    assert set(GUIDANCE) == set(Department)
    for links in GUIDANCE.values():
        assert links
        for g in links:
            assert g.url.startswith("https://")
            assert g.title


@pytest.mark.parametrize(
    "departments",
    [
        [Department.building],
        [Department.environment],
        [Department.fire],
        [Department.fire, Department.building],
        [Department.building, Department.environment, Department.fire],
    ],
)
def test_guidance_for(departments: list[Department]) -> None:
    links = guidance_for(departments)
    assert links[-1] == SUSTAINABILITY
    expected = [g for d in Department if d in departments for g in GUIDANCE[d]]
    assert links[:-1] == expected
    assert len({g.url for g in links}) == len(links)


# ------------------------------------------------------------------ counts, address, reasons


@pytest.mark.parametrize(
    ("n", "one", "many", "text"),
    [
        (1, "vilkår", "vilkår", "1 vilkår"),
        (3, "vilkår", "vilkår", "3 vilkår"),
        (1, "hverdag", "hverdage", "1 hverdag"),
        (2, "hverdag", "hverdage", "2 hverdage"),
        (0, "dag", "dage", "0 dage"),
        (1, "dag", "dage", "1 dag"),
        (21, "dag", "dage", "21 dage"),
        (1, "uge", "uger", "1 uge"),
        (4, "uge", "uger", "4 uger"),
    ],
)
def test_plural(n: int, one: str, many: str, text: str) -> None:
    assert plural(n, one, many) == text
    assert noun(n, one, many) == text.split(" ", 1)[1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Klag via Klageportalen, som du finder på borger.dk.", "som I finder på borger.dk."),
        ("Du kan klage over din afgørelse.", "I kan klage over jeres afgørelse."),
        ("Vi sender den til dig med dine bilag.", "Vi sender den til jer med jeres bilag."),
        ("Dusør og dinosaur er ikke pronominer.", "Dusør og dinosaur er ikke pronominer."),
    ],
)
def test_to_company(text: str, expected: str) -> None:
    assert expected in to_company(text)


def test_reasons_are_whole_sentences_without_a_label() -> None:
    """The letter shows a reason after 'Årsag: ': the reason itself carries no colon."""
    texts = [
        reasons.material_complete(date(2026, 12, 1), 50),
        reasons.material_complete(date(2026, 12, 1), 1),
        reasons.waited_for_material(1),
        reasons.waited_for_material(7),
        reasons.more_time(Department.fire, "vi afventer en brandteknisk vurdering"),
        reasons.more_time(Department.fire, "Vi afventer en brandteknisk vurdering.", 1),
        reasons.more_time(Department.environment, "Støjen skal beregnes igen.", 5),
        reasons.project_change("Hallen flyttes 20 meter mod nord."),
        reasons.case_closed(),
    ]
    for text in texts:
        assert ":" not in text, text
        assert text[0].isupper() and text.endswith("."), text
    assert "på 50 kalenderdage" in texts[0] and "på 1 kalenderdag " in texts[1]
    assert "ventet 1 dag på" in texts[2] and "ventet 7 dage på" in texts[3]
    assert texts[4] == (
        "Fagområdet brand/beredskab har brug for mere tid til sin faglige vurdering. "
        "Vi afventer en brandteknisk vurdering."
    )
    assert "har brug for 1 hverdag mere" in texts[5]
    assert "har brug for 5 hverdage mere" in texts[6]
    assert texts[7] == (
        "I har meddelt en ændring af projektet (»Hallen flyttes 20 meter mod nord«), og de "
        "berørte fagområder skal derfor vurdere projektet igen."
    )


@pytest.mark.parametrize(
    ("legacy", "expected"),
    [
        (
            "Fagområdet brand/beredskab har brug for mere tid: Vi afventer svar.",
            (
                "Fagområdet brand/beredskab har brug for mere tid til sin faglige vurdering. "
                "Vi afventer svar."
            ),
        ),
        (
            "I har meddelt en ændring af projektet: Hallen flyttes.",
            (
                "I har meddelt en ændring af projektet (»Hallen flyttes«), og de berørte "
                "fagområder skal derfor vurdere projektet igen."
            ),
        ),
        ("Sagsbehandleren er syg.", "Sagsbehandleren er syg."),
    ],
)
def test_reasons_from_earlier_versions_read_right(legacy: str, expected: str) -> None:
    assert reasons.as_sentences(legacy) == expected
    _, body = render_letter(LetterKind.date_changed, facts(change_reason=legacy))
    assert f"Årsag: {expected}\n" in body


def test_date_change_past_the_wished_date() -> None:
    _, body = render_letter(
        LetterKind.date_changed,
        facts(
            previous_agreed_date=date(2027, 1, 22),
            agreed_date=date(2027, 1, 29),
            wished_decision_date=date(2027, 1, 25),
        ),
    )
    assert (
        "Den nye dato ligger efter mandag den 25. januar 2027, som I har ønsket en afgørelse "
        "senest. Det betyder, at vi desværre ikke længere kan nå jeres ønskede dato."
    ) in body


def test_date_change_without_a_wish_says_nothing_about_one() -> None:
    _, body = render_letter(LetterKind.date_changed, facts())
    assert "ønsket" not in body


@pytest.mark.parametrize("reason", list(ClosingReason))
def test_meeting_cancelled_at_closing(reason: ClosingReason) -> None:
    decided = {"decision_date": DECISION_DATE} if reason == ClosingReason.decided else {}
    _, body = render_letter(
        LetterKind.pre_dialogue_cancelled,
        facts(closing_reason=reason, cancel_reason=reasons.case_closed(), **decided),
    )
    assert "er aflyst, fordi sagen er afsluttet." in body
    assert "mødet er derfor ikke længere nødvendigt" in body
    for invitation in ("bede om en ny", "Ønsker I stadig", "indtil afgørelsen", "Forventet"):
        assert invitation not in body


def test_meeting_cancelled_while_open_invites_a_new_one() -> None:
    _, body = render_letter(LetterKind.pre_dialogue_cancelled, facts())
    assert (
        "Forhåndsdialogen i jeres sag BYG-2026-00123, som var aftalt til onsdag den 9. december "
        "2026 kl. 13.30, er aflyst.\n"
    ) in body
    assert "Ønsker I stadig en forhåndsdialog, kan I bede om en ny" in body


def test_reassignment_takes_over_rather_than_continues() -> None:
    _, body = render_letter(LetterKind.reassignment, facts())
    assert "Jørgen Hald Andersen overtager sagen" in body
    assert "fortsat" not in body


def test_one_department_letters_do_not_coordinate_across_one() -> None:
    one = {"departments": (Department.building,), "missing_material": [DRAWINGS]}
    for kind in (LetterKind.receipt, LetterKind.contact_letter, LetterKind.reassignment):
        _, body = render_letter(kind, facts(**one))
        assert "på tværs af" not in body
    _, body = render_letter(LetterKind.contact_letter, facts(**one))
    assert "mangler vi:\n- Plan- og facadetegninger\n" in body  # no department heading
    approved = review(Department.building, ReviewOutcome.approved_with_conditions, "OK.", ("A.",))
    _, body = render_letter(
        LetterKind.decision,
        facts_for(LetterKind.decision, reviews=[approved], complaint_bodies=[BYGGEKLAGE], **one),
    )
    assert "Fagområdets vurdering\n" in body
    assert "på det vilkår, der står under fagområdets vurdering nedenfor. Vilkåret skal" in body

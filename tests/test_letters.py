"""Tests for the letters: mail/render.py, the Danish texts (domain/texts.py) and the guidance
links (domain/guidance.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from jinja2.exceptions import UndefinedError

from domain.guidance import GUIDANCE, SUSTAINABILITY, guidance_for
from domain.texts import CASE_TYPE_NAMES, DEPARTMENT_NAMES, danish_date, danish_datetime
from domain.texts import department_list as department_list_text
from mail.render import render_letter
from schemas.case import Caseworker
from schemas.intake import CaseType, Department
from schemas.letters import LetterFacts, LetterKind

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
    }
    values.update(changes)
    return LetterFacts(**values)


def assert_clean(text: str) -> None:
    """No mojibake, no replacement characters, no unrendered Jinja."""
    for bad in ("Ã", "Â", "\ufffd", "{{", "}}", "{%", "%}", "{#", "Undefined", "None"):
        assert bad not in text, f"{bad!r} in {text!r}"


# ------------------------------------------------------------------ every letter


@pytest.mark.parametrize("kind", list(LetterKind))
def test_every_letter_renders(kind: LetterKind) -> None:
    subject, body = render_letter(kind, facts())
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
    subject, body = render_letter(kind, facts(case_type=case_type))
    assert_clean(subject + body)


def test_each_kind_has_its_own_subject() -> None:
    subjects = {render_letter(kind, facts())[0] for kind in LetterKind}
    assert len(subjects) == len(LetterKind)


# ------------------------------------------------------------------ receipt


def test_receipt() -> None:
    subject, body = render_letter(LetterKind.receipt, facts())
    assert subject == f"Kvittering for din sag {REFERENCE} – industri- og lagerbygning"
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
    assert "Fagområder: miljø\n" in body
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
    assert subject == f"Din procesansvarlige sagsbehandler i sag {REFERENCE}"
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
    for name in [*DEPARTMENT_NAMES.values(), *CASE_TYPE_NAMES.values()]:
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

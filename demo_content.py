"""What the demo's month is made of (see demo.py): one script per case, derived only from
(seed, index, the day), so a second run plans exactly the same cases. Companies, contact
persons, projects, reviews and survey answers are invented but plausible; CVR numbers pass
the modulus-11 check; industry codes are real DB07 codes. No rule of the product is copied
here: what the case needs next is read from its state by demo.py.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from domain.texts import COPENHAGEN

# (case type, departments, weight): the municipality's mix, building cases the most.
CASE_TYPES = (
    ("single_family_house", ["building"], 20),
    ("simple_construction", ["building"], 14),
    ("industry_warehouse", ["building", "fire"], 11),
    ("commercial_multistorey", ["building", "fire"], 8),
    ("residential_multistorey", ["building", "fire"], 7),
    ("environmental_approval_minor", ["environment"], 11),
    ("environmental_approval_large", ["building", "environment", "fire"], 6),
    ("fire_safety", ["fire"], 8),
    ("industry_warehouse", ["building", "environment"], 5),
    ("fire_safety", ["building", "fire"], 5),
)
# (DB07 code, words for the company's name, fitting case types or () for any)
INDUSTRIES = (
    ("412000", "Byg", ()),
    ("433200", "Tømrer", ("single_family_house", "simple_construction")),
    ("432100", "El-installation", ()),
    ("251100", "Stålkonstruktioner", ("industry_warehouse",)),
    ("101100", "Slagteri", ("environmental_approval_large", "environmental_approval_minor")),
    ("107100", "Bageri", ("environmental_approval_minor", "fire_safety")),
    ("011100", "Landbrug", ("environmental_approval_minor", "environmental_approval_large")),
    ("471100", "Købmand", ("commercial_multistorey", "fire_safety")),
    ("561010", "Restaurant", ("fire_safety", "commercial_multistorey")),
    ("521000", "Lager og Logistik", ("industry_warehouse",)),
    ("494100", "Vognmand", ("industry_warehouse", "environmental_approval_minor")),
    ("682040", "Ejendomme", ("residential_multistorey", "commercial_multistorey")),
    ("620100", "Software", ("commercial_multistorey",)),
    ("452010", "Autoværksted", ("environmental_approval_minor", "simple_construction")),
)
PLACES = (
    "Nørresundby",
    "Vejgaard",
    "Hasseris",
    "Svenstrup",
    "Nibe",
    "Gistrup",
    "Vodskov",
    "Klarup",
    "Storvorde",
    "Hals",
    "Aalborg Øst",
    "Vadum",
)
FORMS = ("ApS", "A/S", "I/S", "ApS", "A/S")
FIRST = (
    "Mette",
    "Lars",
    "Anne",
    "Søren",
    "Kirsten",
    "Jens",
    "Hanne",
    "Peter",
    "Louise",
    "Mads",
    "Camilla",
    "Rasmus",
    "Birgitte",
    "Henrik",
    "Signe",
    "Thomas",
    "Ida",
    "Ole",
)
LAST = (
    "Nielsen",
    "Jensen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Madsen",
    "Kristensen",
    "Østergaard",
    "Bæk",
)
PROJECTS = {
    "single_family_house": "Nyt parcelhus på 160 m² i ét plan med carport og redskabsrum.",
    "simple_construction": "Tilbygning på 35 m² og en ny garage i skel mod naboen.",
    "industry_warehouse": "Ny lagerhal på 2.400 m² med kontor og læsseramper.",
    "commercial_multistorey": "Erhvervsbyggeri i fire etager med butik i stueetagen.",
    "residential_multistorey": "Etageboligbyggeri med 24 lejligheder og parkeringskælder.",
    "environmental_approval_minor": "Udvidelse af produktionen med et nyt vaskeanlæg.",
    "environmental_approval_large": "Ny produktionslinje med øget spildevand og ny skorsten.",
    "fire_safety": "Ændret indretning af lokaler til flere personer og nye flugtveje.",
}
REVIEW_TEXTS = {
    "building": "Projektet overholder bygningsreglementet (BR18) og lokalplanen.",
    "environment": "Virksomhedens drift kan ske inden for de fastsatte vilkår.",
    "fire": "Brandstrategien og flugtvejene er i orden.",
}
CONDITIONS = {
    "building": "Der skal indsendes færdigmelding senest 14 dage efter ibrugtagning.",
    "environment": "Støjen må ikke overstige 45 dB(A) ved nærmeste nabo om natten.",
    "fire": "Sprinkleranlægget skal være installeret før ibrugtagning.",
}
LATE_REASONS = (
    "Vi afventer en udtalelse fra en ekstern rådgiver.",
    "Sagen kræver en besigtigelse, som først kan finde sted i næste uge.",
    "Afdelingen har mange sager lige nu og har brug for lidt mere tid.",
)
WITHDRAW_REASONS = ("Projektet er udskudt.", "Vi har valgt en anden løsning.", "")
PRAISE = (
    "Hurtig og venlig behandling. Det var rart med én kontaktperson.",
    "God vejledning om, hvilket materiale vi skulle sende.",
    "Forhåndsdialogen gjorde det meget lettere for os.",
    "Tak for en smidig proces på tværs af afdelingerne.",
)
CRITICISM = (
    "Det tog for lang tid, før vi hørte fra jer første gang.",
    "Svært at finde ud af, hvilke tegninger der manglede.",
    "Sagsbehandlingstiden blev forlænget, og vi forstod ikke helt hvorfor.",
    "Vi savnede at blive ringet op, da der manglede materiale.",
)
# The five-point scale, 5 meget tilfreds .. 1 meget utilfreds, 0 "ved ikke".
SCALE_GOOD = {5: 50, 4: 38, 3: 6, 2: 3, 1: 1, 0: 2}
SCALE_TIME = {5: 30, 4: 44, 3: 12, 2: 8, 1: 3, 0: 3}
QUESTIONS = ("overall", "processing_time", "process", "guidance", "coordination", "pre_dialogue")


@dataclass
class CaseScript:
    seed: int
    index: int
    reference: str
    intake: dict
    fate: str  # unassigned | material | review | withdrawn | decided
    coordinator: str
    address: str  # the company's own address (X-Forwarded-For), TEST-NET ranges only
    split_material: bool = False
    level_change: int | None = None
    nbe_accepts: bool = False
    meeting: str | None = None  # held | booked
    meeting_at: datetime | None = None
    project_change: dict | None = None
    late: dict[str, dict] = field(default_factory=dict)
    reviews: dict[str, dict] = field(default_factory=dict)
    grounds: str = "Projektet overholder de relevante regler."
    withdraw_reason: str = ""
    answers: bool = False
    scores: dict[str, int] = field(default_factory=dict)
    comment: str | None = None


def pick(rng: random.Random, weighted: dict):
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def cvr_number(rng: random.Random) -> str:
    """8 digits, not starting with 0, weighted sum (2-7-6-5-4-3-2-1) divisible by 11."""
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(6)]
        check = -sum(d * w for d, w in zip(digits, (2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
        if check < 10:
            return "".join(map(str, [*digits, check]))


def ascii_of(text: str) -> str:
    table = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "é": "e", " ": "-", "/": ""})
    return text.lower().translate(table)


def received_at(today: date, rng: random.Random) -> str:
    """A weekday in the last six weeks (half of them in the last week), in working hours; never
    today, so never in the future, and the same all day (a second run sends the same body)."""
    days_ago = rng.randint(1, 6) if rng.random() < 0.5 else rng.randint(7, 42)
    day = today - timedelta(days=days_ago)
    day -= timedelta(days=max(0, day.weekday() - 4))  # Saturday, Sunday -> Friday
    at = datetime(day.year, day.month, day.day, 7, 30, tzinfo=COPENHAGEN)
    return (at + timedelta(minutes=5 * rng.randint(0, 108))).isoformat()


def meeting_time(today: date, rng: random.Random) -> datetime:
    day = today + timedelta(days=rng.randint(2, 9))
    day += timedelta(days=max(0, 7 - day.weekday()) if day.weekday() > 4 else 0)
    return datetime(day.year, day.month, day.day, rng.choice((9, 10, 13)), tzinfo=COPENHAGEN)


def plan_case(
    seed: int, index: int, today: date, directory: list[dict], industry: bool = True
) -> CaseScript:
    """The script of case *index*: the same for the same seed, index and day."""
    rng = random.Random(f"erhvervssag-demo:{seed}:{index}")
    case_type, departments, _ = rng.choices(CASE_TYPES, weights=[c[2] for c in CASE_TYPES])[0]
    fitting = [i for i in INDUSTRIES if not i[2] or case_type in i[2]]
    code, trade, _ = rng.choice(fitting)
    first, last, place = rng.choice(FIRST), rng.choice(LAST), rng.choice(PLACES)
    company = (
        f"{place} {trade} {rng.choice(FORMS)}"
        if rng.random() < 0.6
        else (f"{last}s {trade} {rng.choice(FORMS)}")
    )
    reference = f"DEMO-{seed}-{index:04d}"
    intake = {
        "reference": reference,
        "case_type": case_type,
        "departments": departments,
        "company": {"cvr": cvr_number(rng), "name": company},
        "contact": {
            "name": f"{first} {last}",
            "email": f"{ascii_of(first)}.{ascii_of(last)}@{ascii_of(company)[:40].strip('-')}.example",
            "phone": str(rng.randint(20000000, 99999999)),
        },
        "project_description": PROJECTS[case_type],
        "received_at": received_at(today, rng),
        "pre_dialogue_wished": rng.random() < 0.15,
    }
    level = pick(rng, {1: 55, 2: 25, 3: 12, None: 8})
    if level is not None:
        intake["sustainability_level"] = level
    if industry and rng.random() < 0.92:
        intake["industry_code"] = code
    if rng.random() < 0.2:
        wished = date.fromisoformat(intake["received_at"][:10]) + timedelta(rng.randint(30, 90))
        intake["wished_decision_date"] = wished.isoformat()
    coordinators = [p["id"] for p in directory if departments[0] in p["departments"]]
    fate = pick(rng, {"unassigned": 5, "material": 6, "review": 6, "withdrawn": 6, "decided": 77})
    script = CaseScript(
        seed=seed,
        index=index,
        reference=reference,
        intake=intake,
        fate=fate,
        coordinator=rng.choice(coordinators),
        address=f"203.0.113.{index % 250 + 1}" if index % 2 else f"198.51.100.{index % 250 + 1}",
        split_material=rng.random() < 0.35,
        level_change=2 if level == 1 and rng.random() < 0.08 else None,
        nbe_accepts=rng.random() < 0.4,
        withdraw_reason=rng.choice(WITHDRAW_REASONS),
    )
    if intake["pre_dialogue_wished"]:
        script.meeting = "held" if rng.random() < 0.7 else "booked"
        script.meeting_at = meeting_time(today, rng)
    if rng.random() < 0.06:
        script.project_change = {
            "description": "Bygningen bliver 2 meter højere end først ansøgt.",
            "departments": departments[:1],
        }
    for department in departments:
        outcome = pick(rng, {"approved": 70, "approved_with_conditions": 26, "refused": 4})
        review = {"outcome": outcome, "text": REVIEW_TEXTS[department]}
        if outcome == "approved_with_conditions":
            review["conditions"] = [CONDITIONS[department]]
        script.reviews[department] = review
        if rng.random() < 0.12:
            script.late[department] = {
                "working_days": rng.randint(3, 10),
                "reason": rng.choice(LATE_REASONS),
            }
    # Answers: about 60 % of the closed cases; a late contact or department lowers the scores.
    script.answers = rng.random() < 0.6
    slow = int(intake["received_at"][:10] < (today - timedelta(days=8)).isoformat()) + bool(
        script.late
    )
    for question in QUESTIONS:
        score = pick(rng, SCALE_TIME if question == "processing_time" else SCALE_GOOD)
        if score and slow and rng.random() < 0.25 * slow:
            score = max(1, score - 1)
        script.scores[question] = score
    if rng.random() < 0.3:
        good = script.scores["overall"] >= 4
        script.comment = rng.choice(PRAISE if good else CRITICISM)
    return script


def survey_choice(script: CaseScript, field_name: str) -> int:
    """The score this applicant gives the question the form names *field_name*."""
    name = field_name.lower()
    for words, question in (
        (("time", "tid"), "processing_time"),
        (("pre", "dialog"), "pre_dialogue"),
        (("coord", "koord"), "coordination"),
        (("guid", "vejled", "material"), "guidance"),
        (("process", "forl"), "process"),
    ):
        if any(w in name for w in words):
            return script.scores[question]
    return script.scores["overall"]

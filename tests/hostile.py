"""Hypothesis strategies for hostile input to the contracts: the intake document and every
update an officer or a company sends to a running case.

Each strategy starts from a valid document and changes ONE thing: a NUL or another control
character injected into a string, a huge string, a number where a date is due, a year like 1
or 9999, a wrong type, an unknown field, an empty or duplicated list, a missing field. Some
changes are harmless on purpose (emoji, combining marks, right-to-left letters, a time in
UTC): the contracts must accept those.

Reuse them to fire at anything that takes these documents, e.g. a running workflow::

    from hypothesis import given
    from tests.hostile import hostile_intake_documents, hostile_update_payloads

    @given(hostile_update_payloads())
    def test_updates(model_and_payload):
        model_name, payload = model_and_payload   # e.g. ("ReportMaterial", {"codes": [...]})

``hostile_intake_cases()`` / ``hostile_update_cases()`` give the same as ``Hostile`` records
that also say which field was changed, how, and with what value (to check that an error
message does not repeat it).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.conftest import make_intake

# ----------------------------------------------------------------- valid bases

# The personal data of the base intake: no error message may ever contain these.
PERSONAL_DATA = ("Søren Ærø Østergård", "soeren@nordjysk-staal.dk", "98123456")


def base_intake() -> dict[str, Any]:
    """The intake document of tests/conftest.make_intake, as JSON-ready data."""
    data = make_intake().model_dump(mode="json")
    del data["wished_decision_date"]  # optional; added by some mutations
    data["company"].pop("p_number")
    return data


# One valid payload per update model (schemas/life.py), plus AssignCaseworker's raw dict.
BASE_UPDATES: dict[str, list[dict[str, Any]]] = {
    "AssignCaseworker": [{"caseworker_id": "mkj"}, {"caseworker_id": "abr", "replacing": "mkj"}],
    "ReportMaterial": [{"codes": ["building.situation_plan", "fire.escape_route_plan"]}],
    "ProjectChange": [
        {
            "description": "Større hal, nu med mellemetage",
            "departments": ["building", "fire"],
            "new_material": ["building.situation_plan"],
        }
    ],
    "RequestPreDialogue": [{"topic": "sustainability", "note": "Vi vil tale om genbrug."}],
    "BookPreDialogue": [
        {"topic": "general", "at": "2027-03-30T10:00:00+02:00", "place": "Rådhuset"},
        {"at": "2027-04-02T08:00:00Z", "video_link": "https://meet.kommune.example/byg-1"},
    ],
    "CancelPreDialogue": [{"topic": "general", "reason": "Sagsbehandleren er syg."}],
    "PreDialogueHeld": [{"topic": "general"}],
    "ChangeSustainabilityLevel": [{"level": 3}],
    "AnswerNbeOffer": [{"accepted": True}],
    "SubmitReview": [
        {
            "outcome": "approved_with_conditions",
            "text": "Byggeriet overholder BR18.\nSe dog vilkår.",
            "conditions": ["Sprinkleranlæg efter DBI 254.", "Flugtveje holdes frie."],
        },
        {"outcome": "approved", "text": "Byggeriet overholder BR18."},
    ],
    "RequestMoreTime": [{"working_days": 5, "reason": "Vi afventer en brandteknisk vurdering."}],
    "IssueDecision": [{"grounds": "Projektet overholder reglerne.\n\tSe bilag."}],
    "Withdraw": [{"reason": "Projektet er opgivet."}, {}],
    "Dismiss": [{"reason": "Materialet kom ikke trods påmindelse."}],
    "ReviewTarget": [{"department": "fire"}],
}

# Fields whose text may hold tab, LF and CR (all others are one line).
FREE_TEXT_FIELDS = frozenset(
    {"project_description", "description", "note", "text", "conditions", "reason", "grounds"}
)
DATE_FIELDS = frozenset({"received_at", "wished_decision_date", "at"})
OPTIONAL_FIELDS: dict[str, dict[str, Any]] = {
    "CaseIntake": {"wished_decision_date": "2027-06-01", "pre_dialogue_wished": True},
    "BookPreDialogue": {"video_link": "https://meet.kommune.example/x"},
}


@dataclass(frozen=True)
class Hostile:
    """One hostile document: *model* it is meant for, the *document*, and what was changed."""

    model: str
    document: dict[str, Any]
    path: tuple[str | int, ...]
    kind: str
    value: Any = None

    def __repr__(self) -> str:  # short, for hypothesis' falsifying example
        shown = repr(self.value)
        shown = shown if len(shown) < 80 else shown[:77] + "..."
        return f"Hostile({self.model}, {'.'.join(map(str, self.path))}, {self.kind}, {shown})"


# ------------------------------------------------------------------ the values

NUL = "\x00"
# Every C0 and C1 control, DEL, the line/paragraph separators, the bidi controls.
CONTROL_CHARS = (
    [chr(c) for c in range(0x20)]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u2028", "\u2029", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e"]
    + ["\u2066", "\u2067", "\u2068", "\u2069"]
)
LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
# Text that is fine: emoji (with ZWJ and skin tone), combining marks, other scripts.
FINE_TEXT = [
    "👩‍👩‍👧",
    "👍🏽",
    "e\u0301",
    "Ærø Å",
    "Zoë",
    "Ǆ",
    "מרים",
    "مريم",
    "李小龍",
    "\u200d",
    "ﬃ",
    "ß",
]
HUGE_SIZES = [201, 301, 1001, 5001, 100_000]
WRONG_TYPES = [None, 0, -1, 1.5, True, [], {}, ["x"], {"a": 1}, [[[]]]]
DATE_NUMBERS: list[Any] = [
    1_700_000_000,
    -1,
    0,
    10**20,
    1.7e9,
    "1700000000",
    "20270301",
    "1700000000.5",
    "0",
    "-62135596800",
]
EXTREME_TIMES = [
    "0001-01-01T00:00:00+00:00",
    "1999-12-31T23:59:59+00:00",
    "2100-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59.999999-23:59",
    "2000-01-01T00:00:00+14:00",
    "2099-12-31T23:59:59-12:00",
    "+10000-01-01T00:00:00+00:00",
    "2027-02-29T10:00:00+01:00",
    "2027-03-23T24:00:00+01:00",
    "2027-03-23T10:00:00",
    "2027-03-23",
    "2027-03-23T10:00:00+01:00\n",
    "2027-03-23T10:00:00Z",
    "2027-03-23t10:00:00z",
    "2027-03-23 10:00+01:00",
    "2027-03-23T10:00:00.123456789+01:00",
    "yesterday",
    "",
]
EXTREME_DATES = [
    "0001-01-01",
    "1970-01-01",
    "1999-12-31",
    "2027-03-22",
    "2027-03-23",
    "2032-03-23",
    "2032-03-24",
    "2100-01-01",
    "9999-12-31",
    "2027-02-29",
    "27-03-2027",
    "2027-03-23T00:00:00+00:00",
    "",
]
HOSTILE_KEYS = [
    "urgent",
    "__class__",
    "model_config",
    "Reference",
    "reference ",
    "ema\x00il",
    "x" * 500,
    "soeren@nordjysk-staal.dk",
    "",
    "💥",
]


def _inject(original: str, char: str, where: int) -> str:
    where = where % (len(original) + 1)
    return original[:where] + char + original[where:]


def string_mutations(original: str) -> st.SearchStrategy[tuple[str, Any]]:
    """(kind, value) for one string field."""
    position = st.integers(min_value=0, max_value=max(len(original), 1))
    return st.one_of(
        position.map(lambda i: ("nul", _inject(original, NUL, i))),
        st.tuples(st.sampled_from(CONTROL_CHARS), position).map(
            lambda c: ("control", _inject(original, c[0], c[1]))
        ),
        st.tuples(st.sampled_from(LONE_SURROGATES), position).map(
            lambda c: ("surrogate", _inject(original, c[0], c[1]))
        ),
        st.tuples(st.sampled_from(["x", "ø", "👍", "\x00", " "]), st.sampled_from(HUGE_SIZES)).map(
            lambda c: ("huge", c[0] * c[1])
        ),
        st.tuples(st.sampled_from(FINE_TEXT), position).map(
            lambda c: ("fine_unicode", _inject(original, c[0], c[1]))
        ),
        st.sampled_from(["", " ", "\t", "\n\n", " \u3000 "]).map(lambda v: ("blank", v)),
        st.sampled_from([original.upper(), f"  {original}  ", original.lower()]).map(
            lambda v: ("case_or_space", v)
        ),
        st.text(max_size=30).map(lambda v: ("random_text", v)),
    )


def date_mutations(field: str) -> st.SearchStrategy[tuple[str, Any]]:
    extremes = EXTREME_DATES if field == "wished_decision_date" else EXTREME_TIMES
    return st.one_of(
        st.sampled_from(DATE_NUMBERS).map(lambda v: ("number_for_date", v)),
        st.sampled_from(extremes).map(lambda v: ("extreme_date", v)),
        st.datetimes().map(lambda v: ("naive_datetime_string", v.isoformat())),
    )


def list_mutations(original: list[Any]) -> st.SearchStrategy[tuple[str, Any]]:
    options: list[tuple[str, Any]] = [
        ("empty_list", []),
        ("duplicated", original + original[:1]),
        ("nested_list", [original]),
        ("none_items", [None]),
        ("number_items", [1, 2]),
        ("huge_list", (original * 400)[:1000] or ["x"] * 1000),
    ]
    if original and isinstance(original[0], str):
        options.append(("wrong_case", [v.upper() for v in original]))
        options.append(("string_not_list", original[0]))
    return st.sampled_from(options)


def _leaves(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path into *value*: objects, lists and their items."""
    paths = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            paths += _leaves(item, (*path, i))
    return paths


def _get(doc: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _set(doc: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    target: Any = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return doc


def _remove(doc: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    target: Any = doc
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return doc


def _field_name(path: tuple[str | int, ...]) -> str:
    names = [p for p in path if isinstance(p, str)]
    return names[-1] if names else ""


def _mutations_at(model: str, base: dict[str, Any], path: tuple[str | int, ...]):
    original = _get(base, path)
    name = _field_name(path)
    changes: list[st.SearchStrategy[tuple[str, Any]]] = [
        st.sampled_from(WRONG_TYPES).map(lambda v: ("wrong_type", v))
    ]
    if name in DATE_FIELDS and not isinstance(path[-1], int):
        changes.append(date_mutations(name))
    elif isinstance(original, str):
        changes.append(string_mutations(original))
    elif isinstance(original, list):
        changes.append(list_mutations(original))
    elif isinstance(original, dict):
        changes.append(
            st.tuples(st.sampled_from(HOSTILE_KEYS), st.sampled_from(["x", 1, None])).map(
                lambda kv: ("unknown_field", {**original, kv[0]: kv[1]})
            )
        )
    elif isinstance(original, bool):
        changes.append(st.sampled_from(["true", 1, "yes"]).map(lambda v: ("bool_as_other", v)))
    elif isinstance(original, int):
        changes.append(
            st.one_of(
                st.integers(min_value=-(2**70), max_value=2**70),
                st.sampled_from([str(original), float(original), original + 0.5]),
            ).map(lambda v: ("number", v))
        )
    removal = (
        [st.just(("missing", None))] if not isinstance(path[-1], int) and len(path) >= 1 else []
    )

    def build(change: tuple[str, Any]) -> Hostile:
        kind, value = change
        if kind == "missing":
            return Hostile(model, _remove(base, path), path, kind)
        if kind == "unknown_field":  # record the key that was added
            (key,) = set(value) - set(original)
            return Hostile(model, _set(base, path, value), (*path, key), kind, key)
        return Hostile(model, _set(base, path, value), path, kind, value)

    return st.one_of(*changes, *removal).map(build)


def _document_mutations(model: str, base: dict[str, Any]) -> st.SearchStrategy[Hostile]:
    """Changes to the document as a whole: unknown fields, optional fields with odd values."""
    unknown = st.tuples(
        st.sampled_from(HOSTILE_KEYS), st.sampled_from(["x", 1, None, "\x00", "x" * 10_000])
    ).map(lambda kv: Hostile(model, {**base, kv[0]: kv[1]}, (kv[0],), "unknown_field", kv[0]))
    options = [unknown]
    for field, valid in OPTIONAL_FIELDS.get(model, {}).items():
        options.append(st.just(Hostile(model, {**base, field: valid}, (field,), "optional_valid")))
        base_with = {**base, field: valid}
        options.append(_mutations_at(model, base_with, (field,)))
    return st.one_of(*options)


def _cases_for(model: str, base: dict[str, Any]) -> st.SearchStrategy[Hostile]:
    paths = _leaves(base)
    field_changes = (
        st.sampled_from(paths).flatmap(lambda p: _mutations_at(model, base, p))
        if paths
        else st.nothing()
    )
    return st.one_of(
        field_changes,  # three times: most examples change one field
        field_changes,
        field_changes,
        _document_mutations(model, base),
        st.just(Hostile(model, copy.deepcopy(base), (), "unchanged")),
    )


# ------------------------------------------------------------------ the exports


def hostile_intake_cases() -> st.SearchStrategy[Hostile]:
    """Hostile variants of the intake document (one change each), as ``Hostile`` records."""
    return _cases_for("CaseIntake", base_intake())


def hostile_intake_documents() -> st.SearchStrategy[dict[str, Any]]:
    """Hostile variants of the intake document (one change each), as JSON-ready dicts."""
    return hostile_intake_cases().map(lambda case: case.document)


def hostile_update_cases() -> st.SearchStrategy[Hostile]:
    """Hostile variants of every update payload, as ``Hostile`` records."""
    return st.one_of(
        *(_cases_for(model, base) for model, bases in BASE_UPDATES.items() for base in bases)
    )


def hostile_update_payloads() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """(model name, payload dict) for every update model in schemas/life.py and
    AssignCaseworker (schemas/case.py), one hostile change each."""
    return hostile_update_cases().map(lambda case: (case.model, case.document))


# ------------------------------------------------------- every finite change, without hypothesis


def _finite_changes(name: str, original: Any, is_item: bool) -> list[tuple[str, Any]]:
    """Every listed (kind, value) change for one field: the catalogue behind the strategies."""
    changes: list[tuple[str, Any]] = [("wrong_type", v) for v in WRONG_TYPES]
    if name in DATE_FIELDS and not is_item:
        numbers = [("number_for_date", v) for v in DATE_NUMBERS]
        extremes = EXTREME_DATES if name == "wished_decision_date" else EXTREME_TIMES
        return changes + numbers + [("extreme_date", v) for v in extremes]
    if isinstance(original, str):
        middle = len(original) // 2
        for where in (0, middle, len(original)):
            changes.append(("nul", _inject(original, NUL, where)))
        changes += [("control", _inject(original, c, middle)) for c in CONTROL_CHARS]
        changes += [("surrogate", _inject(original, c, middle)) for c in LONE_SURROGATES]
        changes += [("fine_unicode", _inject(original, t, middle)) for t in FINE_TEXT]
        changes += [("huge", c * n) for c in ("x", "\x00") for n in HUGE_SIZES]
        changes += [("blank", v) for v in ("", " ", "\t", "\n\n")]
        changes += [("case_or_space", v) for v in (original.upper(), f"  {original}  ")]
    elif isinstance(original, list):
        changes += [
            ("empty_list", []),
            ("duplicated", original + original[:1]),
            ("nested_list", [original]),
            ("none_items", [None]),
        ]
        if original and isinstance(original[0], str):
            changes.append(("wrong_case", [v.upper() for v in original]))
    elif isinstance(original, dict):
        changes += [("unknown_field", {**original, key: "x"}) for key in HOSTILE_KEYS]
    return changes


def all_hostile_cases() -> list[Hostile]:
    """Every catalogued change to every field of every base document (a few thousand):
    deterministic, complete coverage of the lists above, for a plain loop or ``parametrize``."""
    bases = [("CaseIntake", base_intake())]
    bases += [(model, base) for model, items in BASE_UPDATES.items() for base in items]
    cases: list[Hostile] = []
    for model, base in bases:
        for key in HOSTILE_KEYS:
            cases.append(Hostile(model, {**base, key: "x"}, (key,), "unknown_field", key))
        for field, valid in OPTIONAL_FIELDS.get(model, {}).items():
            base = {**base, field: valid}
        for path in _leaves(base):
            original = _get(base, path)
            name = _field_name(path)
            for kind, value in _finite_changes(name, original, isinstance(path[-1], int)):
                if kind == "unknown_field":
                    (key,) = set(value) - set(original)
                    cases.append(Hostile(model, _set(base, path, value), (*path, key), kind, key))
                else:
                    cases.append(Hostile(model, _set(base, path, value), path, kind, value))
            if not isinstance(path[-1], int):
                cases.append(Hostile(model, _remove(base, path), path, "missing"))
    return cases


# ------------------------------------------------ for the campaigns (tests/test_campaigns_*.py)


def hostile_intake_cases_from(base: dict[str, Any]) -> st.SearchStrategy[Hostile]:
    """As ``hostile_intake_cases()``, from another valid intake document *base* (e.g. one
    received now, for a door that checks the receipt time against the clock)."""
    return _cases_for("CaseIntake", base)


def hostile_update_cases_for(model: str) -> st.SearchStrategy[Hostile]:
    """Hostile variants of the payloads of one update model of ``BASE_UPDATES``."""
    return st.one_of(*(_cases_for(model, base) for base in BASE_UPDATES[model]))


# Bodies that are not a JSON object at all (what a broken client or a scanner sends).
RAW_BODIES: list[bytes] = [
    b"",
    b" ",
    b"null",
    b"true",
    b"0",
    b"-1e999",
    b"NaN",
    b'"x"',
    b"[]",
    b"[{}]",
    b"{",
    b"}",
    b'{"a": 1,}',
    b"{'single': 'quotes'}",
    b'{"reference": "A", "reference": "B"}',
    b"\xef\xbb\xbf{}",
    b"\xff\xfe{\x00}\x00",
    b"\x00" * 64,
    b"\xc3\x28",
    b'{"x": "\\ud800"}',
    b'{"x": "\\u0000"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 2000 + b"1" + b"}" * 2000,
    b"<xml/>",
    b"a=1&b=2",
    b"--boundary\r\nContent-Disposition: form-data; name=x\r\n\r\ny\r\n--boundary--",
]


def hostile_raw_bodies() -> st.SearchStrategy[tuple[str, bytes]]:
    """(kind, body) for a body that is no JSON object: listed oddities, random bytes, a valid
    object cut short, a huge string."""
    return st.one_of(
        st.sampled_from(RAW_BODIES).map(lambda b: ("listed", b)),
        st.binary(max_size=200).map(lambda b: ("random_bytes", b)),
        st.text(max_size=100).map(lambda t: ("random_text", t.encode("utf-8", "surrogatepass"))),
        st.integers(min_value=1, max_value=300).map(
            lambda n: ("truncated", json_bytes(base_intake())[:n])
        ),
        st.sampled_from([10_000, 300_000, 2_000_000]).map(
            lambda n: ("huge", b'{"x": "' + b"x" * n + b'"}')
        ),
    )


def json_bytes(value: Any) -> bytes:
    import json

    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


# Form fields (application/x-www-form-urlencoded or multipart): one change to a valid form.
FORM_TEXT_CHANGES = st.one_of(
    st.sampled_from(CONTROL_CHARS).map(lambda c: ("control", f"a{c}b")),
    st.sampled_from(LONE_SURROGATES).map(lambda c: ("surrogate", c)),
    st.sampled_from(HUGE_SIZES).map(lambda n: ("huge", "x" * n)),
    st.sampled_from(FINE_TEXT).map(lambda t: ("fine_unicode", t)),
    st.sampled_from(["", " ", "\t", "\r\n", " \u3000 "]).map(lambda v: ("blank", v)),
    st.sampled_from(["-1", "0", "99", "1e9", "2**70", "nan", "ja ", "JA", "true", "[]", "{}"]).map(
        lambda v: ("odd_value", v)
    ),
    st.text(max_size=40).map(lambda v: ("random_text", v)),
)


@dataclass(frozen=True)
class HostileForm:
    """One hostile post of an HTML form: its *fields* (a list of pairs: names may repeat)
    and what was changed (*kind*, at *field*)."""

    form: str
    fields: tuple[tuple[str, str], ...]
    field: str
    kind: str

    def __repr__(self) -> str:
        return f"HostileForm({self.form}, {self.field}, {self.kind}, {len(self.fields)} fields)"


def hostile_forms(form: str, valid: dict[str, str | list[str]]) -> st.SearchStrategy[HostileForm]:
    """One change to the valid fields *valid* of the form *form*: a field's value replaced,
    a field left out, repeated, or an unknown one added; the CSRF token or request id
    missing or wrong (fields named ``csrf_token`` / ``request_id`` when present)."""

    def pairs(fields: dict[str, str | list[str]]) -> tuple[tuple[str, str], ...]:
        out: list[tuple[str, str]] = []
        for name, value in fields.items():
            for item in value if isinstance(value, list) else [value]:
                out.append((name, item))
        return tuple(out)

    names = sorted(valid)

    def replaced(name_change):
        name, (kind, value) = name_change
        return HostileForm(form, pairs({**valid, name: value}), name, kind)

    def removed(name: str) -> HostileForm:
        return HostileForm(
            form, pairs({k: v for k, v in valid.items() if k != name}), name, "missing"
        )

    def repeated(name_value):
        name, value = name_value
        fields = pairs(valid) + ((name, value),)
        return HostileForm(form, fields, name, "repeated")

    def unknown(key_value):
        key, value = key_value
        return HostileForm(form, pairs(valid) + ((key, value),), key, "unknown_field")

    keys = st.sampled_from([k for k in HOSTILE_KEYS if k and "\x00" not in k] + ["csrf", "t"])
    return st.one_of(
        st.tuples(st.sampled_from(names), FORM_TEXT_CHANGES).map(replaced),
        st.tuples(st.sampled_from(names), FORM_TEXT_CHANGES).map(replaced),
        st.tuples(st.sampled_from(names), FORM_TEXT_CHANGES).map(replaced),
        st.sampled_from(names).map(removed),
        st.tuples(st.sampled_from(names), FORM_TEXT_CHANGES.map(lambda c: c[1])).map(repeated),
        st.tuples(keys, st.sampled_from(["x", "1", ""])).map(unknown),
        st.just(HostileForm(form, pairs(valid), "", "unchanged")),
    )


# Settings: one ERHVERV_* variable set to a bad value (the rest from the defaults).
BAD_SETTING_VALUES: dict[str, list[str]] = {
    "ERHVERV_TEMPORAL_TLS": ["maybe", "2", "", "yes please"],
    "ERHVERV_TEMPORAL_UI_PORT": ["abc", "1.5", "", "0x", "8233 "],
    "ERHVERV_WORKER_SHUTDOWN_GRACE_SECONDS": ["-1", "3601", "abc", "inf", "nan", ""],
    "ERHVERV_DATABASE_SSL_MODE": ["prefer", "VERIFY", "", "none"],
    "ERHVERV_SMTP_PORT": ["abc", "25.5", "", "1e3"],
    "ERHVERV_SMTP_STARTTLS": ["sometimes", "2"],
    "ERHVERV_SMTP_USE_TLS": ["sometimes", "-"],
    "ERHVERV_SMTP_TIMEOUT_SECONDS": ["soon", ""],
    "ERHVERV_LOG_JSON": ["json", "2"],
    "ERHVERV_PAYLOAD_KEYS": ["", "{}", "not json", '{"k1": "short"}', "[1, 2]", '{"k1": 5}'],
    "ERHVERV_PAYLOAD_KEY_ID": ["no-such-key", ""],
    "ERHVERV_OPERATORS": ["not json", "{", "[1,"],
}


def hostile_cases_for(model: str, base: dict[str, Any]) -> st.SearchStrategy[Hostile]:
    """Hostile variants (one change each) of any valid document *base* of *model*, e.g. a
    signal's payload."""
    return _cases_for(model, base)


# One valid payload per signal of CaseWorkflow (sent by its reviews).
BASE_SIGNALS: dict[str, dict[str, Any]] = {
    "more_time_requested": {
        "department": "building",
        "round": 1,
        "working_days": 5,
        "reason": "Vi afventer en brandteknisk vurdering.",
    },
    "review_late": {"department": "fire", "round": 1},
}

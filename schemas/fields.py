"""Reusable field types for the contracts: safe text, normalised identifiers, dates in a sane
window.

Text rules (what Postgres, the letters and the logs can take):

- NUL (U+0000) is refused everywhere: Postgres cannot store it in text.
- Lone UTF-16 surrogates (U+D800-U+DFFF) are refused everywhere: they are not valid UTF-8.
- Single-line fields (``Line``, ``Name``, ``Place``, identifiers) refuse every control
  character (Unicode category Cc: U+0000-U+001F, U+007F-U+009F, so also tab, LF, CR and NEL),
  the line and paragraph separators U+2028/U+2029, and the bidirectional embedding, override
  and isolate controls (U+202A-U+202E, U+2066-U+2069) that can make a name read differently
  from what it is.
- Free text (``FreeText``, ``Description``, ``Reason``, ``Note``, ``Condition``) allows tab,
  LF and CR and refuses every other control character.
- Emoji, combining marks, zero-width joiners and letters of any script are fine.
- Surrounding whitespace is stripped first (the models' ``str_strip_whitespace``), so a
  trailing newline is dropped rather than refused.

Identifiers are normalised once, here: ``CaseworkerId`` ("MKJ " -> "mkj"), ``MaterialCode``
(lower-cased), ``Reference`` (stripped; case kept, it is the case system's).

Dates: only an ISO 8601 string (with its UTC offset for a time) or a real ``date``/``datetime``
object is a date; numbers (Unix timestamps) and digit strings are refused. Static windows
(``ReceivedAt``, ``MeetingTime``) keep years like 1 or 9999 out, so date arithmetic in the
workflow cannot overflow.

Rules relative to *now* cannot live in the models: the same models are validated inside
Temporal's workflow sandbox, where reading the clock is forbidden. They are in
``domain/sanity.py`` (``check_received_at``, ``check_meeting_time``), taking *now* as an
argument: ``workflow.now()`` in a workflow, the real clock at the HTTP/CLI boundary.

Messages never repeat the value they reject (it may be personal data); they name the
character by its code point and position instead.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, Strict
from pydantic_core import PydanticCustomError

from domain.industry import is_valid_code

# ------------------------------------------------------------------------- text

# Every character a single-line field refuses: Cc (C0, DEL, C1), line/paragraph separators,
# bidi embeddings/overrides/isolates, lone surrogates.
_NOT_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# Free text: the same minus tab, LF and CR; separators and bidi controls are allowed there
# (text pasted from word processors carries them, and it is never an identifier or a name).
_NOT_IN_FREE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _char_error(value: str, match: re.Match[str], *, single_line: bool) -> PydanticCustomError:
    char = match.group()
    code = ord(char)
    where = {"code": f"U+{code:04X}", "position": match.start() + 1}
    if char == "\x00":
        return PydanticCustomError(
            "nul_character",
            "must not contain the NUL character ({code}, at character {position})",
            where,
        )
    if 0xD800 <= code <= 0xDFFF:
        return PydanticCustomError(
            "invalid_character",
            "contains a lone surrogate ({code}, at character {position}) that is not valid "
            "text; send the text as valid UTF-8",
            where,
        )
    if char in BIDI_CONTROLS:
        return PydanticCustomError(
            "bidi_control",
            "must not contain bidirectional override characters ({code}, at character {position})",
            where,
        )
    if single_line:
        return PydanticCustomError(
            "control_character",
            "must be one line without control characters (found {code} at character {position})",
            where,
        )
    return PydanticCustomError(
        "control_character",
        "must not contain control characters other than tab and line breaks "
        "(found {code} at character {position})",
        where,
    )


def check_line(value: str) -> str:
    """A single-line text: no control characters, separators, bidi controls or surrogates."""
    match = _NOT_IN_LINE.search(value)
    if match:
        raise _char_error(value, match, single_line=True)
    return value


def check_free_text(value: str) -> str:
    """Free text: tab, LF and CR allowed; NUL, other control characters, surrogates not."""
    match = _NOT_IN_FREE_TEXT.search(value)
    if match:
        raise _char_error(value, match, single_line=False)
    return value


def unsafe_character(value: str, *, free_text: bool = False) -> str | None:
    """The first character *value* may not hold (None if it is clean); for tests and checks."""
    match = (_NOT_IN_FREE_TEXT if free_text else _NOT_IN_LINE).search(value)
    return match.group() if match else None


# Single line of any length (values the engine itself makes, e.g. titles in the state).
Line = Annotated[str, AfterValidator(check_line)]
# Free text of any length (values the engine itself makes, e.g. reasons in the clock ledger).
FreeText = Annotated[str, AfterValidator(check_free_text)]

# Sized types for input.
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(check_line)]
Place = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(check_line)]
Description = Annotated[str, Field(min_length=1, max_length=5000), AfterValidator(check_free_text)]
Reason = Annotated[str, Field(min_length=3, max_length=1000), AfterValidator(check_free_text)]
Note = Annotated[str, Field(max_length=1000), AfterValidator(check_free_text)]
Condition = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(check_free_text)]


# ------------------------------------------------------------------ identifiers

REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MATERIAL_CODE = re.compile(r"[a-z]+\.[a-z0-9_]+")
_CASEWORKER_ID = re.compile(r"[a-z0-9]{2,16}")


def check_reference(value: str) -> str:
    """The case system's reference: it becomes the workflow id, so a tight ASCII alphabet."""
    value = check_line(value.strip())
    if not _REFERENCE.fullmatch(value):
        raise PydanticCustomError(
            "reference",
            "a reference is 1-64 characters: letters A-Z, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. BYG-2026-00123)",
        )
    return value


def normalise_material_code(value: str) -> str:
    """A checklist code, stripped and lower-cased, e.g. 'building.floor_plans'."""
    value = check_line(value.strip())
    if value.isascii():
        value = value.lower()
    if len(value) > 100 or not _MATERIAL_CODE.fullmatch(value):
        raise PydanticCustomError(
            "material_code",
            "a material code is the department, '.', and the item in lower-case letters, "
            "digits and '_', e.g. building.floor_plans (see the case's checklist)",
        )
    return value


def normalise_caseworker_id(value: str) -> str:
    """A caseworker's id: the initials, stripped and lower-cased ('MKJ ' -> 'mkj')."""
    value = check_line(value.strip())
    if value.isascii():  # never lower-case e.g. the Kelvin sign into an ASCII 'k'
        value = value.lower()
    if not _CASEWORKER_ID.fullmatch(value):
        raise PydanticCustomError(
            "caseworker_id",
            "a caseworker id is the caseworker's initials: 2-16 letters a-z or digits, "
            "e.g. mkj (see config/caseworkers.json)",
        )
    return value


Reference = Annotated[
    str,
    AfterValidator(check_reference),
    Field(
        description="The case system's own case reference, e.g. BYG-2026-00123. "
        "Letters, digits, '.', '_' and '-' only; it becomes part of the workflow id, "
        "so it must not contain personal data."
    ),
]
MaterialCode = Annotated[
    str,
    AfterValidator(normalise_material_code),
    Field(description="a checklist code, e.g. building.floor_plans"),
]
CaseworkerId = Annotated[
    str,
    AfterValidator(normalise_caseworker_id),
    Field(description="the caseworker's initials, e.g. 'mkj' (stripped, lower-cased)"),
]


def check_db07_code(value: str) -> str:
    """A DB07 industry code (Danmarks Statistik): 6 digits whose first two are a division
    (hovedgruppe) of the code list in domain/industry.py. The message never repeats the value."""
    if not is_valid_code(value.strip()):
        raise PydanticCustomError(
            "db07_code",
            "an industry code is the 6-digit DB07 code (Dansk Branchekode 2007) whose first "
            "two digits are a known division, e.g. 412000 (construction of buildings)",
        )
    return value.strip()


Db07Code = Annotated[
    str,
    AfterValidator(check_db07_code),
    Field(
        description="the company's industry: its 6-digit DB07 code (Dansk Branchekode 2007), "
        "e.g. 412000; the figures group cases by its section (A-U)",
        examples=["412000"],
        json_schema_extra={"pattern": "^[0-9]{6}$"},
    ),
]


# ------------------------------------------------------------------------ dates

EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}([.,]\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)?"
)
DATETIME_EXAMPLE = "2026-11-24T09:15:00+01:00"


def _iso_datetime_input(value: Any) -> Any:
    """Before pydantic parses a time: an ISO 8601 string or a datetime, never a number."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATETIME.fullmatch(value.strip()):
        return value.strip()
    raise PydanticCustomError(
        "iso_datetime",
        "give the time as ISO 8601 with its UTC offset, e.g. {example}",
        {"example": DATETIME_EXAMPLE},
    )


def _iso_date_input(value: Any) -> Any:
    """Before pydantic parses a date: an ISO 8601 date string or a date, never a number."""
    if isinstance(value, datetime):
        raise PydanticCustomError("iso_date", "give a date without a time, e.g. 2027-03-01")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        return value.strip()
    raise PydanticCustomError("iso_date", "give the date as ISO 8601, e.g. 2027-03-01")


def _in_window(value: datetime) -> datetime:
    if not EARLIEST <= value.date() <= LATEST:
        raise PydanticCustomError(
            "date_window",
            "must be a time between {earliest} and {latest}",
            {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
        )
    return value


# pydantic's AwareDatetime (rejects naive times) behind an ISO-only gate. The gate passes on
# only ISO strings and real objects; Strict(False) lets pydantic parse the string it passes
# on (after a before-validator the value counts as Python input, where strict mode would
# refuse every string).
IsoDatetime = Annotated[AwareDatetime, Strict(False), BeforeValidator(_iso_datetime_input)]
IsoDate = Annotated[date, Strict(False), BeforeValidator(_iso_date_input)]
ReceivedAt = Annotated[IsoDatetime, AfterValidator(_in_window)]
MeetingTime = Annotated[IsoDatetime, AfterValidator(_in_window)]

"""Turn validation errors into messages a person can act on (which field, why).

One line per problem, ``field.path: reason``. A line never repeats the rejected value (it
may be an e-mail address, a name or a phone number, and these messages end up in logs and
workflow failures); the one exception is a CVR number, a company's public number. Every line
is at most ``MAX_LINE_BYTES`` bytes.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from pydantic import ValidationError

MAX_LINE_BYTES = 300
# An unknown key is named in the message when it is short printable ASCII without spaces,
# quotes, ':' (the separator of a line) or '@' (an e-mail address is personal data).
READABLE_KEY = re.compile(r"(?:(?![@:\"'`\\])[!-~]){1,64}")
_CVR = re.compile(r"[1-9][0-9]{7}")
_CONTRACT_MODULES = ("schemas.intake", "schemas.life", "schemas.case", "schemas.review")
UNNAMED = "(a field with an unreadable name)"
# Error types raised by schemas/fields.py and schemas/intake.py with fixed texts (they name a
# code point and a position, never the value): shown as they are.
OWN_TYPES = frozenset(
    {
        "nul_character",
        "invalid_character",
        "bidi_control",
        "control_character",
        "reference",
        "material_code",
        "caseworker_id",
        "iso_datetime",
        "iso_date",
        "date_window",
        "received_in_future",
        "wished_date_window",
    }
)


def _contract_file(title: str) -> str | None:
    """The schema file that declares the model *title* (for 'see schemas/...')."""
    for name in _CONTRACT_MODULES:
        module = sys.modules.get(name)
        if module is not None and isinstance(getattr(module, title, None), type):
            return name.replace(".", "/") + ".py"
    return None


def _where(problem: dict[str, Any]) -> str:
    """The field path. A name taken from the input (an unknown key) is shown only when it is
    readable (``READABLE_KEY``); pydantic's internal labels (union members) are left out."""
    loc = problem["loc"]
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            parts.append(str(part))
        elif READABLE_KEY.fullmatch(part):
            parts.append(part)
        elif problem["type"] == "extra_forbidden" and i == len(loc) - 1:
            parts.append(UNNAMED)
    return ".".join(parts) or "(document)"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _message(problem: dict[str, Any], title: str) -> str | None:
    """A fixed message for the common kinds (never holds the input); None: use pydantic's."""
    kind = problem["type"]
    ctx = problem.get("ctx") or {}
    msg = str(problem["msg"])
    if kind == "extra_forbidden":
        where = _contract_file(title)
        return "unknown field (check the spelling" + (f"; see {where})" if where else ")")
    if kind == "missing":
        return "required field is missing"
    if kind == "timezone_aware":
        return "give the time with its UTC offset, e.g. 2026-11-24T09:15:00+01:00"
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return "must not be empty"
        return f"too short: at least {_plural(ctx.get('min_length', 1), 'character')}"
    if kind == "string_too_long":
        return f"too long: at most {_plural(ctx.get('max_length', 0), 'character')}"
    if kind == "too_short":
        return f"must have at least {_plural(ctx.get('min_length', 1), 'item')}"
    if kind == "too_long":
        return f"must have at most {_plural(ctx.get('max_length', 0), 'item')}"
    if kind in OWN_TYPES:
        return msg
    if kind == "string_unicode":
        return "is not valid text (it holds a lone surrogate); send valid UTF-8"
    if kind == "string_type":
        return "must be text (a JSON string)"
    if kind == "enum":
        return f"must be one of {ctx.get('expected', 'the listed values')}"
    if kind == "value_error" and msg.startswith("value is not a valid email address"):
        # email-validator's reasons can quote parts of the address
        return "not a valid e-mail address; write it as name@example.dk"
    return None


def _echoes(problem: dict[str, Any], message: str, where: str) -> bool:
    """Does *message* repeat the rejected input (beyond a CVR number)?"""
    value = problem.get("input")
    if not isinstance(value, str) or len(value.strip()) < 3:
        return False
    if where.endswith("cvr") and _CVR.fullmatch(value.strip()):
        return False
    return value.strip() in message or value in message


def _fit(line: str) -> str:
    data = line.encode()
    if len(data) <= MAX_LINE_BYTES:
        return line
    return data[: MAX_LINE_BYTES - 3].decode(errors="ignore") + "..."


def describe(error: ValidationError) -> str:
    """One line per problem: ``field.path: reason``; no stack trace, no pydantic URLs, never
    the rejected value (a CVR number excepted), each line at most 300 bytes."""
    lines: list[str] = []
    for problem in error.errors(include_url=False):
        where = _where(problem)
        message = _message(problem, error.title)
        if message is None:
            # pydantic's text or a validator's own (e.g. the CVR check): checked for echoes
            message = str(problem["msg"]).removeprefix("Value error, ")
            if _echoes(problem, message, where):
                message = f"invalid value ({problem['type']})"
        line = _fit(f"{where}: {message}")
        if line not in lines:
            lines.append(line)
    return "\n".join(lines)

"""Turn validation errors into messages a person can act on (which field, why)."""

from __future__ import annotations

from pydantic import ValidationError


def describe(error: ValidationError) -> str:
    """One line per problem: ``field.path: reason``; no stack trace, no pydantic URLs."""
    lines = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(part) for part in problem["loc"]) or "(document)"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; see schemas/intake.py)"
        elif problem["type"] == "timezone_aware":
            message = "give the time with its UTC offset, e.g. 2026-11-24T09:15:00+01:00"
        elif problem["type"] == "missing":
            message = "required field is missing"
        lines.append(f"{where}: {message}")
    return "\n".join(lines)

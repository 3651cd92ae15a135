"""Plausibility rules for dates that depend on *now* or on another field.

The schemas (schemas/fields.py) hold the static rules: only ISO 8601 dates, years 2000-2099
for the time of receipt and for meetings. What is relative to *now* cannot be checked
inside a model: the same models are validated in Temporal's workflow sandbox, where reading
the clock is forbidden and would not be deterministic. So these functions take *now* as an
argument:

- in a workflow: ``check_received_at(intake.received_at, workflow.now())``;
- at the boundary (CLI, HTTP): the real clock, ``datetime.now(UTC)``; for an intake
  document ``schemas.intake.parse_intake_json(raw, now=...)`` applies the rule itself.

Each raises ``SanityError`` (a ``ValueError``) with ``field`` and ``reason``; ``str(error)``
is ``"field: reason"``, the same shape as a line of ``schemas.errors.describe``, and never
holds the value. Pure: standard library only, safe to import in the workflow sandbox.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TypeVar

CLOCK_SKEW = timedelta(minutes=5)  # a case system's clock may run this much ahead
WISHED_DATE_YEARS = 5  # a wished decision date at most this many years after receipt
MEETING_YEARS = 3  # a meeting at most this many years ahead of now

D = TypeVar("D", bound=date)


class SanityError(ValueError):
    """A value that is well-formed but not plausible; ``str()`` is ``field: reason``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def add_years(day: D, years: int) -> D:
    """*day* (a date or a datetime) moved *years* calendar years (29 February becomes 28)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def check_received_at(received_at: datetime, now: datetime) -> None:
    """A case cannot have been received in the future (5 minutes of clock skew allowed)."""
    _aware("received_at", received_at)
    _aware("now", now)
    if received_at > now + CLOCK_SKEW:
        raise SanityError(
            "received_at",
            "lies in the future; give the time the case system received the case, "
            "with its UTC offset",
        )


def check_wished_decision_date(wished: date, received_at: datetime) -> None:
    """A wished decision date on or after the day of receipt, at most 5 years after it.

    The day of receipt is the date in the offset the case system gave (its local day)."""
    received = received_at.date()
    if wished < received:
        raise SanityError(
            "wished_decision_date", "must not be before the day the case was received"
        )
    if wished > add_years(received, WISHED_DATE_YEARS):
        raise SanityError(
            "wished_decision_date",
            f"must be at most {WISHED_DATE_YEARS} years after the day the case was received",
        )


def check_meeting_time(at: datetime, received_at: datetime, now: datetime) -> None:
    """A meeting (``BookPreDialogue.at``) not before the case was received and at most
    3 years ahead of *now*."""
    _aware("at", at)
    _aware("received_at", received_at)
    _aware("now", now)
    if at < received_at:
        raise SanityError("at", "the meeting cannot be before the case was received")
    if at > add_years(now, MEETING_YEARS):
        raise SanityError("at", f"the meeting cannot be more than {MEETING_YEARS} years ahead")

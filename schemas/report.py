"""The monthly report's contract (commitment 10): what the report workflow is started with and
what it answers, and the staff's inputs on the measurement pages (tags on free text, causes of
broken promises). Strict models: nothing unexpected passes."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.fields import Line

MONTH_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"
Month = Annotated[str, StringConstraints(pattern=MONTH_PATTERN)]

STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def month_start(month: str) -> date:
    """'2026-05' -> date(2026, 5, 1)."""
    year, number = month.split("-")
    return date(int(year), int(number), 1)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_month(month: str) -> str:
    first = month_start(month)
    return month_of(
        date(first.year - 1, 12, 1) if first.month == 1 else first.replace(month=first.month - 1)
    )


def next_month(month: str) -> str:
    first = month_start(month)
    return month_of(
        date(first.year + 1, 1, 1) if first.month == 12 else first.replace(month=first.month + 1)
    )


class ReportRequest(BaseModel):
    """The report workflow's input: the month, or none (the schedule's start): the month
    before the run's time in Europe/Copenhagen."""

    model_config = STRICT

    month: Month | None = None


class ReportMade(BaseModel):
    """The stored report of a month: new now, or the one stored by an earlier run."""

    model_config = STRICT

    month: Month
    created: bool
    cases: int


class ReportResult(BaseModel):
    model_config = STRICT

    month: Month
    created: bool  # False: an earlier run had stored it (the same report)
    mailed: bool  # False: an earlier run had sent it (nothing sent twice)
    message_id: str
    cases: int


class Promise(StrEnum):
    """The promises a closed case can break."""

    contact = "contact"  # contact within 5 working days of receipt
    decision = "decision"  # decision on or before the agreed date
    processing_time = "processing_time"  # KL's clock within the service target


# The staff's fixed list of themes for the free text (docs/report.md).
TAGS: dict[str, str] = {
    "sagsbehandlingstid": "Sagsbehandlingstid",
    "vejledning": "Vejledning",
    "kontakt": "Kontakt",
    "koordinering": "Koordinering",
    "digital-selvbetjening": "Digital selvbetjening",
    "forhaandsdialog": "Forhåndsdialog",
    "ros": "Ros",
    "andet": "Andet",
}
Tag = Annotated[str, StringConstraints(pattern="^(" + "|".join(TAGS) + ")$")]


class CommentTags(BaseModel):
    """A comment's tags, as staff set them (the whole list: setting it twice is harmless)."""

    model_config = STRICT

    tags: list[Tag] = Field(default_factory=list, max_length=len(TAGS))


Cause = Annotated[Line, StringConstraints(max_length=300)]


class BreachCauses(BaseModel):
    """The recorded cause of each broken promise (empty: none recorded)."""

    model_config = STRICT

    contact: Cause = ""
    decision: Cause = ""
    processing_time: Cause = ""

    def recorded(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v}

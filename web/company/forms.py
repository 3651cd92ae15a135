"""The case page's forms: strict models of what each form may send, their Danish labels, and
the error lines for the page's error summary (field ids the summary links to)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.fields import Description, MaterialCode, Note
from schemas.intake import Department
from schemas.life import PreDialogueTopic
from web import forms

FORM = ConfigDict(extra="forbid", str_strip_whitespace=True)
_REQUEST_ID = re.compile(r"[0-9a-f]{32}")


class UploadForm(BaseModel):
    model_config = FORM

    material_code: MaterialCode


class ProjectChangeForm(BaseModel):
    model_config = FORM

    description: Description
    departments: Annotated[list[Department], Field(min_length=1, max_length=3)]


class PreDialogueForm(BaseModel):
    model_config = FORM

    topic: PreDialogueTopic = PreDialogueTopic.general
    note: Note = ""


class LevelForm(BaseModel):
    model_config = FORM

    level: Annotated[int, Field(ge=1, le=3)]


class NbeForm(BaseModel):
    model_config = FORM

    answer: Literal["ja", "nej"]


class WithdrawForm(BaseModel):
    model_config = FORM

    reason: Note = ""
    confirm: Literal["ja"]


LABELS = {
    "material_code": "hvilket materiale filen er",
    "file": "filen",
    "description": "beskrivelsen af ændringen",
    "departments": "de fagområder, ændringen berører",
    "topic": "emnet for mødet",
    "note": "jeres bemærkning",
    "level": "niveau for bæredygtighed",
    "answer": "jeres svar på tilbuddet",
    "reason": "begrundelsen",
    "confirm": "bekræftelsen",
}


@dataclass(frozen=True)
class Problem:
    field_id: str
    message: str


def field_id(form: str, field: str) -> str:
    return f"{form}-{field.replace('_', '-')}"


def problems(form: str, err: ValidationError) -> list[Problem]:
    return [
        Problem(field_id(form, e.field or next(iter(LABELS))), e.message)
        for e in forms.danish_errors(err, LABELS)
    ]


def request_id_of(form_data) -> str | None:
    """The form's request id (made by the page that showed it), or None if it is missing or
    malformed; the action's ids are derived from it, so a double submit runs once."""
    value = form_data.get(forms.REQUEST_ID_FIELD)
    return value if isinstance(value, str) and _REQUEST_ID.fullmatch(value) else None


def fields_of(form_data, *, lists: tuple[str, ...] = ()) -> dict:
    """The form's own fields (CSRF token and request id left out); *lists* are read as lists
    (checkboxes)."""
    skip = {forms.CSRF_FIELD, forms.REQUEST_ID_FIELD}
    out: dict = {}
    for key in form_data:
        if key in skip:
            continue
        out[key] = form_data.getlist(key) if key in lists else form_data.get(key)
    for key in lists:
        out.setdefault(key, [])
    return out

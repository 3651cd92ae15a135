"""The officers' actions on the case page: which forms there are, how a posted form becomes
the API's own request model, who may send it (the API's role rules, web/api/officers.py) and
which call of the seam runs it.

A form is read strictly: every posted field (except the CSRF token and the request id) goes
into a JSON document validated by the same pydantic model as the API's body, so an unknown
field, a wrong type or a bad value is refused exactly as the API refuses it. Only the
browser's own shapes are translated first: a `datetime-local` time gets its Copenhagen offset,
a number field becomes a number, a text area of conditions one condition per line, and an
empty optional field is left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.datastructures import FormData
from temporalio.client import Client

import case_api
from domain.calendar import COPENHAGEN
from schemas import life
from schemas.case import AssignCaseworker, CaseState
from schemas.intake import Department
from web import forms
from web.api import officers
from web.staff import Staff

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


class NoFields(BaseModel):
    """A form with nothing to fill in (restart a review): any field is refused."""

    model_config = ConfigDict(strict=True, extra="forbid")


@dataclass(frozen=True)
class DeskAction:
    key: str  # names the form, its confirmation (texts.DONE) and its refusal (texts.NOT_YOUR_ROLE)
    slug: str  # the address: /sagsbehandler/sager/{reference}/{slug}[/{department}]
    model: type[BaseModel]
    labels: dict[str, str]  # field -> its label in the error messages (lower case)
    # who may, by the API's rules: (officer, state, department, body) -> refusal key or None
    role: Callable[[Staff, CaseState, Department | None, Any], str | None]
    run: Callable[[Client, str, Department | None, Any, str], Awaitable[Any]]
    per_department: bool = False
    lists: frozenset[str] = field(default_factory=frozenset)  # one item per line
    numbers: frozenset[str] = field(default_factory=frozenset)
    times: frozenset[str] = field(default_factory=frozenset)  # datetime-local, Copenhagen
    optional: frozenset[str] = field(default_factory=frozenset)  # empty: left out


def _anyone(officer, state, department, body) -> str | None:
    if getattr(body, "replacing", None) is not None and not officers.may_hand_over(officer, state):
        return "handover"
    return None


def _hand_over(officer, state, department, body) -> str | None:
    return None if officers.may_hand_over(officer, state) else "handover"


def _coordinator(officer, state, department, body) -> str | None:
    return None if officers.is_coordinator(officer, state) else "coordinator"


def _reviewer(officer, state, department, body) -> str | None:
    return None if officers.may_review_for(officer, department) else "review"


def _more_time(officer, state, department, body) -> str | None:
    return None if officers.may_ask_more_time(officer, state, department) else "more_time"


def _restarter(officer, state, department, body) -> str | None:
    return None if officers.may_restart_review(officer, state) else "restart"


def _dump(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(mode="json")


MEETING_LABELS = {
    "topic": "emne",
    "at": "tidspunkt",
    "place": "sted",
    "video_link": "videolink",
    "reason": "begrundelse",
}
ACTIONS: dict[str, DeskAction] = {
    a.key: a
    for a in (
        DeskAction(
            "take",
            "tag",
            AssignCaseworker,
            {"caseworker_id": "initialer", "replacing": "nuværende sagsbehandler"},
            _anyone,
            lambda client, ref, dept, body, rid: case_api.assign_caseworker(
                client, ref, body.caseworker_id, body.replacing, rid
            ),
            optional=frozenset({"replacing"}),
        ),
        DeskAction(
            "handover",
            "overdrag",
            AssignCaseworker,
            {"caseworker_id": "initialer", "replacing": "nuværende sagsbehandler"},
            _hand_over,
            lambda client, ref, dept, body, rid: case_api.assign_caseworker(
                client, ref, body.caseworker_id, body.replacing, rid
            ),
        ),
        DeskAction(
            "book",
            "moede",
            life.BookPreDialogue,
            MEETING_LABELS,
            _coordinator,
            lambda client, ref, dept, body, rid: case_api.book_pre_dialogue(
                client, ref, rid, **_dump(body)
            ),
            times=frozenset({"at"}),
            optional=frozenset({"place", "video_link"}),
        ),
        DeskAction(
            "cancel",
            "moede-aflys",
            life.CancelPreDialogue,
            MEETING_LABELS,
            _coordinator,
            lambda client, ref, dept, body, rid: case_api.cancel_pre_dialogue(
                client, ref, rid, **_dump(body)
            ),
        ),
        DeskAction(
            "held",
            "moede-holdt",
            life.PreDialogueHeld,
            MEETING_LABELS,
            _coordinator,
            lambda client, ref, dept, body, rid: case_api.record_pre_dialogue_held(
                client, ref, rid, **_dump(body)
            ),
        ),
        DeskAction(
            "review",
            "vurdering",
            life.SubmitReview,
            {"outcome": "resultat", "text": "vurdering", "conditions": "vilkår"},
            _reviewer,
            lambda client, ref, dept, body, rid: case_api.submit_review(
                client, ref, dept.value, rid, **_dump(body)
            ),
            per_department=True,
            lists=frozenset({"conditions"}),
        ),
        DeskAction(
            "more_time",
            "mere-tid",
            life.RequestMoreTime,
            {"working_days": "antal hverdage", "reason": "begrundelse"},
            _more_time,
            lambda client, ref, dept, body, rid: case_api.request_more_time(
                client, ref, dept.value, rid, **_dump(body)
            ),
            per_department=True,
            numbers=frozenset({"working_days"}),
        ),
        DeskAction(
            "restart",
            "genstart",
            NoFields,
            {},
            _restarter,
            lambda client, ref, dept, body, rid: case_api.restart_review(
                client, ref, dept.value, rid
            ),
            per_department=True,
        ),
        DeskAction(
            "decision",
            "afgoerelse",
            life.IssueDecision,
            {"grounds": "begrundelse for afgørelsen"},
            _coordinator,
            lambda client, ref, dept, body, rid: case_api.issue_decision(
                client, ref, body.grounds, rid
            ),
        ),
        DeskAction(
            "dismiss",
            "afvis",
            life.Dismiss,
            {"reason": "begrundelse"},
            _coordinator,
            lambda client, ref, dept, body, rid: case_api.dismiss(client, ref, body.reason, rid),
        ),
    )
}
BY_SLUG = {a.slug: a for a in ACTIONS.values()}

# Errors of a whole model (its model validators) belong to one field on the form.
MODEL_ERRORS = (
    ("place or a video link", "place", "Skriv et sted eller et videolink til mødet."),
    (
        "needs at least one condition",
        "conditions",
        "Skriv mindst ét vilkår, når vurderingen er godkendt med vilkår.",
    ),
    (
        "conditions belong only",
        "conditions",
        "Vilkår hører kun til en godkendelse med vilkår. Vælg det resultat, eller fjern vilkårene.",
    ),
)
EXTRA_TYPES = {
    "control_character": "{Label} må ikke indeholde kontroltegn.",
    "nul_character": "{Label} må ikke indeholde kontroltegn.",
    "bidi_control": "{Label} må ikke indeholde tegn, der vender skriveretningen.",
    "iso_datetime": "Vælg dato og klokkeslæt i {label}.",
    "date_window": "{Label} skal ligge mellem år 2000 og 2099.",
    "extra_forbidden": "Formularen indeholdt et felt, den ikke kender ({label}). Genindlæs siden.",
    "url_parsing": "{Label} skal være en webadresse, der begynder med https://.",
    "url_scheme": "{Label} skal være en webadresse, der begynder med https://.",
}


def document(action: DeskAction, form: FormData) -> dict[str, Any]:
    """The posted form as the JSON document the API would get."""
    doc: dict[str, Any] = {}
    for name in form:
        if name in (forms.CSRF_FIELD, forms.REQUEST_ID_FIELD) or name in doc:
            continue
        values = form.getlist(name)
        value: Any = values[0] if len(values) == 1 else values
        if isinstance(value, str):
            if name in action.lists:
                value = [line.strip() for line in value.splitlines() if line.strip()]
            elif name in action.numbers and re.fullmatch(r"-?\d{1,6}", value.strip()):
                value = int(value.strip())
            elif name in action.times:
                value = _with_offset(value)
            elif name in action.optional and not value.strip():
                continue
        doc[name] = value
    return doc


def _with_offset(value: str) -> str:
    """'2027-03-01T10:00' from a datetime-local field, in Copenhagen time, with its offset."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=COPENHAGEN)
    return parsed.isoformat()


def parse(action: DeskAction, form: FormData) -> BaseModel:
    """The form as the action's model (strict JSON, as the API reads its body)."""
    return action.model.model_validate_json(json.dumps(document(action, form)))


def field_errors(action: DeskAction, err: ValidationError) -> list[forms.FieldError]:
    """Danish lines, each naming the form's field (forms.danish_errors, plus the model's own
    rules and the entry's own text checks)."""
    found: list[forms.FieldError] = []
    for problem in err.errors(include_url=False, include_input=False):
        loc = [str(p) for p in problem["loc"] if not isinstance(p, int)]
        if not loc:
            for needle, name, message in MODEL_ERRORS:
                if needle in problem["msg"]:
                    found.append(forms.FieldError(name, message))
                    break
            else:
                found.append(forms.FieldError("", "Tjek felterne i formularen."))
        elif problem["type"] in EXTRA_TYPES:
            label = action.labels.get(loc[0], loc[0])
            found.append(
                forms.FieldError(
                    loc[0],
                    EXTRA_TYPES[problem["type"]].format(
                        label=label, Label=label[:1].upper() + label[1:]
                    ),
                )
            )
    handled = {e.field for e in found}
    for line in forms.danish_errors(err, action.labels):
        if line.field and line.field not in handled:
            found.append(line)
    unique: list[forms.FieldError] = []
    for line in found:
        if line not in unique:
            unique.append(line)
    return unique


def request_id_of(form: FormData) -> str:
    """The form's request id (forms.new_request_id()); a form without one is not ours."""
    value = form.get(forms.REQUEST_ID_FIELD)
    if not isinstance(value, str) or not REQUEST_ID.fullmatch(value):
        raise forms.FormRefused(
            400,
            "request id",
            "Formularen manglede sit id, så den blev ikke sendt. Gå tilbage, genindlæs siden, "
            "og send formularen igen.",
        )
    return value

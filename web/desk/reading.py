"""How a posted desk form is read: strictly, into the API's own request model.

Every posted field (except the CSRF token and the request id) goes into a JSON document
validated by the same pydantic model as the API's body, so an unknown field, a wrong type or a
bad value is refused exactly as the API refuses it. Only the browser's own shapes are
translated first: a `datetime-local` time gets its Copenhagen offset, a number field becomes a
number, a text area of conditions one condition per line, and an empty optional field is left
out. Errors become Danish lines naming the form's fields.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from domain.calendar import COPENHAGEN
from web import forms
from web.desk.actions import DeskAction

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")

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

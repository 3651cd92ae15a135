"""Why the agreed date moved, in the Danish the company reads in the notice (pure text).

Each reason is one or two whole sentences the letter shows after "Årsag: ", so a reason never
carries a label and a colon of its own (no "Årsag: …: …").
"""

from __future__ import annotations

import re
from datetime import date

from domain.texts import DEPARTMENT_NAMES, danish_date, plural
from schemas.intake import Department


def _sentence(text: str) -> str:
    """*text* as a sentence: stripped, with a capital first letter and a full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _quoted(text: str) -> str:
    """*text* in Danish quotation marks, without a closing full stop."""
    return f"»{text.strip().rstrip('.').strip()}«"


def material_complete(complete_on: date, processing_days: int) -> str:
    return (
        f"Sagen blev fuldt oplyst {danish_date(complete_on)}, og den forventede "
        f"sagsbehandlingstid på {plural(processing_days, 'kalenderdag', 'kalenderdage')} "
        "regnes fra den dag."
    )


def waited_for_material(days: int) -> str:
    return (
        f"Sagen har ventet {plural(days, 'dag', 'dage')} på materiale fra jer, og ventetiden "
        "lægges til den aftalte dato."
    )


def more_time(department: Department, reason: str, working_days: int | None = None) -> str:
    """A department needs more time; *reason* is the officer's own words (a sentence).

    *working_days*, when given, says how much more time."""
    name = DEPARTMENT_NAMES[department]
    more = f"{plural(working_days, 'hverdag', 'hverdage')} mere" if working_days else "mere tid"
    return f"Fagområdet {name} har brug for {more} til sin faglige vurdering. {_sentence(reason)}"


def project_change(description: str) -> str:
    return (
        f"I har meddelt en ændring af projektet ({_quoted(description)}), og de berørte "
        "fagområder skal derfor vurdere projektet igen."
    )


def case_closed() -> str:
    return "Sagen er afsluttet, så mødet er ikke længere nødvendigt."


# Reasons written by earlier versions carried a label and a colon ("Fagområdet brand/beredskab
# har brug for mere tid: …"); a letter already on its way with such a reason reads right too.
_LEGACY_MORE_TIME = re.compile(r"^Fagområdet (?P<name>.+?) har brug for mere tid: (?P<reason>.+)$")
_LEGACY_PROJECT_CHANGE = re.compile(r"^I har meddelt en ændring af projektet: (?P<text>.+)$")


def as_sentences(reason: str) -> str:
    """A reason as the letter shows it: reasons in the earlier "label: text" form are
    rewritten to whole sentences; any other text is returned as it is."""
    reason = reason.strip()
    if m := _LEGACY_MORE_TIME.match(reason):
        return (
            f"Fagområdet {m['name']} har brug for mere tid til sin faglige vurdering. "
            f"{_sentence(m['reason'])}"
        )
    if m := _LEGACY_PROJECT_CHANGE.match(reason):
        return project_change(m["text"])
    return reason

"""Why the agreed date moved, in the Danish the company reads in the notice (pure text)."""

from __future__ import annotations

from datetime import date

from domain.texts import DEPARTMENT_NAMES, danish_date
from schemas.intake import Department


def material_complete(complete_on: date, processing_days: int) -> str:
    return (
        f"Sagen blev fuldt oplyst {danish_date(complete_on)}. Den forventede "
        f"behandlingstid på {processing_days} dage regnes fra den dag."
    )


def waited_for_material(days: int) -> str:
    return (
        f"Sagen har ventet {days} {'dag' if days == 1 else 'dage'} på materiale fra jer; "
        "ventetiden lægges til den aftalte dato."
    )


def more_time(department: Department, reason: str) -> str:
    return f"Fagområdet {DEPARTMENT_NAMES[department]} har brug for mere tid: {reason}"


def project_change(description: str) -> str:
    return f"I har meddelt en ændring af projektet: {description}"


def case_closed() -> str:
    return "Sagen er afsluttet, så mødet er ikke længere nødvendigt."

"""Who does what in a case, from the caseworker directory (pure rules)."""

from __future__ import annotations

from collections.abc import Iterable

from schemas.case import Caseworker
from schemas.intake import Department


def officer_for(roster: Iterable[Caseworker], department: Department) -> Caseworker | None:
    """A department's officer for a review: the first active caseworker of that department in
    the directory's order, or None when the department has no one (the coordinator then
    reviews it)."""
    return next((c for c in roster if c.active and department in c.departments), None)

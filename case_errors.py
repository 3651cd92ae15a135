"""The seam's one error type: a problem the caller can act on (shared by case_api and
case_records, so neither imports the other's internals)."""

from __future__ import annotations


class CaseError(Exception):
    """A problem the caller can act on; str(error) is the message to show.

    *kind* names the rejection when the case gave one (the workflow's ApplicationError type,
    e.g. ``AlreadyAssigned``, ``Closing``, ``NotAllowedInPhase``, ``InvalidInput``), so a door
    (CLI, web) can react without reading the text."""

    def __init__(
        self, message: str, kind: str | None = None, errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.errors = errors or []  # {field, reason} per problem, for a 422

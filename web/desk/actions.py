"""The officers' actions on the case page: which forms there are, the API's own request
model each is read into (web/desk/reading.py), who may send it (the API's role rules,
web/api/officers.py) and which call of the seam runs it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict
from temporalio.client import Client

import case_api
from schemas import life
from schemas.case import AssignCaseworker, CaseState
from schemas.intake import Department
from web.api import officers
from web.staff import Staff


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

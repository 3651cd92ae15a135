"""Which action is allowed in which phase of a case.

The case workflow checks every officer or company action against ``ALLOWED`` before it changes
anything; a refused action gets a message that names the phase and where the action belongs.
"""

from __future__ import annotations

from enum import StrEnum

from schemas.case import CaseStatus


class Action(StrEnum):
    assign_caseworker = "assign_caseworker"
    report_material = "report_material"
    report_project_change = "report_project_change"
    request_pre_dialogue = "request_pre_dialogue"
    book_pre_dialogue = "book_pre_dialogue"
    cancel_pre_dialogue = "cancel_pre_dialogue"
    record_pre_dialogue_held = "record_pre_dialogue_held"
    change_sustainability_level = "change_sustainability_level"
    answer_nbe_offer = "answer_nbe_offer"
    issue_decision = "issue_decision"
    withdraw = "withdraw"
    dismiss = "dismiss"
    request_more_time = "request_more_time"
    restart_review = "restart_review"


PHASE_TEXT: dict[CaseStatus, str] = {
    CaseStatus.awaiting_caseworker: "waiting for a process-responsible caseworker",
    CaseStatus.contact_overdue: "past the contact deadline without a caseworker",
    CaseStatus.caseworker_assigned: "with its process-responsible caseworker",
    CaseStatus.awaiting_material: (
        "waiting for material from the company ('fuldt oplyst' not reached)"
    ),
    CaseStatus.in_review: "in review by the departments",
    CaseStatus.awaiting_decision: "ready for the coordinated decision",
    CaseStatus.closed: "closed",
}

_BEFORE_DECISION = frozenset(CaseStatus) - {CaseStatus.closed}

ALLOWED: dict[Action, frozenset[CaseStatus]] = {
    Action.assign_caseworker: _BEFORE_DECISION,
    # material can come early, and a project change may ask for material again in review
    Action.report_material: frozenset(
        {
            CaseStatus.awaiting_caseworker,
            CaseStatus.contact_overdue,
            CaseStatus.caseworker_assigned,
            CaseStatus.awaiting_material,
            CaseStatus.in_review,
        }
    ),
    Action.report_project_change: _BEFORE_DECISION,
    Action.request_pre_dialogue: _BEFORE_DECISION,
    Action.book_pre_dialogue: _BEFORE_DECISION,
    Action.cancel_pre_dialogue: _BEFORE_DECISION,
    Action.record_pre_dialogue_held: _BEFORE_DECISION,
    Action.change_sustainability_level: _BEFORE_DECISION,
    Action.answer_nbe_offer: _BEFORE_DECISION,
    Action.withdraw: _BEFORE_DECISION,
    Action.issue_decision: frozenset({CaseStatus.awaiting_decision}),
    Action.dismiss: frozenset({CaseStatus.awaiting_material}),
    # a review runs while the case is in review, and goes on if material goes missing again
    Action.request_more_time: frozenset({CaseStatus.in_review, CaseStatus.awaiting_material}),
    Action.restart_review: frozenset({CaseStatus.in_review, CaseStatus.awaiting_material}),
}


class PhaseError(ValueError):
    """An action was attempted in a phase where it is not allowed."""


def _describe(phase: CaseStatus) -> str:
    return f"{PHASE_TEXT[phase]} ({phase.value})"


def check_allowed(action: Action, phase: CaseStatus) -> None:
    """Raise PhaseError unless ``action`` is allowed while the case is in ``phase``."""
    allowed = ALLOWED[action]
    if phase in allowed:
        return
    where = "; ".join(_describe(p) for p in CaseStatus if p in allowed)
    raise PhaseError(
        f"{action.value} is not allowed while the case is {_describe(phase)}; "
        f"it is allowed when the case is: {where}."
    )

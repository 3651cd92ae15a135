"""Tests for which action is allowed in which phase (domain.phases)."""

import pytest

from domain.phases import ALLOWED, PHASE_TEXT, Action, PhaseError, check_allowed
from schemas.case import CaseStatus

S = CaseStatus
OPEN = set(CaseStatus) - {S.closed}


def test_case_status_members_in_order() -> None:
    assert [s.value for s in CaseStatus] == [
        "awaiting_caseworker",
        "contact_overdue",
        "caseworker_assigned",
        "awaiting_material",
        "in_review",
        "awaiting_decision",
        "closed",
    ]


def test_every_action_and_phase_is_covered() -> None:
    assert set(ALLOWED) == set(Action)
    assert set(PHASE_TEXT) == set(CaseStatus)
    assert all(isinstance(v, frozenset) and v for v in ALLOWED.values())


def test_texts() -> None:
    assert PHASE_TEXT[S.awaiting_material] == (
        "waiting for material from the company ('fuldt oplyst' not reached)"
    )
    assert PHASE_TEXT[S.in_review] == "in review by the departments"
    assert PHASE_TEXT[S.awaiting_decision] == "ready for the coordinated decision"
    assert PHASE_TEXT[S.closed] == "closed"


@pytest.mark.parametrize(
    "action",
    [
        Action.assign_caseworker,
        Action.report_project_change,
        Action.request_pre_dialogue,
        Action.book_pre_dialogue,
        Action.cancel_pre_dialogue,
        Action.record_pre_dialogue_held,
        Action.change_sustainability_level,
        Action.answer_nbe_offer,
        Action.withdraw,
    ],
)
def test_allowed_in_every_phase_before_closing(action: Action) -> None:
    assert ALLOWED[action] == OPEN
    for phase in OPEN:
        check_allowed(action, phase)
    with pytest.raises(PhaseError):
        check_allowed(action, S.closed)


def test_report_material() -> None:
    assert ALLOWED[Action.report_material] == {
        S.awaiting_caseworker,
        S.contact_overdue,
        S.caseworker_assigned,
        S.awaiting_material,
        S.in_review,
    }
    for phase in (S.awaiting_decision, S.closed):
        with pytest.raises(PhaseError):
            check_allowed(Action.report_material, phase)


def test_issue_decision_and_dismiss_have_one_phase_each() -> None:
    assert ALLOWED[Action.issue_decision] == {S.awaiting_decision}
    assert ALLOWED[Action.dismiss] == {S.awaiting_material}
    check_allowed(Action.issue_decision, S.awaiting_decision)
    check_allowed(Action.dismiss, S.awaiting_material)


def test_message_names_action_phase_and_where_it_is_allowed() -> None:
    with pytest.raises(PhaseError) as info:
        check_allowed(Action.issue_decision, S.in_review)
    assert str(info.value) == (
        "issue_decision is not allowed while the case is in review by the departments "
        "(in_review); it is allowed when the case is: ready for the coordinated decision "
        "(awaiting_decision)."
    )
    assert isinstance(info.value, ValueError)


def test_message_lists_several_phases_in_status_order() -> None:
    with pytest.raises(PhaseError) as info:
        check_allowed(Action.report_material, S.closed)
    message = str(info.value)
    assert message.startswith("report_material is not allowed while the case is closed (closed);")
    names = ["awaiting_caseworker", "contact_overdue", "caseworker_assigned", "awaiting_material"]
    positions = [message.index(f"({name})") for name in [*names, "in_review"]]
    assert positions == sorted(positions)
    assert "(awaiting_decision)" not in message

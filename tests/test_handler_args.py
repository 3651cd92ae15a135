"""The signal guard's check (handler_args.py): a handler as defined on its class."""

from __future__ import annotations

from handler_args import arguments_fit
from workflows.case import CaseWorkflow


def test_a_signal_needs_exactly_its_argument():
    handler = CaseWorkflow.review_late
    assert arguments_fit(handler, [object()])
    assert not arguments_fit(handler, [])
    assert not arguments_fit(handler, [object(), object()])


def test_a_handler_without_a_signature_is_left_to_itself():
    assert arguments_fit(print, [1, 2, 3])

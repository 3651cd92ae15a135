"""Replay: the workflow code must replay the histories of cases already running.

The committed histories in tests/histories/ were recorded with earlier code; a change that
would break a running case fails here (guard such changes with `workflow.patched`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.record_histories import SCENARIOS, record
from workflows import workflow_runner
from workflows.case import CaseWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def replayer() -> Replayer:
    return Replayer(
        workflows=[CaseWorkflow],
        workflow_runner=workflow_runner(),
        data_converter=pydantic_data_converter,
    )


def test_every_scenario_has_a_committed_history():
    assert {p.stem for p in HISTORIES} == set(SCENARIOS)


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_committed_history_replays(path: Path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await replayer().replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
    assert len(history.events) > 20


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_fresh_history_replays(name: str):
    history = await record(name)
    result = await replayer().replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None

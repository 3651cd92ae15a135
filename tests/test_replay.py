"""Replay: the workflow code must replay the histories of cases already running.

The committed histories in tests/histories/ were recorded with earlier code; a change that
would break a running case fails here (guard such changes with `workflow.patched`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.worker import Replayer

from schemas.converter import data_converter
from tests.record_histories import SCENARIOS, load, record
from worker import WORKFLOWS
from workflows import workflow_runner

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def replayer() -> Replayer:
    return Replayer(
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        data_converter=data_converter(),  # old, unencrypted histories pass through
    )


def test_every_scenario_has_a_committed_history():
    """Histories of earlier code (issue3_*) stay; each current scenario has one too."""
    assert set(SCENARIOS) <= {p.stem for p in HISTORIES}
    assert {"issue3_breach_then_late_assignment", "issue3_assignment_and_reassignment"} <= {
        p.stem for p in HISTORIES
    }


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_committed_history_replays(path: Path):
    history = load(path)
    result = await replayer().replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
    # a whole case's life; the retention run is one activity (11 events)
    assert len(history.events) > (10 if path.stem == "retention_run" else 20)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_fresh_history_replays(name: str):
    history = await record(name)
    result = await replayer().replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_histories_cover_both_sides_of_the_core_v2_patch():
    """Cases started before issue 7 (no `core-v2` marker) and after it both replay."""
    marker = "ImNvcmUtdjIi"  # the patch id "core-v2", as the marker's JSON payload in base64
    with_marker = {p.stem for p in HISTORIES if marker in p.read_text()}
    later = ("core_v2_", "contact_delivered_v1_", "local_records_v1_", "local_setup_v1_")
    assert with_marker == {p.stem for p in HISTORIES if p.stem.startswith(later)}
    assert len(with_marker) >= 6 and len(HISTORIES) - len(with_marker) >= 9


def test_histories_cover_both_sides_of_the_contact_delivered_patch():
    """Cases from before issue 11 count the contact at assignment; later ones at delivery."""
    marker = "ImNvbnRhY3QtZGVsaXZlcmVkLXYxIi"  # the patch id in the marker's JSON, base64
    with_marker = {p.stem for p in HISTORIES if marker in p.read_text()}
    later = ("contact_delivered_v1_", "local_records_v1_", "local_setup_v1_")
    assert with_marker == {p.stem for p in HISTORIES if p.stem.startswith(later)}
    assert len(with_marker) == 7


def test_histories_cover_both_sides_of_the_local_records_patch():
    """Cases from before the local records run them as activities; later ones locally."""
    marker = "ImxvY2FsLXJlY29yZHMtdjEi"  # the patch id "local-records-v1" in base64 JSON
    with_marker = {p.stem for p in HISTORIES if marker in p.read_text()}
    later = ("local_records_v1_", "local_setup_v1_")
    assert with_marker == {p.stem for p in HISTORIES if p.stem.startswith(later)}
    assert len(with_marker) == 5
    for path in HISTORIES:
        scheduled = scheduled_activities(path)
        if path.stem.startswith(later):
            assert "record_case" not in scheduled and "send_letter" in scheduled
        elif path.stem.startswith(("core_v2_", "contact_delivered_v1_", "life_")):
            assert "record_case" in scheduled


def test_histories_cover_both_sides_of_the_local_setup_patch():
    """Cases from before read their setup by an activity through the server; later ones
    locally (and only cases with local records)."""
    marker = "ImxvY2FsLXNldHVwLXYxIi"  # the patch id "local-setup-v1" in base64 JSON
    with_marker = {p.stem for p in HISTORIES if marker in p.read_text()}
    assert with_marker == {p.stem for p in HISTORIES if p.stem.startswith("local_setup_v1_")}
    assert len(with_marker) == 2
    for path in HISTORIES:
        scheduled = scheduled_activities(path)
        if path.stem.startswith("local_setup_v1_"):
            assert "load_case_setup" not in scheduled and "send_letter" in scheduled
        elif path.stem.startswith("local_records_v1_"):
            assert "load_case_setup" in scheduled


def scheduled_activities(path: Path) -> set[str]:
    """The activity types a committed history scheduled through the server."""
    data = json.loads(path.read_text())
    events = data.get("history", data)["events"]
    return {
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for e in events
        if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
    }

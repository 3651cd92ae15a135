"""Record case histories on the time-skipping server, for the replay tests.

    .venv/bin/python -m tests.record_histories      # rewrites tests/histories/*.json

Run it when a *new* scenario is added, never to paper over a replay failure: the committed
histories stand for cases already running in production, and the workflow code must keep
replaying them (use `workflow.patched` for changes).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import case_api
from tests.conftest import make_intake, register_search_attributes, start_time_skipping
from tests.test_case_workflow import DEADLINE, RECEIVED, Fakes
from workflows import workflow_runner
from workflows.case import CaseWorkflow

HISTORIES = Path(__file__).parent / "histories"


async def _breach_then_late_assignment(env: WorkflowEnvironment, queue: str) -> WorkflowHistory:
    intake = make_intake(reference="REPLAY-BREACH", received_at=RECEIVED)
    handle = await case_api.start_case(env.client, intake, queue)
    await env.sleep(DEADLINE - await env.get_current_time() + timedelta(hours=10))
    await case_api.assign_caseworker(env.client, intake.reference, "mkj")
    return await handle.fetch_history()


async def _assignment_and_reassignment(env: WorkflowEnvironment, queue: str) -> WorkflowHistory:
    intake = make_intake(reference="REPLAY-ASSIGN", received_at=RECEIVED)
    handle = await case_api.start_case(env.client, intake, queue)
    await env.sleep(timedelta(hours=1))
    await case_api.assign_caseworker(env.client, intake.reference, "mkj")
    await case_api.assign_caseworker(env.client, intake.reference, "abr")
    await env.sleep(DEADLINE - await env.get_current_time() + timedelta(days=1))
    return await handle.fetch_history()


SCENARIOS = {
    "case_breach_then_late_assignment": _breach_then_late_assignment,
    "case_assignment_and_reassignment": _assignment_and_reassignment,
}


async def record(name: str) -> WorkflowHistory:
    """Run one scenario on its own fresh time-skipping server and return its history."""
    env = await start_time_skipping()
    try:
        await register_search_attributes(env.client)
        queue = f"record-{uuid.uuid4()}"
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[CaseWorkflow],
            activities=Fakes(env).activities(),
            workflow_runner=workflow_runner(),
        ):
            return await SCENARIOS[name](env, queue)
    finally:
        await env.shutdown()


async def main() -> None:
    HISTORIES.mkdir(exist_ok=True)
    for name in SCENARIOS:
        history = await record(name)
        (HISTORIES / f"{name}.json").write_text(history.to_json())
        print(f"wrote {HISTORIES / name}.json ({len(history.events)} events)")


if __name__ == "__main__":
    asyncio.run(main())

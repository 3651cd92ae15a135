"""Benchmark: how fast the real stack takes in new cases, against a baseline in the same run.

    .venv/bin/python -m bench.case_throughput [--cases 200]

Starts its own embedded stack (temp folder, free ports) and the real worker in-process, then
  baseline: N trivial workflows that each run one no-op activity (Temporal + worker overhead);
  cases:    N case workflows started at once, until every receipt is recorded as sent in the
            outbox (load_case_setup, record_case, send_letter over SMTP to the sink, record_case).
Prints wall times, throughput and the ratio cases/baseline. Figures vary with the machine;
compare the ratio between runs, not the seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from temporalio.worker import Worker

import case_api
from bench.baseline import BaselineWorkflow, noop
from db.models import OutboxLetter
from db.session import make_engine, make_sessionmaker
from mail.channel import EmailChannel
from stack.dev import prepared_settings, running_stack
from stack.ports import free_port
from temporal_client import connect
from tests.conftest import make_intake
from worker import build_worker
from workflows import workflow_runner
from workflows.interceptors import INTERCEPTORS


async def bench(cases: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        t0 = time.perf_counter()
        with running_stack(
            Path(tmp),
            temporal_port=free_port(),
            ui_port=free_port(),
            pg_port=free_port(),
            smtp_port=free_port(),
        ) as dev:
            settings = await prepared_settings(dev, f"bench-{uuid.uuid4()}")
            startup = time.perf_counter() - t0
            engine = make_engine(settings.database_url)
            sessions = make_sessionmaker(engine)
            client = await connect(settings)

            queue = f"baseline-{uuid.uuid4()}"
            async with Worker(
                client,
                task_queue=queue,
                workflows=[BaselineWorkflow],
                activities=[noop],
                workflow_runner=workflow_runner(),
                interceptors=INTERCEPTORS,
            ):
                t = time.perf_counter()
                await asyncio.gather(
                    *[
                        client.execute_workflow(
                            BaselineWorkflow.run, i, id=f"baseline-{uuid.uuid4()}", task_queue=queue
                        )
                        for i in range(cases)
                    ]
                )
                baseline = time.perf_counter() - t

            async with build_worker(client, sessions, EmailChannel(settings), settings):
                now = datetime.now(UTC)
                intakes = [
                    make_intake(reference=f"BENCH-{uuid.uuid4().hex[:12]}", received_at=now)
                    for _ in range(cases)
                ]
                t = time.perf_counter()
                vault = case_api.vault(sessions, settings)  # sealed at the door, as in production
                await asyncio.gather(
                    *[
                        case_api.start_case(client, i, settings.temporal_task_queue, vault=vault)
                        for i in intakes
                    ]
                )
                while True:
                    async with sessions() as s:
                        sent = await s.scalar(
                            select(func.count())
                            .select_from(OutboxLetter)
                            .where(
                                OutboxLetter.letter_key == "receipt",
                                OutboxLetter.sent_at.is_not(None),
                            )
                        )
                    if sent >= cases:
                        break
                    await asyncio.sleep(0.05)
                intake_time = time.perf_counter() - t
            await engine.dispose()

    print(
        f"stack start-up (Postgres initdb+start, Temporal, SMTP sink, migrations): {startup:.2f} s"
    )
    print("  parts: " + ", ".join(f"{k} {v:.2f} s" for k, v in dev.startup_seconds.items()))
    print(
        f"baseline: {cases} one-activity workflows   {baseline:6.2f} s  {cases / baseline:7.1f} wf/s"
    )
    print(
        f"cases:    {cases} cases to receipt sent    {intake_time:6.2f} s  {cases / intake_time:7.1f} cases/s"
    )
    print(f"ratio cases/baseline (time): {intake_time / baseline:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200)
    asyncio.run(bench(parser.parse_args().cases))


if __name__ == "__main__":
    main()

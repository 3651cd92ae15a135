"""A worker process for M4 (memory per open cached case): the real case worker, or the bare
twin's, with a workflow cache large enough to hold every open case, so the RSS slope is the
cost of one cached workflow.

    python -m bench.memory_worker case|twin <task queue>

Reads the stack's addresses from the environment (`stack.dev.service_env`), prints "ready"
once polling, and runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from temporalio.worker import Worker

from bench.twin import TWIN_ACTIVITIES, TWIN_WORKFLOWS
from db.session import make_engine, make_sessionmaker
from mail.channel import EmailChannel
from settings import Settings
from temporal_client import connect
from worker import WORKFLOWS, activities_for
from workflows import workflow_runner
from workflows.interceptors import INTERCEPTORS

CACHE = 12_000


async def main(kind: str, queue: str) -> None:
    settings = Settings(temporal_task_queue=queue)
    client = await connect(settings)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    if kind == "case":
        workflows, activities = (
            WORKFLOWS,
            activities_for(sessions, EmailChannel(settings), settings),
        )
    else:
        workflows, activities = TWIN_WORKFLOWS, TWIN_ACTIVITIES
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with Worker(
        client,
        task_queue=queue,
        workflows=workflows,
        activities=activities,
        workflow_runner=workflow_runner(),
        interceptors=INTERCEPTORS,
        max_cached_workflows=CACHE,
    ):
        print("ready", flush=True)
        await stop.wait()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))

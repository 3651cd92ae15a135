"""The baseline for benchmarks: a workflow that runs one no-op activity."""

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def noop(i: int) -> int:
    return i


@workflow.defn
class BaselineWorkflow:
    @workflow.run
    async def run(self, i: int) -> int:
        return await workflow.execute_activity(
            noop, i, start_to_close_timeout=timedelta(seconds=30)
        )

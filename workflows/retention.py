"""The retention rule (docs/encryption.md "Erasure"): started once a day by the Temporal
Schedule `personal-data-retention` (retention_schedule.py). One activity erases the personal
data of every closed case whose retention ran out at the run's time; the result says how many.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.retention import RetentionActivities
    from schemas.retention import RetentionRun

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=60))


@workflow.defn(name="RetentionWorkflow")
class RetentionWorkflow:
    @workflow.run
    async def run(self) -> RetentionRun:
        workflow.set_current_details("Erasing personal data of cases past their retention")
        done = await workflow.execute_activity_method(
            RetentionActivities.erase_expired_cases,
            workflow.now(),
            start_to_close_timeout=timedelta(minutes=30),
            retry_policy=RETRY,
        )
        workflow.set_current_details(
            f"Erased the personal data of {done.erased} "
            f"{'case' if done.erased == 1 else 'cases'} ({done.retention_months} months "
            "after closing)"
        )
        return done

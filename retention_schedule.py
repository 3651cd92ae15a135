"""The Temporal Schedule of the retention rule: schedule id `personal-data-retention`, every
day at ERHVERV_RETENTION_HOUR (03:00) Europe/Copenhagen, overlap SKIP; each run starts
`RetentionWorkflow`, which erases the personal data of the cases closed more than
ERHVERV_RETENTION_MONTHS ago (erasure_api.erase_expired). Visible in the Temporal UI under
Schedules; `ensure_retention_schedule` is safe to call on every worker start.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
)

from report_schedule import ensure_schedule
from settings import Settings
from workflows.retention import RetentionWorkflow

SCHEDULE_ID = "personal-data-retention"
WORKFLOW_ID = "personal-data-retention"  # the schedule adds the run's time to it


def retention_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RetentionWorkflow.run,
            id=WORKFLOW_ID,
            task_queue=settings.temporal_task_queue,
            execution_timeout=timedelta(hours=12),
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    second=[ScheduleRange(0)],
                    minute=[ScheduleRange(0)],
                    hour=[ScheduleRange(settings.retention_hour)],
                    comment=f"every day, {settings.retention_hour:02d}:00 Copenhagen",
                )
            ],
            time_zone_name="Europe/Copenhagen",
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(
            note=(
                "Sletning af personoplysninger "
                f"{settings.retention_months} måneder efter sagens afslutning"
            )
        ),
    )


async def ensure_retention_schedule(client: Client, settings: Settings) -> str:
    """Create the schedule, or update it to this definition; answers "created"/"updated"."""
    return await ensure_schedule(client, SCHEDULE_ID, retention_schedule(settings))

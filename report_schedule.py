"""The Temporal Schedule that makes the monthly report (commitment 10): schedule id
`monthly-report`, the 1st of every month at 06:00 Europe/Copenhagen, overlap SKIP; each run
starts `MonthlyReportWorkflow` without a month (= the month before). Visible in the Temporal UI
under Schedules. `ensure_report_schedule` creates it, or brings an existing one up to date:
safe to call on every worker start.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
)

from schemas.report import ReportRequest
from settings import Settings
from workflows.report import MonthlyReportWorkflow

SCHEDULE_ID = "monthly-report"
WORKFLOW_ID = "monthly-report"  # the schedule adds the run's time to it
log = structlog.get_logger("report_schedule")


def report_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            MonthlyReportWorkflow.run,
            ReportRequest(),
            id=WORKFLOW_ID,
            task_queue=settings.temporal_task_queue,
            execution_timeout=timedelta(days=1),
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    second=[ScheduleRange(0)],
                    minute=[ScheduleRange(0)],
                    hour=[ScheduleRange(6)],
                    day_of_month=[ScheduleRange(1)],
                    comment="the 1st of every month, 06:00 Copenhagen",
                )
            ],
            time_zone_name="Europe/Copenhagen",
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note="Månedsrapport til erhvervsorganisationerne (tilsagn 10)"),
    )


async def ensure_report_schedule(client: Client, settings: Settings) -> str:
    """Create the schedule, or update it to this definition; answers "created"/"updated"."""
    return await ensure_schedule(client, SCHEDULE_ID, report_schedule(settings))


async def ensure_schedule(client: Client, schedule_id: str, schedule: Schedule) -> str:
    """Create *schedule*, or update an existing one to it (keeping its state: an operator's
    pause stays); answers "created" or "updated"."""
    try:
        await client.create_schedule(schedule_id, schedule)
        log.info("schedule created", schedule_id=schedule_id)
        return "created"
    except ScheduleAlreadyRunningError:
        pass

    def keep_state(current):
        return ScheduleUpdate(
            schedule=Schedule(
                action=schedule.action,
                spec=schedule.spec,
                policy=schedule.policy,
                state=current.description.schedule.state,  # a pause by an operator stays
            )
        )

    await client.get_schedule_handle(schedule_id).update(keep_state)
    log.info("schedule updated", schedule_id=schedule_id)
    return "updated"

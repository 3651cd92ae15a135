"""The monthly report for the business organisations (commitment 10), started by the Temporal
Schedule `monthly-report` (report_schedule.py: the 1st of every month, 06:00 Copenhagen) or by
hand (`starter.py report --month YYYY-MM`, workflow id `monthly-report-YYYY-MM`).

Two steps, each an activity: make and store the month's report (once: a rerun finds the stored
one), then e-mail it with its PDF to the configured contacts (once: the outbox). Without a
month, the report is for the month before the run's time in Europe/Copenhagen. A month not yet
over is refused (`MonthNotOver`): its report would be frozen incomplete.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.report import ReportActivities
    from domain.calendar import COPENHAGEN
    from schemas.report import (
        ReportRequest,
        ReportResult,
        month_of,
        month_start,
        next_month,
        previous_month,
    )

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=60))


@workflow.defn(name="MonthlyReportWorkflow")
class MonthlyReportWorkflow:
    def __init__(self) -> None:
        self.stage = "starting"
        self.month: str | None = None

    @workflow.run
    async def run(self, request: ReportRequest) -> ReportResult:
        today = workflow.now().astimezone(COPENHAGEN).date()
        month = request.month or previous_month(month_of(today))
        self.month = month
        if month_start(next_month(month)) > today:
            raise ApplicationError(
                f"The month {month} is not over yet; its report is made from the 1st of the "
                "next month.",
                type="MonthNotOver",
                non_retryable=True,
            )
        workflow.set_current_details(f"Monthly report {month}: making the report")
        self.stage = "making"
        made = await workflow.execute_activity_method(
            ReportActivities.make_monthly_report,
            month,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RETRY,
        )
        workflow.set_current_details(f"Monthly report {month}: sending it")
        self.stage = "sending"
        sent = await workflow.execute_activity_method(
            ReportActivities.send_monthly_report,
            month,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=RETRY,
        )
        self.stage = "done"
        workflow.set_current_details(
            f"Monthly report {month}: stored ({made.cases} closed cases) and sent"
        )
        return ReportResult(
            month=month,
            created=made.created,
            mailed=not sent.already_sent,
            message_id=sent.message_id,
            cases=made.cases,
        )

    @workflow.query
    def progress(self) -> str:
        return f"{self.month or '?'}: {self.stage}"

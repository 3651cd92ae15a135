"""The worker: builds the clients once and registers the case workflow and activity classes.

Run it alone against any Temporal cluster, Postgres and SMTP server (see README), or let
`python -m stack up` start it beside the embedded development stack.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import Worker

import figures_api
from activities.booking import BookingActivities
from activities.letters import LetterActivities
from activities.records import RecordActivities
from activities.report import ReportActivities
from activities.retention import RetentionActivities
from activities.survey import SurveyActivities
from db.session import make_engine, make_sessionmaker
from log_setup import configure_logging, settings_usable, temporal_runtime
from mail.channel import EmailChannel, LetterChannel
from settings import Settings, get_settings
from temporal_client import connect
from worker_health import ActivityMetrics, HealthServer
from workflows import workflow_runner
from workflows.case import CaseWorkflow
from workflows.interceptors import INTERCEPTORS
from workflows.pre_dialogue import PreDialogueWorkflow
from workflows.report import MonthlyReportWorkflow
from workflows.retention import RetentionWorkflow
from workflows.review import DepartmentReviewWorkflow
from workflows.survey import SurveyWorkflow

WORKFLOWS = [
    CaseWorkflow,
    DepartmentReviewWorkflow,
    PreDialogueWorkflow,
    SurveyWorkflow,
    MonthlyReportWorkflow,
    RetentionWorkflow,
]


def activities_for(sessions, channel: LetterChannel, settings: Settings) -> list:
    records = RecordActivities(sessions, settings)
    letters = LetterActivities(sessions, channel, settings)
    return [
        records.load_case_setup,
        records.record_case,
        records.processing_history,
        letters.send_letter,
        *booking_activities(sessions, channel, settings),
        *survey_activities(sessions, channel, settings),
        *report_activities(sessions, channel, settings),
        RetentionActivities(sessions, settings).erase_expired_cases,
    ]


def survey_activities(sessions, channel: LetterChannel, settings: Settings) -> list:
    """The survey workflow's activities (its settings, the closed case's facts, the reminder)."""
    survey = SurveyActivities(sessions, channel, settings)
    return [survey.load_survey_setup, survey.record_survey, survey.send_survey_reminder]


def report_activities(sessions, channel: LetterChannel, settings: Settings) -> list:
    """The monthly report's activities (make and store it once, e-mail it once)."""
    report = ReportActivities(sessions, channel, settings)
    return [report.make_monthly_report, report.send_monthly_report]


def booking_activities(sessions, channel: LetterChannel, settings: Settings) -> list:
    """The pre-dialogue booking's activities (letters with .ics, its row, a case's link)."""
    booking = BookingActivities(sessions, channel, settings)
    return [booking.send_booking_letter, booking.record_booking, booking.link_booking_to_case]


def case_worker(
    client: Client,
    task_queue: str,
    activities: list,
    *,
    shutdown_grace: timedelta = timedelta(0),
    cached_cases: int = 1000,
) -> Worker:
    """A worker for the case workflows with *activities*: the real ones (`build_worker`), or
    a test's boundary fakes. One place for the sandbox runner and the interceptors.

    *shutdown_grace*: on shutdown (SIGTERM in `main`) the activities running get this long to
    finish before they are cancelled (and retried on another worker). *cached_cases*: the
    workflow cache (open cases kept in memory)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        interceptors=[*INTERCEPTORS, ActivityMetrics()],
        activities=activities,
        graceful_shutdown_timeout=shutdown_grace,
        max_cached_workflows=cached_cases,
    )


def build_worker(client: Client, sessions, channel: LetterChannel, settings: Settings) -> Worker:
    return case_worker(
        client,
        settings.temporal_task_queue,
        activities_for(sessions, channel, settings),
        shutdown_grace=timedelta(seconds=settings.worker_shutdown_grace_seconds),
        cached_cases=settings.worker_cached_cases,
    )


async def report_schedule_on_start(client: Client, settings: Settings, log) -> None:
    """The monthly report's Temporal Schedule, created or brought up to date (report_schedule.py);
    a failure is logged and the worker goes on (the cases do not depend on it)."""
    from report_schedule import ensure_report_schedule
    from retention_schedule import ensure_retention_schedule

    for name, ensure in (
        ("report", ensure_report_schedule),
        ("retention", ensure_retention_schedule),
    ):
        try:
            log.info(f"{name} schedule ready", outcome=await ensure(client, settings))
        except Exception as exc:  # noqa: BLE001 - logged; the schedule is tried again next start
            log.warning(f"{name} schedule not ensured", error=type(exc).__name__)


async def health_on_start(settings: Settings, client: Client, sessions, worker: Worker, log):
    """The worker's /healthz, /readyz and /metrics (worker_health.py) on
    ERHVERV_WORKER_HEALTH_HOST:PORT, or None (port 0, or the port taken: logged, the worker
    goes on without it)."""
    if not settings.worker_health_port:
        return None
    import case_api

    async def ready() -> dict[str, bool]:
        return {"worker": worker.is_running, **await case_api.readiness(client, sessions)}

    health = HealthServer(settings.worker_health_host, settings.worker_health_port, ready)
    try:
        await health.start()
    except OSError as err:
        log.warning("worker health endpoint off", port=settings.worker_health_port, error=str(err))
        return None
    log.info("worker health endpoint", host=health.host, port=health.port)
    return health


async def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    log = structlog.get_logger("worker")
    # The SDK core's own log lines become JSON lines too (before any client exists).
    # With the SDK's Prometheus metrics on ERHVERV_WORKER_METRICS_ADDRESS (empty: none).
    runtime = temporal_runtime(settings.worker_metrics_address)
    Runtime.set_default(runtime, error_if_already_set=False)
    client = await connect(settings, runtime=runtime)
    await report_schedule_on_start(client, settings, log)
    engine = make_engine(settings.database_url, settings, pre_ping=False)  # activities retry
    sessions = make_sessionmaker(engine)
    worker = build_worker(client, sessions, EmailChannel(settings), settings)
    figures_api.catch_up_later(sessions)  # a refresh a stopped worker left undone
    health = await health_on_start(settings, client, sessions, worker, log)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker started",
        task_queue=settings.temporal_task_queue,
        temporal=settings.temporal_address,
        namespace=settings.temporal_namespace,
    )
    async with worker:
        await stop.wait()
        # Leaving the block stops polling and lets the activities in flight finish (up to
        # ERHVERV_WORKER_SHUTDOWN_GRACE_SECONDS); a second signal changes nothing.
        log.info("worker stopping", grace_seconds=settings.worker_shutdown_grace_seconds)
    log.info("worker stopped")
    if health is not None:
        await health.stop()
    await engine.dispose()


def run() -> int:
    """Run until SIGINT/SIGTERM; a failure is logged as one JSON line (exit code 1); bad
    settings are one message naming the variables (exit code 1)."""
    if not settings_usable("worker", "worker failed"):
        return 1
    try:
        asyncio.run(main())
    except Exception:  # noqa: BLE001 - logged (with the traceback as a field), then exit 1
        configure_logging()  # no-op once configured; JSON even if the settings failed
        structlog.get_logger("worker").exception("worker failed")
        return 1
    return 0


if __name__ == "__main__":
    code = run()
    # The SDK's core threads can outlive interpreter shutdown and abort it
    # (temporalio/sdk-python#300); the worker has shut down (or failed) at this point.
    logging.shutdown()
    os._exit(code)

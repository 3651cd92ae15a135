"""structlog configuration: JSON lines with Temporal ids, configured once per process.

Called from `worker.py`, `starter.py` and the stack's entry point, never at import of a
workflow module. The Temporal SDK's workflow and activity loggers (stdlib logging) go through
the same renderer, and their workflow/activity context becomes fields of the line. Log only
ids and kinds: never names, e-mail addresses, phone numbers or CVR numbers.
"""

from __future__ import annotations

import logging
import sys

import structlog
from temporalio import activity, workflow

_configured = False


def _temporal_context(_, __, event_dict: dict) -> dict:
    """Add workflow and activity ids from the current Temporal context or log record."""
    record = event_dict.get("_record")
    wf = getattr(record, "temporal_workflow", None)
    act = getattr(record, "temporal_activity", None)
    if act is None and activity.in_activity():
        info = activity.info()
        act = {
            "activity_id": info.activity_id,
            "activity_type": info.activity_type,
            "attempt": info.attempt,
            "workflow_id": info.workflow_id,
            "workflow_run_id": info.workflow_run_id,
            "task_queue": info.task_queue,
        }
    for source in (wf, act):
        if source:
            for key in (
                "workflow_id",
                "run_id",
                "workflow_run_id",
                "workflow_type",
                "activity_id",
                "activity_type",
                "attempt",
                "task_queue",
            ):
                if key in source:
                    event_dict.setdefault(key, source[key])
    for key in ("case_id", "letter_key", "kind", "version", "events"):
        if record is not None and hasattr(record, key):
            event_dict.setdefault(key, getattr(record, key))
    return event_dict


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    """Configure structlog and stdlib logging once for this process."""
    global _configured
    if _configured:
        return
    _configured = True
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _temporal_context,
    ]
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("sqlalchemy", "aiosmtplib", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

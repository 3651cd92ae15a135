"""structlog configuration: JSON lines with Temporal ids, configured once per process.

Called from `worker.py`, `starter.py` and the stack's entry point, never at import of a
workflow module. The Temporal SDK's workflow and activity loggers (stdlib logging) go through
the same renderer, and their workflow/activity context becomes fields of the line. The SDK
core's own (Rust) log lines are forwarded into stdlib logging too (`temporal_runtime`), so a
worker writes nothing but JSON lines. Log only ids and kinds: never names, e-mail addresses,
phone numbers or CVR numbers.
"""

from __future__ import annotations

import logging
import sys

import structlog
from temporalio import activity, workflow
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

CORE_LOGGER = "temporalio.core"
# Fields of a core log line that are ids, kinds or plain error descriptions; anything else a
# core line carries (e.g. a failure's message, which could quote case data) is not logged.
CORE_FIELDS = frozenset(
    {
        "error",
        "namespace",
        "task_queue",
        "workflow_id",
        "run_id",
        "workflow_type",
        "activity_id",
        "activity_type",
        "attempt",
        "worker_identity",
        "build_id",
    }
)
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
    core = getattr(record, "temporal_log", None)
    if core is not None:
        _core_fields(core, event_dict)
    return event_dict


def _core_fields(core, event_dict: dict) -> None:
    """A forwarded SDK core record: its target and the fields that are safe to log."""
    event_dict["core_target"] = core.target
    try:
        fields = core.fields  # converted on every access: read once
    except Exception:  # noqa: BLE001 - a field that cannot be converted is not worth a crash
        return
    for key, value in fields.items():
        if key in CORE_FIELDS:
            event_dict.setdefault(
                key, value if isinstance(value, int | float | bool) else str(value)
            )
    if dropped := sorted(set(fields) - CORE_FIELDS):
        event_dict["core_fields_not_logged"] = dropped


def temporal_runtime(metrics_address: str = "") -> Runtime:
    """A Temporal runtime whose core (Rust) log lines go to the stdlib logger `CORE_LOGGER`,
    and so through `configure_logging`'s renderer, instead of coloured text on stdout.

    With *metrics_address* ("host:port"), the SDK's own Prometheus metrics (`temporal_*`:
    polls, task latencies, slots, sticky cache, activity and workflow outcomes) are served on
    http://host:port/metrics. When that address cannot be bound, the runtime runs without
    them and one warning line says so (the worker matters more than its metrics).

    Pass it to `Client.connect(runtime=...)` (see `temporal_client.connect`) before any other
    client exists. Warnings and errors of the core, errors of the rest."""
    logging_config = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(
            logger=logging.getLogger(CORE_LOGGER),
            append_target_to_name=False,
            prepend_target_on_message=False,
            append_log_fields_to_message=False,
        ),
    )
    if metrics_address:
        try:
            return Runtime(
                telemetry=TelemetryConfig(
                    logging=logging_config,
                    metrics=PrometheusConfig(bind_address=metrics_address),
                )
            )
        except ValueError as err:  # e.g. the address is taken
            structlog.get_logger("log_setup").warning(
                "temporal sdk metrics off", address=metrics_address, error=str(err)
            )
    return Runtime(telemetry=TelemetryConfig(logging=logging_config))


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
    # httpx logs every URL it requests at INFO (the sign-in's calls to the identity provider).
    for noisy in ("sqlalchemy", "aiosmtplib", "alembic", "httpx", "httpcore", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.captureWarnings(True)  # Python warnings become log lines too, not bare text


def settings_usable(logger: str, event: str) -> bool:
    """For the entry points: True when the ERHVERV_* settings can be used; otherwise one JSON
    line *event* from *logger* naming each bad variable (never its value, no traceback)."""
    from settings import SettingsProblem, checked_settings

    try:
        checked_settings()
    except SettingsProblem as err:
        configure_logging()
        structlog.get_logger(logger).error(event, problem=str(err))
        return False
    return True

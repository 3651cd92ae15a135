"""The worker's own metrics and its health endpoint.

- `LETTERS_SENT`, `LETTERS_FAILED` (by letter kind) are counted by the letter activity;
  `ACTIVITY_FAILURES` (by activity type and error type) by `ActivityMetrics`, an activity
  interceptor the worker installs. Labels are kinds and types only, never case data.
- `HealthServer`: a tiny asyncio HTTP server (no framework, no signal handlers of its own, so
  the worker's graceful shutdown stays the worker's) answering `GET /healthz` (the process is
  up), `GET /readyz` (the worker is polling and Temporal and Postgres answer; else 503) and
  `GET /metrics` (the counters above, Prometheus text). The Temporal SDK's own metrics are on
  a separate address (`log_setup.temporal_runtime`, `ERHVERV_WORKER_METRICS_ADDRESS`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, generate_latest
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

LETTERS_SENT = Counter(
    "erhverv_letters_sent", "Letters handed to the mail server, by letter kind", ["kind"]
)
LETTERS_FAILED = Counter(
    "erhverv_letters_failed",
    "Letter deliveries that failed (refused or the mail server away), by letter kind",
    ["kind"],
)
ACTIVITY_FAILURES = Counter(
    "erhverv_activity_failures",
    "Activity attempts that failed, by activity type and error type",
    ["activity_type", "error_type"],
)

log = structlog.get_logger("worker.health")


def error_type(err: BaseException) -> str:
    """The failure's kind for a label: the ApplicationError's type, else the class name."""
    if isinstance(err, ApplicationError) and err.type:
        return err.type
    return type(err).__name__


class _CountFailures(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await self.next.execute_activity(input)
        except BaseException as err:
            # A cancelled activity (worker shutting down, heartbeat timeout) is counted too.
            ACTIVITY_FAILURES.labels(activity.info().activity_type, error_type(err)).inc()
            raise


class ActivityMetrics(Interceptor):
    """Counts failed activity attempts (no effect on workflows or their determinism)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountFailures(next)


Ready = Callable[[], Awaitable[dict[str, bool]]]

_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


class HealthServer:
    """`/healthz`, `/readyz` and `/metrics` on *host*:*port* (port 0 in tests: any free one;
    `port` holds the bound one after `start`). *ready* says which parts answer now."""

    def __init__(self, host: str, port: int, ready: Ready) -> None:
        self.host = host
        self.port = port
        self.ready = ready
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (
                b"\r\n",
                b"\n",
                b"",
            ):
                pass  # headers: not needed
            parts = line.decode("latin-1").split()
            method, target = (parts[0], parts[1]) if len(parts) >= 2 else ("", "")
            status, ctype, body = await self._answer(method, target.split("?", 1)[0])
            head = (
                f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + (body if method != "HEAD" else b""))
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, method: str, path: str) -> tuple[int, str, bytes]:
        as_json = "application/json"
        if path not in ("/healthz", "/readyz", "/metrics"):
            return 404, as_json, b'{"status": "not found"}'
        if method not in ("GET", "HEAD"):
            return 405, as_json, b'{"status": "method not allowed"}'
        if path == "/healthz":
            return 200, as_json, b'{"status": "ok"}'
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY)
        try:
            parts = await self.ready()
        except Exception as err:  # noqa: BLE001 - not ready, whatever the reason
            log.info("not ready", error=type(err).__name__)
            parts = {"worker": False}
        body = {"status": "ready" if all(parts.values()) else "not ready"}
        body |= {name: "ok" if ok else "unavailable" for name, ok in parts.items()}
        return (200 if all(parts.values()) else 503), as_json, json.dumps(body).encode()

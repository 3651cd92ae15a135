"""`python -m web`: the web service (FastAPI on uvicorn) on ERHVERV_WEB_HOST:ERHVERV_WEB_PORT.

Run it alone against a real Temporal cluster and Postgres with the `ERHVERV_*` settings (see
README), or let `python -m stack up` start it beside the worker. The app is
`web.app:create_app` (a factory: it reads the settings itself).

It writes nothing but JSON lines on stderr (`log_setup`): its own lines, uvicorn's server
lines (`log_config=None`: uvicorn's loggers go through the one handler), the Temporal SDK
core's, and one access line per request (logger `web.access`) with the method, the path
without its query string, the route, the status and the duration. uvicorn's own access line
(logger `uvicorn.access`) is off: it carries the client's address and the query string.

SIGTERM or SIGINT stops it gracefully (requests in flight get `SHUTDOWN_GRACE` seconds) with
exit code 0. When it cannot start (bad settings, its port taken, the app failing to load) it
logs why and exits with a non-zero code.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, MutableMapping
from types import FrameType
from typing import Any

import structlog
import uvicorn
from temporalio.runtime import Runtime
from uvicorn.importer import import_from_string

from log_setup import configure_logging, settings_usable, temporal_runtime
from settings import Settings, get_settings
from tracing import echoing, request_trace
from web.metrics import instrument, route_template

APP = "web.app:create_app"
SHUTDOWN_GRACE = 10.0  # seconds for requests in flight after SIGTERM (the stack waits 15)
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")  # "uvicorn.access": off

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AccessLog:
    """ASGI middleware: one JSON line per HTTP request, without personal data — method, path
    (no query string), route template, status and duration; no client address, no headers.
    It also gives the request its trace id (tracing.py: field `trace_id` of this line and of
    every line logged while the request runs, response header `X-Request-ID`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = structlog.get_logger("web.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with request_trace(scope) as trace_id:  # in this line and all the request's lines
            await self._logged(scope, receive, echoing(send, trace_id))

    async def _logged(self, scope: Scope, receive: Receive, send: Send) -> None:
        began = time.perf_counter()
        status: int | None = None

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        except BaseException:
            status = status or 500  # uvicorn answers 500 when nothing was sent yet
            raise
        finally:
            route = route_template(scope)
            self.log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                **({"route": route} if route else {}),
                status=status,
                duration_ms=round((time.perf_counter() - began) * 1000, 1),
            )


DEV_SECRETS = frozenset({Settings.model_fields["web_secret"].default.get_secret_value()})


def _route_uvicorn_logs() -> None:
    """uvicorn's loggers keep no handler of their own: their records reach the root handler
    that `configure_logging` set up, as JSON lines."""
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


def serve(factory: str = APP) -> int:
    """Run the app made by *factory* ("module:function") until SIGTERM/SIGINT; exit code."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    _route_uvicorn_logs()
    log = structlog.get_logger("web")
    if not settings.dev_sign_in and settings.web_secret.get_secret_value() in DEV_SECRETS:
        # Outside the dev stack the development secret would let anyone sign staff cookies
        # and company links.
        log.error(
            "web service not started: ERHVERV_WEB_SECRET is the development default; set a "
            "secret of at least 32 random characters (e.g. `openssl rand -hex 32`)"
        )
        return 2
    # The SDK core's own log lines become JSON lines too (before any client exists).
    Runtime.set_default(temporal_runtime(), error_if_already_set=False)

    def app() -> ASGIApp:
        return AccessLog(instrument(import_from_string(factory)()))

    config = uvicorn.Config(
        app,
        factory=True,
        host=settings.web_host,
        port=settings.web_port,
        log_config=None,
        access_log=False,  # uvicorn's line has the client address and query: `AccessLog`
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
    )
    server = uvicorn.Server(config)
    stopped_by: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        """Before and after uvicorn watches the signals itself (a signal while the app is
        imported still stops it; uvicorn raises its captured signal again once it is done)."""
        if not stopped_by:
            stopped_by.append(signum)
        server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    log.info(
        "web service starting",
        host=settings.web_host,
        port=settings.web_port,
        temporal=settings.temporal_address,
        namespace=settings.temporal_namespace,
        pid=os.getpid(),
    )
    server.run()
    if stopped_by:
        log.info("web service stopped", signal=signal.Signals(stopped_by[0]).name)
        return 0
    if not server.started:
        log.error("web service did not start", host=settings.web_host, port=settings.web_port)
        return 1
    return 0


def run(factory: str = APP) -> int:
    """`serve`, with any failure logged as one JSON line (exit code 1); bad settings are one
    message naming the variables (exit code 1)."""
    if not settings_usable("web", "web service failed"):
        return 1
    try:
        return serve(factory)
    except SystemExit as exit_:  # uvicorn exits this way when the app or the port fail
        code = exit_.code if isinstance(exit_.code, int) else 1
        if code:
            configure_logging()
            structlog.get_logger("web").error("web service did not start", exit_code=code)
        return code
    except Exception:  # noqa: BLE001 - logged (with the traceback as a field), then exit 1
        configure_logging()  # no-op once configured; JSON even if the settings failed
        structlog.get_logger("web").exception("web service failed")
        return 1


if __name__ == "__main__":
    code = run()
    # The Temporal SDK's core threads can outlive interpreter shutdown and abort it
    # (temporalio/sdk-python#300); the server has shut down (or failed) at this point.
    logging.shutdown()
    os._exit(code)

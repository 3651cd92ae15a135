"""The web service's Prometheus metrics: `GET /metrics` (not in the OpenAPI document).

- `RequestMetrics` (ASGI middleware, installed by `python -m web` around the app): every HTTP
  request counted by method, route template (`/api/v1/cases/{reference}`, never the raw path:
  no references or tokens in labels) and status, with its duration in a histogram. A request
  no route matched has the route `unmatched`.
- The product's gauges, computed at scrape time through the seam (`ops_api`) and cached for
  `ERHVERV_METRICS_CACHE_SECONDS`: open cases per status, open cases with a breached contact
  deadline, late reviews, unsent letters per kind (pending / failing). When Postgres does not
  answer, `erhverv_product_figures_up` is 0 and the request metrics are still served.

`/metrics` needs no sign-in: the service listens on 127.0.0.1 by default; in production keep
it off the public side of the proxy (docs/deployment.md "Metrics").
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

import ops_api

REQUESTS = Counter(
    "erhverv_web_requests", "HTTP requests by method, route template and status",
    ["method", "route", "status"],
)  # fmt: skip
DURATION = Histogram(
    "erhverv_web_request_duration_seconds",
    "HTTP request duration by method and route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

log = structlog.get_logger("web.metrics")
router = APIRouter(include_in_schema=False)


def route_template(scope) -> str | None:
    """The matched route's path template with its router's prefix (`/api/v1/cases/{reference}`),
    or None when no route matched. FastAPI keeps an included router's own route (without the
    prefix) in `scope["route"]` and the prefixed one in its effective route context."""
    effective = (scope.get("fastapi") or {}).get("effective_route_context")
    return getattr(effective, "path", None) or getattr(scope.get("route"), "path", None)


class RequestMetrics:
    """ASGI middleware: counts and times each HTTP request by its route template."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # what uvicorn answers when the app fails before answering

        async def noting_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            route = route_template(scope) or "unmatched"
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            DURATION.labels(method, route).observe(time.perf_counter() - began)


def instrument(app):
    """*app* wrapped in `RequestMetrics` (what `python -m web` serves)."""
    return RequestMetrics(app)


@dataclass
class _Cached:
    at: float = float("-inf")
    text: bytes = b""


def product_text(figures: ops_api.OperationalFigures | None) -> bytes:
    """The product's gauges in Prometheus text (a registry of their own per scrape)."""
    registry = CollectorRegistry(auto_describe=False)
    up = Gauge(
        "erhverv_product_figures_up", "1 when the product's figures could be read from Postgres",
        registry=registry,
    )  # fmt: skip
    up.set(0 if figures is None else 1)
    if figures is not None:
        open_cases = Gauge(
            "erhverv_open_cases", "Open cases by status (phase)", ["status"], registry=registry
        )
        for status, n in figures.open_cases.items():
            open_cases.labels(status).set(n)
        Gauge(
            "erhverv_contact_deadline_breached_cases",
            "Open cases whose first-contact deadline is breached",
            registry=registry,
        ).set(figures.contact_deadline_breached)
        Gauge(
            "erhverv_late_reviews", "Late department reviews on open cases", registry=registry
        ).set(figures.late_reviews)
        Gauge(
            "erhverv_cases_with_late_reviews",
            "Open cases with at least one late department review",
            registry=registry,
        ).set(figures.cases_with_late_reviews)
        unsent = Gauge(
            "erhverv_letters_unsent",
            "Letters in the outbox not yet sent, by kind and state (pending: not tried yet; "
            "failing: tried and not delivered)",
            ["kind", "state"],
            registry=registry,
        )
        for state, counts in (
            ("pending", figures.letters_pending),
            ("failing", figures.letters_failing),
        ):
            for kind, n in counts.items():
                unsent.labels(kind, state).set(n)
    return generate_latest(registry)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    services = request.app.state.services
    cache: _Cached = getattr(request.app.state, "metrics_cache", None) or _Cached()
    request.app.state.metrics_cache = cache
    now = time.monotonic()
    if now - cache.at >= services.settings.metrics_cache_seconds:
        try:
            figures = await ops_api.operational_figures(services.sessions)
        except Exception as err:  # noqa: BLE001 - the scrape still answers; up is 0
            log.warning("product figures not read", error=type(err).__name__)
            figures = None
        cache.text, cache.at = product_text(figures), now
    return Response(generate_latest(REGISTRY) + cache.text, media_type=CONTENT_TYPE_LATEST)

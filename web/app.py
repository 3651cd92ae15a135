"""The web service: FastAPI on uvicorn (`python -m web`), one more door on the service seam.

`create_app` builds the app; its lifespan opens the Postgres pool, and the Temporal client is
connected on first use, so the service starts (and `/healthz` answers) while Temporal or
Postgres are still away; `/readyz` says when both answer.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import Client

import case_api
from settings import Settings, get_settings
from temporal_client import connect
from tracing import TraceIds
from web import booking, company, desk, figures, forms, pages, problems, signin, staff, survey
from web.api import actions, cases, erasure, health, officers
from web.codec import router as codec_router
from web.metrics import router as metrics_router
from web.reports import router as reports_router

DESCRIPTION = """The municipality's one entry ("Én indgang") for business cases: building,
environment and fire. Case systems start and follow cases here with an API key
(`Authorization: Bearer <key>`, created with `starter.py api-key create NAME`). Errors are
RFC 9457 problem documents (`application/problem+json`). Send an `Idempotency-Key` header
with every request that changes something: a retry with the same key returns the first answer.
"""


class Services:
    """What the routes use: the settings, the Postgres sessions, the Temporal client."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker, client: Client | None):
        self.settings = settings
        self.sessions = sessions
        self._client = client
        self._lock = asyncio.Lock()

    async def temporal(self) -> Client:
        """The Temporal client, connected on first use; a 503 problem while Temporal is away."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(connect(self.settings), timeout=5)
                except Exception:  # noqa: BLE001 - any failure: not reachable now
                    raise problems.unavailable("Temporal") from None
            return self._client


def create_app(
    settings: Settings | None = None,
    *,
    sessions: async_sessionmaker | None = None,
    client: Client | None = None,
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if sessions is not None:
            app.state.services = Services(settings, sessions, client)
            yield
            return
        async with case_api.store(settings.database_url) as own_sessions:
            app.state.services = Services(settings, own_sessions, client)
            yield

    app = FastAPI(
        title="Erhvervssag – Én indgang",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    problems.install(app)
    # Each request's trace id in its log lines and `X-Request-ID` (tracing.py).
    app.add_middleware(TraceIds)
    app.include_router(health.router)
    app.include_router(metrics_router)  # GET /metrics (Prometheus text, not in OpenAPI)
    app.include_router(cases.router, prefix="/api/v1")
    app.include_router(actions.router, prefix="/api/v1")
    app.include_router(officers.router, prefix="/api/v1")
    app.include_router(erasure.router, prefix="/api/v1")
    app.include_router(staff.router)
    app.include_router(signin.router)
    app.include_router(company.router)
    app.include_router(booking.router)
    app.include_router(desk.router)
    app.include_router(survey.router)
    app.include_router(codec_router)  # the codec server for operators (docs/codec-server.md)
    app.include_router(reports_router)  # before figures: /figures/rapporter first
    app.include_router(figures.router)
    app.include_router(pages.router)
    app.add_exception_handler(forms.FormRefused, pages.on_form_refused)
    app.add_exception_handler(StarletteHTTPException, pages.on_http)
    app.mount("/static", pages.static_files(), name="static")

    @app.get("/", include_in_schema=False)
    async def front() -> RedirectResponse:
        """The entry's front door leads to the guidance (the company's page and booking will
        join it)."""
        return RedirectResponse("/vejledning", status_code=307)

    def openapi() -> dict:
        """The OpenAPI document, with the intake contract (read from the raw body, so that it
        is checked exactly as the CLI checks it) among the schemas."""
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            intake = cases.intake_schema()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(intake.pop("$defs", {}))
            components["CaseIntake"] = intake
            bodies = actions.body_schemas() | officers.body_schemas()
            bodies["DevSignIn"] = staff.DevSignIn.model_json_schema()
            schema["components"]["securitySchemes"] = {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a case system's API key (starter.py api-key create NAME)",
                },
                "staffSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": staff.COOKIE,
                    "description": "a signed-in member of staff",
                },
            }
            schema["security"] = [{"apiKey": []}, {"staffSession": []}]
            for name, body in bodies.items():
                components.setdefault(name, body)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app

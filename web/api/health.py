"""`/healthz`: the process is up. `/readyz`: Temporal and Postgres answer (else 503)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

import case_api
from web.problems import problem_response, unavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The service is up", openapi_extra={"security": []})
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Temporal and Postgres answer",
    openapi_extra={"security": []},
    responses={503: {"description": "a part is not reachable; see Retry-After"}},
)
async def readyz(request: Request) -> JSONResponse:
    services = request.app.state.services
    try:
        client = await services.temporal()
    except Exception:  # noqa: BLE001 - the problem says which part
        return problem_response(unavailable("Temporal"), "/readyz")
    parts = await case_api.readiness(client, services.sessions)
    if all(parts.values()):
        return JSONResponse({"status": "ready", **{k: "ok" for k in parts}})
    away = ", ".join(name.capitalize() for name, ok in parts.items() if not ok)
    return problem_response(unavailable(away), "/readyz")

"""Errors as RFC 9457 problem details (`application/problem+json`), one type per kind.

Never a stack trace: every error the app can meet becomes a problem document with a title, a
status and a detail a person can act on; a 422 names each field in `errors`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://erhvervssag.kommune.example/problems/"

# The workflow's rejection kinds (ApplicationError types) and the HTTP status they map to.
STATUS_OF_KIND = {
    "InvalidInput": 422,
    "InvalidArguments": 422,
    "MissingArgument": 422,
    "InvalidCaseworker": 422,
    "InvalidTime": 422,
    "UnknownCaseworker": 422,
    "UnknownMaterial": 422,
    "UnknownDepartment": 422,
    "AlreadyAssigned": 409,
    "NotCurrentCaseworker": 409,
    "NothingToReplace": 409,
    "AlreadyDecided": 409,
    "Closing": 409,
    "NotAllowedInPhase": 409,
    "ReviewAlreadySubmitted": 409,
    "ReviewNotRunning": 409,
    "ReviewNotFailed": 409,
    "NotWarned": 409,
    "NotBooked": 409,
    "NoCaseworker": 409,
    "NoNbeOffer": 409,
    "NoPreDialogue": 409,
    "WrongSustainabilityLevel": 409,
}


class Problem(Exception):
    """An error to answer with a problem document."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail
        self.headers = headers or {}
        self.extra = extra


def unavailable(part: str, retry_after: int = 5) -> Problem:
    """503 with Retry-After: a part the service needs (Temporal, Postgres) is away."""
    return Problem(
        503,
        "Unavailable",
        f"{part} is not reachable right now",
        f"{part} is not reachable right now; nothing was changed. Try again in a moment.",
        headers={"Retry-After": str(retry_after)},
    )


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    body = {
        "type": TYPE_BASE + problem.kind,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        **({"instance": instance} if instance else {}),
        **problem.extra,
    }
    return JSONResponse(
        body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


def field_errors(errors: list[dict]) -> list[dict[str, str]]:
    """Each problem as {field, reason}: never the submitted value."""
    out = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")]
        reason = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if e.get("type") == "extra_forbidden":
            reason = "unknown field (check the spelling)"
        elif e.get("type") == "missing":
            reason = "required field is missing"
        out.append({"field": ".".join(loc) or "(body)", "reason": reason[:300]})
    return out


async def on_problem(request: Request, exc: Problem) -> JSONResponse:
    return problem_response(exc, request.url.path)


async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = field_errors(exc.errors())
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
    return problem_response(
        Problem(422, "InvalidInput", "The request has errors", detail, errors=errors),
        request.url.path,
    )


async def on_pydantic(request: Request, exc: ValidationError) -> JSONResponse:
    return await on_validation(request, RequestValidationError(exc.errors(include_url=False)))


async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    kinds = {404: "NotFound", 405: "MethodNotAllowed", 401: "Unauthorized", 403: "Forbidden"}
    return problem_response(
        Problem(
            exc.status_code,
            kinds.get(exc.status_code, "HttpError"),
            str(exc.detail) if exc.status_code != 404 else "Not found",
            str(exc.detail),
            headers=dict(exc.headers or {}),
        ),
        request.url.path,
    )


def postgres_away(exc: BaseException) -> bool:
    """True for the errors of a Postgres that does not answer (refused, reset, closed, pool
    timeout): the caller is told 503 with Retry-After, never a 500."""
    import errno

    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | ConnectionError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OSError) and exc.errno in {errno.ECONNREFUSED, errno.ECONNRESET}:
        return True
    try:
        import asyncpg

        return isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.InterfaceError)
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """The last net: a 500 without a stack trace (the log has the error class, no values);
    a Postgres that does not answer is a 503 with Retry-After (nothing was changed)."""
    import structlog

    if postgres_away(exc) or (exc.__cause__ is not None and postgres_away(exc.__cause__)):
        structlog.get_logger("web").warning(
            "postgres away", path=request.url.path, error=type(exc).__name__
        )
        return problem_response(unavailable("Postgres"), request.url.path)
    structlog.get_logger("web").error(
        "unexpected error", path=request.url.path, error=type(exc).__name__
    )
    return problem_response(
        Problem(
            500,
            "InternalError",
            "Something went wrong on our side",
            "The request could not be completed. Try again; if it keeps failing, tell the "
            "municipality's operators the time of the request.",
        ),
        request.url.path,
    )


def install(app) -> None:
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ValidationError, on_pydantic)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)

"""Who is calling. Case systems send `Authorization: Bearer <API key>` (keys from
`starter.py api-key create NAME`, stored hashed, see access.py). Officers sign in with OpenID
Connect (not yet built). Every refusal is a 401/403 problem and an audit log line with the
path and the reason, never the key."""

from __future__ import annotations

import structlog
from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

import access
from web.problems import Problem, unavailable

_bearer = HTTPBearer(auto_error=False, description="An API key for a case system")
log = structlog.get_logger("web.auth")


def _unauthorized(request: Request, reason: str, title: str, detail: str) -> Problem:
    log.info("refused", path=request.url.path, reason=reason)
    return Problem(401, "Unauthorized", title, detail, headers={"WWW-Authenticate": "Bearer"})


async def case_system(request: Request) -> str:
    """The calling case system's name, or a 401 problem."""
    credentials: HTTPAuthorizationCredentials | None = await _bearer(request)
    if credentials is None:
        raise _unauthorized(
            request,
            "no api key",
            "An API key is needed",
            "Send the case system's API key as 'Authorization: Bearer <key>' (ask the "
            "municipality's operators for one: starter.py api-key create NAME).",
        )
    services = request.app.state.services
    try:
        name = await access.verify_api_key(services.sessions, credentials.credentials)
    except Exception:  # noqa: BLE001 - Postgres away: not the caller's fault
        raise unavailable("Postgres") from None
    if name is None:
        raise _unauthorized(
            request,
            "unknown or revoked api key",
            "The API key is not valid",
            "The API key is unknown or has been revoked; ask the municipality's operators "
            "for a new one.",
        )
    return name


async def may_read(request: Request, caller: str, reference: str) -> None:
    """A case system reads only the cases it started (403 otherwise)."""
    services = request.app.state.services
    owner = await access.owner_of(services.sessions, reference)
    if owner != caller:
        log.info("refused", path=request.url.path, reason="not the case system's case")
        raise Problem(
            403,
            "Forbidden",
            "Not your case",
            f"Case {reference} was not started by this case system; a case system sees only "
            "the cases it started.",
        )

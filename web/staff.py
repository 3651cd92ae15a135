"""Staff: who is signed in, and what their role lets them do.

A staff session is a signed cookie (HMAC-SHA256 with `ERHVERV_WEB_SECRET`; `Secure` unless
on 127.0.0.1, `HttpOnly`, `SameSite=Strict`, 8 hours) holding the caseworker's id; the person
and their departments come from the caseworker directory on every request, so a deactivated
caseworker is out at once. Production signs staff in with OpenID Connect (web/oidc.py,
web/signin.py: a claim of the identity provider mapped to an active caseworker); the dev stack
has a sign-in that picks a person from the directory (`ERHVERV_DEV_SIGN_IN`, off by default),
as JSON here and as a form on /log-ind.

Roles: an officer of a department reviews for that department; the case's coordinator (its
process-responsible caseworker) books meetings, issues the decision and dismisses; an
operator (`ERHVERV_OPERATORS`) restarts reviews and may hand any case over. Every refusal is
a 401/403 problem and an audit log line without personal data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

import structlog
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

import case_api
from schemas.case import Caseworker
from schemas.fields import CaseworkerId
from web.problems import Problem

COOKIE = "erhverv_staff"
MAX_AGE = 8 * 3600
log = structlog.get_logger("web.staff")
router = APIRouter(tags=["staff sign-in"])


@dataclass(frozen=True)
class Staff:
    person: Caseworker
    operator: bool

    @property
    def id(self) -> str:
        return self.person.id


def _sign(secret: bytes, payload: str) -> str:
    mac = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def session_cookie(secret: bytes, caseworker_id: str, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    payload = f"{caseworker_id}.{issued}"
    return f"{payload}.{_sign(secret, payload)}"


def read_cookie(secret: bytes, value: str, now: float | None = None) -> str | None:
    """The caseworker id of a valid, unexpired cookie; None for anything else."""
    try:
        caseworker_id, issued, mac = value.rsplit(".", 2)
        fresh = (now if now is not None else time.time()) - int(issued) < MAX_AGE
    except ValueError:
        return None
    if not fresh or not hmac.compare_digest(mac, _sign(secret, f"{caseworker_id}.{issued}")):
        return None
    return caseworker_id


def refuse(request: Request, status: int, reason: str, detail: str) -> Problem:
    log.info("refused", path=request.url.path, status=status, reason=reason)
    kind = "Unauthorized" if status == 401 else "Forbidden"
    title = "Sign in first" if status == 401 else "Not allowed for your role"
    return Problem(status, kind, title, detail)


async def staff(request: Request) -> Staff:
    """The signed-in staff member, or a 401 problem."""
    services = request.app.state.services
    secret = services.settings.web_secret.get_secret_value().encode()
    caseworker_id = read_cookie(secret, request.cookies.get(COOKIE, ""))
    person = (
        await case_api.staff_member(services.sessions, caseworker_id) if caseworker_id else None
    )
    if person is None:
        raise refuse(
            request,
            401,
            "no staff session",
            "Sign in as municipal staff first (the municipality's sign-in).",
        )
    return Staff(person=person, operator=person.id in services.settings.operators)


class DevSignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caseworker_id: CaseworkerId


PROBLEM = {"content": {"application/problem+json": {}}}


@router.post(
    "/auth/dev/sign-in",
    summary="Dev stack only: sign in as a caseworker",
    responses={403: PROBLEM, 404: PROBLEM, 422: PROBLEM},
    openapi_extra={
        "security": [],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DevSignIn"}}},
        },
    },
)
async def dev_sign_in(request: Request, response: Response) -> dict[str, str]:
    services = request.app.state.services
    if not services.settings.dev_sign_in:
        raise Problem(404, "NotFound", "Not found", "There is no such page.")
    from web.api.actions import parse  # the one body reader: a 422 naming each field

    body = parse(DevSignIn, await request.body())
    person = await case_api.staff_member(services.sessions, body.caseworker_id)
    if person is None:
        raise refuse(request, 403, "unknown caseworker", "No active caseworker with that id.")
    secret = services.settings.web_secret.get_secret_value().encode()
    response.set_cookie(
        COOKIE,
        session_cookie(secret, person.id),
        max_age=MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.url.hostname not in ("127.0.0.1", "localhost"),  # the dev stack
    )
    return {"signed_in": person.id}


@router.post("/auth/sign-out", summary="End the staff session", openapi_extra={"security": []})
async def sign_out(response: Response) -> dict[str, str]:
    response.delete_cookie(COOKIE)
    return {"signed_out": "yes"}


def set_session(request: Request, response: Response, caseworker_id: str) -> None:
    """Sign *caseworker_id* in on *response* (the dev sign-in's and OpenID Connect's cookie)."""
    secret = request.app.state.services.settings.web_secret.get_secret_value().encode()
    response.set_cookie(
        COOKIE,
        session_cookie(secret, caseworker_id),
        max_age=MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.url.hostname not in ("127.0.0.1", "localhost"),  # the dev stack
    )


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE,
        httponly=True,
        samesite="strict",
        secure=request.url.hostname not in ("127.0.0.1", "localhost"),
    )


async def signed_in(request: Request) -> Caseworker | None:
    """The signed-in person, or None (for pages that show either)."""
    services = request.app.state.services
    secret = services.settings.web_secret.get_secret_value().encode()
    caseworker_id = read_cookie(secret, request.cookies.get(COOKIE, ""))
    if not caseworker_id:
        return None
    return await case_api.staff_member(services.sessions, caseworker_id)

"""What every HTML form of the entry shares: CSRF protection, rate limits on the public
forms, a request id per form (a double submit runs the action once), and pydantic errors as a
Danish error summary.

CSRF: a random value in the cookie `erhverv_csrf` (HttpOnly, SameSite=Strict, `Secure` off
127.0.0.1) and, in every form, the hidden field `csrf_token` = HMAC(web secret, cookie value).
A POST passes only when the field matches the cookie (and an `Origin` header, when sent, is
our own). No session is needed, so the public forms (booking, the company's page) are
protected as well as the staff's.

Rate limits (`limits`, a moving window in memory per process): `check_rate(request, name,
limit)` answers 429 with `Retry-After` and a Danish page when one address sends too much.
Behind a proxy, uvicorn's `--forwarded-allow-ips` gives the client address.

Usage in a route::

    token = csrf_token(request)               # for the form; call ensure_csrf_cookie(response)
    await check_form(request, form)           # on POST: CSRF; raises FormRefused
    errors = danish_errors(err, LABELS)       # ValidationError -> [(field, message)]
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import Request, Response
from limits import parse as parse_limit
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

CSRF_COOKIE = "erhverv_csrf"
CSRF_FIELD = "csrf_token"
REQUEST_ID_FIELD = "request_id"
log = structlog.get_logger("web.forms")


class FormRefused(Exception):
    """A form post refused before it is read: bad CSRF token (403) or too many posts (429).
    Answered with a Danish page by the handler in `web.app` (pages) ."""

    def __init__(self, status: int, reason: str, message: str, retry_after: int | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.message = message
        self.retry_after = retry_after


def _secret(request: Request) -> bytes:
    return request.app.state.services.settings.web_secret.get_secret_value().encode()


def _mac(secret: bytes, value: str) -> str:
    digest = hmac.new(secret, b"csrf\n" + value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _cookie_value(request: Request) -> str:
    """The browser's CSRF cookie, or a new one kept on the request for this response."""
    value = request.cookies.get(CSRF_COOKIE, "")
    if 16 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum():
        return value
    fresh = getattr(request.state, "new_csrf_cookie", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(24)
        request.state.new_csrf_cookie = fresh
    return fresh


def csrf_token(request: Request) -> str:
    """The hidden field's value for a form on this page."""
    return _mac(_secret(request), _cookie_value(request))


def ensure_csrf_cookie(request: Request, response: Response) -> Response:
    """Set the CSRF cookie on *response* if this request made a new one."""
    fresh = getattr(request.state, "new_csrf_cookie", None)
    if fresh is not None:
        response.set_cookie(
            CSRF_COOKIE,
            fresh,
            max_age=12 * 3600,
            httponly=True,
            samesite="strict",
            secure=request.url.hostname not in ("127.0.0.1", "localhost"),
        )
    return response


def new_request_id() -> str:
    """A request id for a form: the action behind it runs once however often it is sent."""
    return uuid.uuid4().hex


def _origin_ok(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin == own


def check_csrf(request: Request, form: Mapping[str, Any]) -> None:
    """Raise `FormRefused` (403) unless the form's token belongs to the browser's cookie."""
    sent = form.get(CSRF_FIELD)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    ok = (
        isinstance(sent, str)
        and sent.isascii()  # compare_digest refuses other text (a TypeError, i.e. a 500)
        and bool(cookie)
        and hmac.compare_digest(sent, _mac(_secret(request), cookie))
        and _origin_ok(request)
    )
    if not ok:
        log.info("form refused", path=request.url.path, reason="csrf")
        raise FormRefused(
            403,
            "csrf",
            "Formularen kunne ikke sendes, fordi siden var for gammel eller åbnet et andet "
            "sted. Gå tilbage, genindlæs siden, og send formularen igen.",
        )


async def read_form(request: Request, *, max_files: int = 1000, max_fields: int = 1000):
    """The posted form. A body that cannot be read as one (a multipart body without its
    boundary, more files or fields than the form has) raises `FormRefused` (400): a Danish
    page, where Starlette would answer with an English problem document."""
    try:
        return await request.form(max_files=max_files, max_fields=max_fields)
    except StarletteHTTPException as err:
        if err.status_code != 400:
            raise
        log.info("form refused", path=request.url.path, reason="unreadable")
        raise FormRefused(
            400,
            "unreadable",
            "Formularen kunne ikke læses. Gå tilbage, genindlæs siden, og send formularen igen.",
        ) from None


_storage = MemoryStorage()
_limiter = MovingWindowRateLimiter(_storage)


def check_rate(request: Request, name: str, limit: str) -> None:
    """Raise `FormRefused` (429) when this client address has used up *limit* (e.g.
    "10/minute") for the form *name*."""
    item = parse_limit(limit)
    client = request.client.host if request.client else "unknown"
    if _limiter.hit(item, "form", name, client):
        return
    reset = _limiter.get_window_stats(item, "form", name, client).reset_time
    import time

    retry_after = max(1, int(reset - time.time()) + 1)
    log.info("form refused", path=request.url.path, reason="rate", form=name)
    raise FormRefused(
        429,
        "rate",
        "Der er sendt for mange formularer fra jeres adresse på kort tid. Vent lidt, og prøv igen.",
        retry_after=retry_after,
    )


def reset_rate_limits() -> None:
    """For tests: forget every count."""
    _storage.reset()


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


_DANISH = {
    "missing": "Udfyld {label}.",
    "string_too_short": "Udfyld {label}.",
    "string_too_long": "{Label} er for lang (højst {max_length} tegn).",
    "too_long": "Vælg højst {max_length} i {label}.",
    "too_short": "Vælg mindst {min_length} i {label}.",
    "int_parsing": "{Label} skal være et tal.",
    "int_type": "{Label} skal være et tal.",
    "greater_than_equal": "{Label} skal være mindst {ge}.",
    "less_than_equal": "{Label} må højst være {le}.",
    "literal_error": "Vælg en af mulighederne i {label}.",
    "enum": "Vælg en af mulighederne i {label}.",
    "value_error": "Tjek {label}.",
    "string_pattern_mismatch": "{Label} har ikke den rigtige form.",
    "date_from_datetime_parsing": "{Label} skal være en dato (åååå-mm-dd).",
    "date_parsing": "{Label} skal være en dato (åååå-mm-dd).",
    "datetime_parsing": "{Label} skal være et tidspunkt.",
    "bool_parsing": "Vælg ja eller nej i {label}.",
}


def danish_errors(err: ValidationError, labels: Mapping[str, str]) -> list[FieldError]:
    """One Danish line per problem, naming the field by its label on the form (``labels``:
    field name -> label in the form's words, lower case). Never repeats the value."""
    found: list[FieldError] = []
    for problem in err.errors(include_url=False, include_input=False):
        loc = [str(p) for p in problem["loc"] if not isinstance(p, int)]
        field = loc[0] if loc else ""
        label = labels.get(field, field.replace("_", " ") or "formularen")
        ctx = problem.get("ctx") or {}
        template = _DANISH.get(problem["type"])
        if template is None:
            message = f"Tjek {label}."
        else:
            try:
                message = template.format(label=label, Label=label[:1].upper() + label[1:], **ctx)
            except (KeyError, IndexError):
                message = f"Tjek {label}."
        if not any(e.field == field and e.message == message for e in found):
            found.append(FieldError(field, message))
    return found

"""The company's session: a signed cookie ``erhverv_company`` holding a CVR number verified by
MitID Erhverv (the broker's CVR claim). The sign-in handler (OpenID Connect, web/oidc.py) sets
it with `company_cookie`; the pages read it with `signed_in_cvr`.

The cookie is ``<cvr>.<issued>.<HMAC-SHA256>`` (with ``ERHVERV_WEB_SECRET``, its own domain
separation, so a staff cookie is never a company cookie), HttpOnly, SameSite=Lax (the broker
sends the browser back from another site), Secure off 127.0.0.1, 8 hours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time

from fastapi import Request, Response

from schemas.intake import check_cvr

COOKIE = "erhverv_company"
MAX_AGE = 8 * 3600
_CVR = re.compile(r"[1-9][0-9]{7}")


def _sign(secret: bytes, payload: str) -> str:
    mac = hmac.new(secret, b"company\n" + payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def valid_cvr(cvr: str) -> bool:
    if not isinstance(cvr, str) or not _CVR.fullmatch(cvr):
        return False
    try:
        check_cvr(cvr)
    except ValueError:
        return False
    return True


def company_cookie(secret: bytes, cvr: str, now: float | None = None) -> str:
    """The cookie value for a company whose CVR number the broker verified."""
    if not valid_cvr(cvr):
        raise ValueError("not a valid CVR number")
    issued = int(now if now is not None else time.time())
    payload = f"{cvr}.{issued}"
    return f"{payload}.{_sign(secret, payload)}"


def read_company_cookie(secret: bytes, value: str, now: float | None = None) -> str | None:
    """The CVR number of a valid, unexpired cookie; None for anything else."""
    try:
        cvr, issued, mac = value.rsplit(".", 2)
        age = (now if now is not None else time.time()) - int(issued)
    except (ValueError, AttributeError):
        return None
    if not (0 <= age < MAX_AGE) or not valid_cvr(cvr):
        return None
    if not hmac.compare_digest(mac, _sign(secret, f"{cvr}.{issued}")):
        return None
    return cvr


def set_company_cookie(request: Request, response: Response, cvr: str) -> Response:
    """Sign the company in on *response* (for the sign-in handler)."""
    secret = request.app.state.services.settings.web_secret.get_secret_value().encode()
    response.set_cookie(
        COOKIE,
        company_cookie(secret, cvr),
        max_age=MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.hostname not in ("127.0.0.1", "localhost"),
    )
    return response


def signed_in_cvr(request: Request) -> str | None:
    """The dependency: the signed-in company's CVR number, or None."""
    secret = request.app.state.services.settings.web_secret.get_secret_value().encode()
    return read_company_cookie(secret, request.cookies.get(COOKIE, ""))

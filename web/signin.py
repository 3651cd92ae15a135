"""Signing in and out, as pages (no JavaScript):

- `GET /log-ind`: the staff's sign-in page: "Log ind med kommunens login" (OpenID Connect,
  when configured) and, on the dev stack only (`ERHVERV_DEV_SIGN_IN`), a form that picks a
  person from the caseworker directory (`POST /log-ind/dev`, CSRF-protected). Signed in, it
  names the person and offers `POST /log-ud`.
- `GET /auth/login?next=/sagsbehandler` and `GET /auth/callback`: staff through the
  municipality's identity provider (web/oidc.py); the provider's claim is mapped to an
  active caseworker of the directory.
- `GET /auth/virksomhed/login` and `GET /auth/virksomhed/callback`: a company through a MitID
  Erhverv / NemLog-in broker; the validated CVR claim becomes the company cookie
  (`web.company.identity`).

Every refusal is a 401/403 (a Danish page for a browser, a problem document otherwise) and
one audit line `sign-in refused` with the flow, the reason and at most a keyed hash of the
provider's subject: never an e-mail address, a name or a CVR number.

The staff cookie is `SameSite=Strict`, which a browser does not send on the navigation that
comes back from the provider (nor on a redirect that continues it). The callbacks therefore
answer with a short page that moves on by itself (`Refresh: 0`, no script) and links onward:
that next request starts on our own page and carries the cookie.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field, TypeAdapter, ValidationError

import case_api
from schemas.case import Caseworker
from schemas.fields import CaseworkerId
from web import forms, oidc, staff
from web.company import identity
from web.oidc import SignInRefused
from web.pages.routes import message_page, render
from web.problems import Problem, problem_response

router = APIRouter(include_in_schema=False)
log = structlog.get_logger("web.signin")

STAFF_HOME = "/sagsbehandler"
COMPANY_HOME = "/virksomhed"
RATE = "30/minute"
_EMAIL = TypeAdapter(EmailStr)
_CASEWORKER_ID = TypeAdapter(CaseworkerId)


def _services(request: Request):
    return request.app.state.services


def _secret(request: Request) -> bytes:
    return _services(request).settings.web_secret.get_secret_value().encode()


def _refused(request: Request, flow: str, refusal: SignInRefused) -> Response:
    """The audit line and the answer for a refused sign-in."""
    log.info(
        "sign-in refused",
        flow=flow,
        path=request.url.path,
        status=refusal.status,
        reason=refusal.reason,
        subject=oidc.subject_hash(_secret(request), refusal.subject),
    )
    if refusal.status == 403:
        title = "I har ikke adgang" if flow == "company" else "Ingen adgang"
        message = (
            "Log-ind lykkedes, men virksomheden kunne ikke genkendes. Log ind med MitID "
            "Erhverv for den virksomhed, sagen hører til."
            if flow == "company"
            else "Log-ind lykkedes, men personen findes ikke som aktiv sagsbehandler i "
            "kommunens sagsbehandlerliste. Kontakt kommunens it-afdeling for at blive oprettet."
        )
    elif refusal.status == 503:
        title = "Log-ind er ikke tilgængeligt lige nu"
        message = "Log-ind-tjenesten svarer ikke. Prøv igen om lidt."
    else:
        title = "Log-ind lykkedes ikke"
        message = (
            "Log-ind kunne ikke gennemføres, fordi svaret fra log-ind-tjenesten var ugyldigt "
            "eller for gammelt. Start forfra."
        )
    again = ("Start forfra", "/auth/virksomhed/login" if flow == "company" else "/log-ind")
    if "text/html" in request.headers.get("accept", ""):
        response = message_page(
            request, title=title, message=message, status_code=refusal.status, back=again
        )
    else:
        kind = {401: "Unauthorized", 403: "Forbidden"}.get(refusal.status, "Unavailable")
        problem = Problem(refusal.status, kind, title, message)
        response = problem_response(problem, request.url.path)
    client = oidc.staff_client if flow == "staff" else oidc.company_client
    configured = client(_services(request).settings)
    if configured is not None:
        oidc.end_handshake(request, configured, response)
    return response


def _onward(request: Request, title: str, message: str, to: str) -> Response:
    """A page that moves on to *to* at once (see the module's note on SameSite=Strict)."""
    return message_page(
        request,
        title=title,
        message=message,
        back=("Fortsæt", to),
        headers={"Refresh": f"0; url={to}", "Cache-Control": "no-store"},
    )


def _not_configured(request: Request) -> Response:
    return message_page(
        request,
        title="Log-ind er ikke sat op",
        message="Log-ind med kommunens login er ikke sat op på denne server.",
        status_code=404,
        back=("Til log-ind-siden", "/log-ind"),
    )


# --- the page -----------------------------------------------------------------------------


LABELS = {"caseworker_id": "sagsbehandler", "next": "adressen"}


class DevPick(BaseModel):
    """The dev sign-in form."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    csrf_token: Annotated[str, Field(max_length=200)]
    caseworker_id: CaseworkerId
    next: Annotated[str, Field(max_length=500)] = STAFF_HOME


async def _page(
    request: Request, next_path: str, errors: list | None = None, status_code: int = 200
) -> Response:
    services = _services(request)
    settings = services.settings
    person = await staff.signed_in(request)
    people: list[Caseworker] = []
    if settings.dev_sign_in and person is None:
        people = await case_api.staff_directory(services.sessions)
    response = render(
        request,
        "signin.html",
        title=("Fejl: " if errors else "") + "Log ind for medarbejdere",
        breadcrumbs=[("Log ind", None)],
        status_code=status_code,
        person=person,
        oidc_login=(
            f"/auth/login?next={quote(next_path, safe='/')}"
            if oidc.staff_client(settings)
            else None
        ),
        company_login="/auth/virksomhed/login" if oidc.company_client(settings) else None,
        dev=settings.dev_sign_in,
        people=people,
        next=next_path,
        errors=errors or [],
        csrf_token=forms.csrf_token(request),
        home=STAFF_HOME,
    )
    response.headers["Cache-Control"] = "no-store"
    return forms.ensure_csrf_cookie(request, response)


@router.get("/log-ind")
async def signin_page(request: Request, next: str | None = None) -> Response:
    return await _page(request, oidc.local_next(next, STAFF_HOME))


@router.post("/log-ind/dev")
async def dev_signin(request: Request) -> Response:
    settings = _services(request).settings
    if not settings.dev_sign_in:
        return message_page(
            request,
            title="Siden findes ikke",
            message="Denne måde at logge ind på findes kun i udviklingsmiljøet.",
            status_code=404,
            back=("Til log-ind-siden", "/log-ind"),
        )
    form = await request.form()
    forms.check_csrf(request, form)
    raw = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    next_path = oidc.local_next(raw.get("next"), STAFF_HOME)
    try:
        pick = DevPick.model_validate(raw)
    except ValidationError as err:
        errors = [
            forms.FieldError(e.field, "Vælg en sagsbehandler.") if e.field == "caseworker_id" else e
            for e in forms.danish_errors(err, LABELS)
        ]
        return await _page(request, next_path, errors, 422)
    person = await case_api.staff_member(_services(request).sessions, pick.caseworker_id)
    if person is None:
        return _refused(request, "staff", SignInRefused("unknown caseworker (dev)", 403))
    response = RedirectResponse(next_path, status_code=303)
    staff.set_session(request, response, person.id)
    log.info("signed in", flow="staff", method="dev")
    return response


@router.post("/log-ud")
async def signout(request: Request) -> Response:
    form = await request.form()
    forms.check_csrf(request, form)
    response = RedirectResponse("/log-ind", status_code=303)
    staff.end_session(request, response)
    log.info("signed out", flow="staff")
    return response


# --- staff through OpenID Connect ---------------------------------------------------------


@router.get("/auth/login")
async def staff_login(request: Request, next: str | None = None) -> Response:
    settings = _services(request).settings
    client = oidc.staff_client(settings)
    if client is None:
        return _not_configured(request)
    forms.check_rate(request, "oidc-login", RATE)
    try:
        return await oidc.begin(request, settings, client, oidc.local_next(next, STAFF_HOME))
    except SignInRefused as refusal:
        return _refused(request, "staff", refusal)


async def _caseworker(request: Request, claims: dict) -> Caseworker:
    services = _services(request)
    settings = services.settings
    value = claims.get(settings.oidc_caseworker_claim)
    subject = claims.get("sub")
    try:
        if settings.oidc_caseworker_match == "email":
            if claims.get("email_verified") is False:
                raise SignInRefused("e-mail address not verified", 403, subject)
            person = await case_api.staff_member_by_email(
                services.sessions, _EMAIL.validate_python(value)
            )
        else:
            person = await case_api.staff_member(
                services.sessions, _CASEWORKER_ID.validate_python(value)
            )
    except ValidationError:
        raise SignInRefused("caseworker claim missing or malformed", 403, subject) from None
    if person is None:
        raise SignInRefused("not an active caseworker of the directory", 403, subject)
    return person


@router.get("/auth/callback")
async def staff_callback(request: Request) -> Response:
    settings = _services(request).settings
    client = oidc.staff_client(settings)
    if client is None:
        return _not_configured(request)
    forms.check_rate(request, "oidc-callback", RATE)
    try:
        claims, next_path = await oidc.finish(request, settings, client)
        person = await _caseworker(request, claims)
    except SignInRefused as refusal:
        return _refused(request, "staff", refusal)
    response = _onward(request, "Logget ind", f"Logget ind som {person.name}.", next_path)
    staff.set_session(request, response, person.id)
    oidc.end_handshake(request, client, response)
    log.info(
        "signed in",
        flow="staff",
        method="oidc",
        subject=oidc.subject_hash(_secret(request), claims.get("sub")),
    )
    return response


# --- companies through MitID Erhverv (a NemLog-in / broker OpenID provider) -----------------


@router.get("/auth/virksomhed/login")
async def company_login(request: Request) -> Response:
    settings = _services(request).settings
    client = oidc.company_client(settings)
    if client is None:
        return _not_configured(request)
    forms.check_rate(request, "oidc-login", RATE)
    try:
        return await oidc.begin(request, settings, client, COMPANY_HOME)
    except SignInRefused as refusal:
        return _refused(request, "company", refusal)


@router.get("/auth/virksomhed/callback")
async def company_callback(request: Request) -> Response:
    settings = _services(request).settings
    client = oidc.company_client(settings)
    if client is None:
        return _not_configured(request)
    forms.check_rate(request, "oidc-callback", RATE)
    try:
        claims, _ = await oidc.finish(request, settings, client)
        cvr = claims.get(settings.company_oidc_cvr_claim)
        if not isinstance(cvr, str) or not identity.valid_cvr(cvr):
            raise SignInRefused("no valid CVR claim", 403, claims.get("sub"))
    except SignInRefused as refusal:
        return _refused(request, "company", refusal)
    response = _onward(
        request, "I er logget ind", "I er logget ind med MitID Erhverv.", COMPANY_HOME
    )
    identity.set_company_cookie(request, response, cvr)
    oidc.end_handshake(request, client, response)
    log.info(
        "signed in",
        flow="company",
        method="oidc",
        subject=oidc.subject_hash(_secret(request), claims.get("sub")),
    )
    return response

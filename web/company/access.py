"""Who may see a case page, and how they came: the signed link from a letter (``/sag?t=...``)
or a company signed in with MitID Erhverv (``/virksomhed/sager/{reference}``, the cookie's CVR
must be the case's). A refusal is a Danish page; the token never reaches a log line (the
access log logs paths, these lines only ids and reasons).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import quote

import structlog
from fastapi import Request
from fastapi.responses import HTMLResponse
from temporalio.client import Client

import case_api
from domain import company_link
from domain.company_link import LinkProblem, LinkRefused
from schemas.case import CaseState
from schemas.fields import check_reference
from web.company.identity import signed_in_cvr
from web.pages.routes import message_page

log = structlog.get_logger("web.company")


@dataclass(frozen=True)
class Access:
    """A case page opened by *via* ("link" or "cvr"); `url` builds its addresses."""

    case_id: str
    reference: str
    via: str
    link_id: str | None
    base: str  # "/sag" or "/virksomhed/sager/<reference>"
    query: str  # "?t=<token>" or ""

    def url(self, suffix: str = "") -> str:
        return f"{self.base}{suffix}{self.query}"

    def audit(self) -> dict[str, str]:
        data = {"via": self.via}
        if self.link_id:
            data["link_id"] = self.link_id
        return data


class PageRefused(Exception):
    def __init__(self, response: HTMLResponse) -> None:
        self.response = response


def _services(request: Request):
    return request.app.state.services


def _secret(request: Request) -> bytes:
    settings = _services(request).settings
    return company_link.signing_secret(
        settings.company_link_secret.get_secret_value(), settings.web_secret.get_secret_value()
    )


def refused_link(request: Request, problem: LinkProblem) -> HTMLResponse:
    days = _services(request).settings.company_link_days
    if problem == LinkProblem.expired:
        title, status = "Linket er udløbet", 410
        message = (
            f"Linket til jeres sag er udløbet. Et link virker i {days} dage. Med næste brev fra "
            "os får I et nyt link. Har I brug for at se sagen før, så skriv til os, og nævn "
            "sagsnummeret, så sender vi jer et nyt link."
        )
    elif problem == LinkProblem.revoked:
        title, status = "Linket virker ikke længere", 410
        message = (
            "Linket til jeres sag er lukket af kommunen. Med næste brev fra os får I et nyt "
            "link. Har I brug for at se sagen før, så skriv til os, og nævn sagsnummeret."
        )
    else:
        title, status = "Linket er ikke gyldigt", 403
        message = (
            "Vi kan ikke åbne sagen med dette link. Det kan være ændret eller kun kopieret "
            "delvist. Brug hele linket fra det seneste brev fra os, eller skriv til os, og nævn "
            "sagsnummeret."
        )
    return message_page(request, title=title, message=message, status_code=status)


async def by_link(request: Request) -> Access:
    """The case of the link in ``?t=``; `PageRefused` with a Danish page otherwise."""
    token = request.query_params.get("t", "")
    settings = _services(request).settings
    try:
        link = company_link.read_token(
            _secret(request), token, settings.company_link_days, now=time.time()
        )
    except LinkRefused as refused:
        log.info("case page refused", path=request.url.path, reason=refused.problem.value)
        raise PageRefused(refused_link(request, refused.problem)) from None
    sessions = _services(request).sessions
    state = await case_api.company_link_state(sessions, link.case_id, link.link_id)
    if state != "ok":
        problem = LinkProblem.revoked if state == "revoked" else LinkProblem.tampered
        log.info("case page refused", path=request.url.path, reason=state, link_id=link.link_id)
        if state == "revoked":
            await case_api.record_web_event(
                sessions,
                link.case_id,
                "company_link_refused",
                {"reason": "revoked", "link_id": link.link_id},
            )
        raise PageRefused(refused_link(request, problem))
    return Access(
        case_id=link.case_id,
        reference=link.reference,
        via="link",
        link_id=link.link_id,
        base=company_link.PATH,
        query=f"?t={quote(token, safe='')}",
    )


def sign_in_page(request: Request) -> HTMLResponse:
    return message_page(
        request,
        title="Log ind med MitID Erhverv",
        message=(
            "For at se jeres virksomheds sager skal I logge ind med MitID Erhverv. I kan også "
            "bruge linket i brevene fra os."
        ),
        status_code=401,
        back=("Log ind med MitID Erhverv", "/auth/virksomhed/login"),
    )


async def by_cvr(request: Request, reference: str) -> Access:
    """A signed-in company's own case; `PageRefused` (sign-in page, or a Danish 404 for a case
    that is not theirs: no hint that it exists)."""
    if signed_in_cvr(request) is None:
        raise PageRefused(sign_in_page(request))
    try:
        case_id = f"case-{check_reference(reference)}"
    except ValueError:
        raise PageRefused(not_theirs(request)) from None
    return Access(
        case_id=case_id,
        reference=case_id.removeprefix("case-"),
        via="cvr",
        link_id=None,
        base=f"/virksomhed/sager/{case_id.removeprefix('case-')}",
        query="",
    )


def not_theirs(request: Request) -> HTMLResponse:
    return message_page(
        request,
        title="Sagen findes ikke",
        message="Vi kan ikke finde en sag med det sagsnummer hos jeres virksomhed.",
        status_code=404,
        back=("Se jeres virksomheds sager", "/virksomhed"),
    )


def unavailable(request: Request) -> HTMLResponse:
    return message_page(
        request,
        title="Siden kan ikke vises lige nu",
        message=(
            "Vi kan ikke hente jeres sag lige nu på grund af en teknisk fejl hos os. Prøv igen "
            "om lidt. Intet af det, I har sendt, er gået tabt."
        ),
        status_code=503,
        headers={"Retry-After": "30"},
    )


async def temporal(request: Request) -> Client:
    try:
        return await _services(request).temporal()
    except Exception:  # noqa: BLE001 - Temporal away: a Danish page, not a problem document
        raise PageRefused(unavailable(request)) from None


async def live_state(request: Request, access: Access) -> CaseState:
    """The case's state through the seam; for a company signed in, only its own case."""
    client = await temporal(request)
    try:
        state = await case_api.get_state(
            client,
            access.reference,
            case_api.vault(
                request.app.state.services.sessions, request.app.state.services.settings
            ),
        )
    except case_api.CaseError:
        raise PageRefused(not_theirs(request)) from None
    except Exception:  # noqa: BLE001 - Temporal failing now
        raise PageRefused(unavailable(request)) from None
    if access.via == "cvr" and state.intake.company.cvr != signed_in_cvr(request):
        log.info("case page refused", path=request.url.path, reason="other company")
        raise PageRefused(not_theirs(request))
    return state

"""The page routes: /vejledning (overview, department, case type), /tilgaengelighed, and a
Danish 404 page for any unknown address under /vejledning.

The pages read nothing but the settings (municipality name, contact address) and the domain's
data: no database, no Temporal. They are left out of the OpenAPI document (it describes the
API for case systems).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from domain.texts import DEPARTMENT_NAMES, plural
from settings import Settings, get_settings
from web.pages import guidance as g

WEB_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

templates = Jinja2Templates(directory=TEMPLATE_DIR)
templates.env.trim_blocks = templates.env.lstrip_blocks = True
templates.env.filters["first_upper"] = g.first_upper
templates.env.filters["plural"] = plural

router = APIRouter(include_in_schema=False)

HTML_HEADERS = {
    # The pages load nothing from elsewhere and run no script.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def static_files() -> StaticFiles:
    """The app's own CSS (and any image it needs), mounted at /static."""
    return StaticFiles(directory=STATIC_DIR)


def _settings(request: Request) -> Settings:
    services = getattr(request.app.state, "services", None)
    return services.settings if services is not None else get_settings()


def render(
    request: Request,
    template: str,
    *,
    title: str,
    breadcrumbs: list[tuple[str, str | None]] | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page in the base layout. ``breadcrumbs``: (text, address) pairs; the last one (the
    page itself) has no address."""
    settings = _settings(request)
    return templates.TemplateResponse(
        request,
        template,
        {
            "title": title,
            "breadcrumbs": breadcrumbs or [],
            "municipality": settings.municipality_name,
            "contact_email": g.contact_email(settings.mail_from),
            **context,
        },
        status_code=status_code,
        headers=HTML_HEADERS,
    )


def not_found(request: Request) -> HTMLResponse:
    return render(
        request,
        "not_found.html",
        title="Siden findes ikke",
        status_code=404,
        departments=g.departments(),
    )


def message_page(
    request: Request,
    *,
    title: str,
    message: str,
    status_code: int = 200,
    back: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page that says one thing (a refusal, a link that no longer works), in Danish."""
    response = render(
        request,
        "message.html",
        title=title,
        heading=title,
        message=message,
        back=back,
        status_code=status_code,
    )
    response.headers.update(headers or {})
    return response


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the API, not a client that wants JSON)."""
    if request.url.path.startswith(("/api/", "/healthz", "/readyz", "/openapi.json", "/auth/")):
        return False
    return "text/html" in request.headers.get("accept", "")


async def on_form_refused(request: Request, exc) -> HTMLResponse:
    """A form refused before it was read (CSRF, rate limit): a Danish page."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    title = "For mange forsøg" if exc.status == 429 else "Formularen kunne ikke sendes"
    return message_page(
        request, title=title, message=exc.message, status_code=exc.status, headers=headers
    )


async def on_http(request: Request, exc):
    """A 404/405 for a browser is a Danish page; the API keeps its problem documents."""
    from web import problems

    if exc.status_code == 404 and wants_html(request):
        return not_found(request)
    return await problems.on_http(request, exc)


HOME = ("Vejledning", "/vejledning")


@router.get("/vejledning", response_class=HTMLResponse)
async def overview(request: Request) -> Response:
    return render(
        request,
        "guidance_overview.html",
        title="Vejledning til virksomheder",
        breadcrumbs=[("Vejledning", None)],
        departments=g.departments(),
        sustainability=g.SUSTAINABILITY,
        contact_days=g.CONTACT_WORKING_DAYS,
    )


@router.get("/vejledning/{department}", response_class=HTMLResponse)
async def department_page(request: Request, department: str) -> Response:
    found = g.department_by_slug(department)
    if found is None:
        return not_found(request)
    view = g.department_view(found)
    if department != g.DEPARTMENT_SLUGS[found]:
        return RedirectResponse(view.path, status_code=308)
    return render(
        request,
        "guidance_department.html",
        title=f"{view.name} – det skal I aflevere",
        breadcrumbs=[HOME, (view.name, None)],
        view=view,
        contact_days=g.CONTACT_WORKING_DAYS,
    )


@router.get("/vejledning/{department}/{case_type}", response_class=HTMLResponse)
async def case_type_page(request: Request, department: str, case_type: str) -> Response:
    found_department = g.department_by_slug(department)
    found_type = g.case_type_by_slug(case_type)
    if found_department is None or found_type is None:
        return not_found(request)
    view = g.case_type_view(found_department, found_type)
    if request.url.path != view.path:
        return RedirectResponse(view.path, status_code=308)
    department_view = g.department_view(found_department)
    others = [
        g.case_type_view(other, found_type)
        for other in g.DEPARTMENT_SLUGS
        if other != found_department
    ]
    return render(
        request,
        "guidance_case_type.html",
        title=f"{view.name} ({department_view.name.lower()}) – det skal I aflevere",
        breadcrumbs=[HOME, (department_view.name, department_view.path), (view.name, None)],
        view=view,
        department=department_view,
        others=others,
        department_names=DEPARTMENT_NAMES,
        contact_days=g.CONTACT_WORKING_DAYS,
    )


@router.get("/vejledning/{rest:path}", response_class=HTMLResponse)
async def unknown_guidance(request: Request, rest: str) -> Response:
    if not rest or rest.endswith("/"):  # '/vejledning/byggeri/' -> '/vejledning/byggeri'
        return RedirectResponse(f"/vejledning/{rest.strip('/')}".rstrip("/"), status_code=308)
    return not_found(request)


@router.get("/tilgaengelighed", response_class=HTMLResponse)
async def accessibility(request: Request) -> Response:
    return render(
        request,
        "accessibility.html",
        title="Tilgængelighedserklæring",
        breadcrumbs=[("Tilgængelighedserklæring", None)],
    )

"""The public figures (commitment 9): `/figures` (the indicators against the agreement's
targets, trend plots, every industry side by side), the open data `/figures.json` and
`/figures.csv` (streamed, web/figures/open_data.py), and the plots as SVG under
`/figures/plots/<name>.svg`.

Everything is read from the newest snapshot (figures_api's read side: the header, the chosen
period's rows and the monthly trend rows, never every row); nothing is recomputed per view,
and no free text is ever shown here. docs/figures.md documents every figure and column.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.exceptions import HTTPException

import figures_api
from web.figures import plots
from web.figures.open_data import COLUMNS, csv_stream, json_stream
from web.figures.view import COMPARE, DIMENSIONS, INDICATORS, Figures
from web.pages.routes import render

__all__ = ["COLUMNS", "router"]

router = APIRouter(include_in_schema=False)

EMPTY = {"cases": 0, "answers": 0, "newest_month": None, "periods": [], "indicators": []}
OPEN_HEADERS = {"X-Content-Type-Options": "nosniff", "Access-Control-Allow-Origin": "*"}
TREND = sorted({key for p in plots.PLOTS.values() for key in p.indicators})


async def _header(request: Request) -> dict:
    """The newest snapshot's header (the empty one before the first refresh)."""
    found = await figures_api.header(request.app.state.services.sessions)
    return found or {**EMPTY, "computed_at": None, "snapshot": None}


@router.get("/figures")
async def figures_page(request: Request, periode: str | None = None):
    def choose(header: dict) -> str:
        """The asked period if it has figures, else the default (the newest case's year)."""
        known = {p for p, _ in header.get("periods") or []}
        return periode if periode in known else Figures(header).default_period()

    found, rows = await figures_api.page(request.app.state.services.sessions, choose, TREND)
    body = found or {**EMPTY, "computed_at": None, "snapshot": None}
    periods = Figures(body).periods()
    known = {p for p, _, _ in periods}
    period = choose(body)
    chosen = next((name for p, _, name in periods if p == period), None)
    figures = Figures(body, rows)
    return render(
        request,
        "figures_page.html",
        title="Sådan går det – tal for erhvervsservice",
        breadcrumbs=[("Forside", "/vejledning"), ("Sådan går det", None)],
        body=body,
        figures=figures,
        periods=periods,
        period=period,
        period_label=chosen,
        asked_unknown=periode is not None and periode not in known,
        glance=figures.glance(period),
        compare=[INDICATORS[k].name for k in COMPARE],
        tables=[(d, name, figures.side_by_side(period, d)) for d, name in DIMENSIONS.items()],
        plots=[
            (p, plots.alt_text(p, figures), figures.trend(list(p.indicators)))
            for p in plots.PLOTS.values()
        ],
        plot_version=body.get("snapshot") or 0,
        updated=_updated(body.get("computed_at")),
    )


def _updated(computed_at: str | None) -> str:
    """When the figures were computed, in Danish and Copenhagen time."""
    if not computed_at:
        return ""
    from datetime import datetime

    from domain.texts import danish_datetime

    return danish_datetime(datetime.fromisoformat(computed_at))


@router.get("/figures/plots/{name}.svg")
async def plot(request: Request, name: str) -> Response:
    if name not in plots.PLOTS:
        raise HTTPException(status_code=404)
    body = await _header(request)
    version = f"{body.get('snapshot')}@{body.get('computed_at')}"
    svg = await plots.svg_of(name, request.app.state.services.sessions, body, version)
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
        },
    )


@router.get("/figures.json")
async def figures_json(request: Request) -> Response:
    sessions = request.app.state.services.sessions
    found = await figures_api.header(sessions)
    return StreamingResponse(
        json_stream(sessions, found), media_type="application/json", headers=OPEN_HEADERS
    )


@router.get("/figures.csv")
async def figures_csv(request: Request) -> Response:
    sessions = request.app.state.services.sessions
    found = await figures_api.header(sessions)
    return StreamingResponse(
        csv_stream(sessions, found),
        media_type="text/csv; charset=utf-8",
        headers={**OPEN_HEADERS, "Content-Disposition": 'inline; filename="figures.csv"'},
    )

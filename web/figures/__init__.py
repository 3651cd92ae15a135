"""The public figures (commitment 9): `/figures` (the indicators against the agreement's
targets, trend plots, every industry side by side), the open data `/figures.json` and
`/figures.csv`, and the plots as SVG under `/figures/plots/<name>.svg`.

Everything is read from the newest snapshot (`figures_api.latest`); nothing is recomputed per
view, and no free text is ever shown here. docs/figures.md documents every figure and column.
"""

from __future__ import annotations

import csv
import io
import json

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

import figures_api
from domain import industry
from web.figures import plots
from web.figures.view import COMPARE, DIMENSIONS, INDICATORS, Figures
from web.pages.routes import render

router = APIRouter(include_in_schema=False)

COLUMNS = [
    "period",
    "period_type",
    "dimension",
    "group",
    "indicator",
    "value",
    "target",
    "met",
    "n",
    "suppressed",
]
EMPTY = {"cases": 0, "answers": 0, "newest_month": None, "rows": [], "published_cases": []}
OPEN_HEADERS = {"X-Content-Type-Options": "nosniff", "Access-Control-Allow-Origin": "*"}


async def _latest(request: Request, cases: bool = False) -> dict:
    """The newest figures; the per-case open data only for the JSON document (*cases*)."""
    body = await figures_api.latest(request.app.state.services.sessions, cases=cases)
    return body or {**EMPTY, "computed_at": None, "snapshot": None}


@router.get("/figures")
async def figures_page(request: Request, periode: str | None = None):
    body = await _latest(request)
    figures = Figures(body)
    periods = figures.periods()
    known = {p for p, _, _ in periods}
    period = periode if periode in known else figures.default_period()
    chosen = next((name for p, _, name in periods if p == period), None)
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
    body = await _latest(request)
    svg = plots.svg(name, Figures(body), f"{body.get('snapshot')}@{body.get('computed_at')}")
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
        },
    )


def open_data(body: dict) -> dict:
    """The JSON document: the rows, what each indicator is, the groups' names, and the
    published cases the non-survey figures can be recomputed from."""
    return {
        "computed_at": body.get("computed_at"),
        "cases": body["cases"],
        "answers": body["answers"],
        "columns": COLUMNS,
        "indicators": body.get("indicators") or [],
        "industry_sections": industry.SECTIONS | {industry.UNKNOWN: industry.UNKNOWN_NAME},
        "rows": body["rows"],
        "published_cases": body["published_cases"],
        "documentation": "/figures#om-tallene and docs/figures.md",
    }


@router.get("/figures.json")
async def figures_json(request: Request) -> Response:
    document = open_data(await _latest(request, cases=True))
    return Response(
        json.dumps(document, ensure_ascii=False, indent=1),
        media_type="application/json",
        headers=OPEN_HEADERS,
    )


def csv_text(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            [
                ""
                if row[c] is None
                else str(row[c]).lower()
                if isinstance(row[c], bool)
                else row[c]
                for c in COLUMNS
            ]
        )
    return out.getvalue()


@router.get("/figures.csv")
async def figures_csv(request: Request) -> Response:
    body = await _latest(request)
    return Response(
        csv_text(body["rows"]),
        media_type="text/csv; charset=utf-8",
        headers={**OPEN_HEADERS, "Content-Disposition": 'inline; filename="figures.csv"'},
    )

"""The trend plots, drawn server-side as SVG with matplotlib (Agg, no pyplot state): one line
per indicator over the months, its target as a dashed line; a suppressed month is a gap.

Each plot is drawn once per snapshot (kept in a small cache), not per page view, from the
snapshot's monthly rows only."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure

from domain.figures import INDICATORS
from web.figures.view import Figures, number, period_name

matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text (searchable, scalable)
matplotlib.rcParams["svg.hashsalt"] = "erhverv-figures"  # the same rows draw the same file


@dataclass(frozen=True)
class Plot:
    name: str
    title: str
    indicators: tuple[str, ...]


PLOTS = {
    p.name: p
    for p in [
        Plot("svarprocent", "Svarprocent pr. måned", ("response_rate",)),
        Plot(
            "tilfredshed",
            "Tilfredse pr. måned",
            ("satisfied_overall", "satisfied_processing_time"),
        ),
        Plot(
            "loefter",
            "Løfter holdt pr. måned",
            ("contacted_within_5_working_days", "decided_on_time"),
        ),
        Plot(
            "servicemaal",
            "Inden for KL's servicemål pr. måned",
            ("within_kl_target_net", "within_kl_target_gross"),
        ),
    ]
}
# Dark colours (contrast above 4.5:1 on white) and different markers and line styles, so the
# lines are told apart without colour too.
STYLES = [("#004d99", "o", "-"), ("#8a2a00", "s", "-."), ("#2e6b30", "^", ":")]
TARGET_COLOUR = "#454545"

_cache: dict[tuple[str, str], bytes] = {}
_lock = threading.Lock()


def alt_text(plot: Plot, figures: Figures) -> str:
    """The plot's text alternative: what it shows and its newest values."""
    months = figures.months()
    if not months:
        return f"{plot.title}: endnu ingen tal."
    newest = months[-1]
    parts = []
    for key in plot.indicators:
        row = figures.index.get((newest, "alle", "alle", key))
        ind = INDICATORS[key]
        if row is None:
            value = "ingen sager"
        elif row["suppressed"]:
            value = "ikke vist (færre end 5 svar)"
        else:
            value = f"{number(row['value'] * 100)} %"
        if ind.rule == "above":
            target = f" (mål: over {number(ind.target * 100, 0)} %)"
        else:
            target = " (mål: alle sager)" if ind.target == 1.0 else ""
        parts.append(f"{ind.name[:1].lower()}{ind.name[1:]} {value}{target}")
    span = f"{period_name(months[0], 'month')} – {period_name(newest, 'month')}"
    return (
        f"{plot.title}, {span}. Seneste måned ({period_name(newest, 'month')}): "
        + "; ".join(parts)
        + ". Tallene står i tabellen under figuren."
    )


def _draw(plot: Plot, figures: Figures) -> bytes:
    months = figures.months()
    fig = Figure(figsize=(7.5, 3.4), dpi=100)
    ax = fig.add_subplot()
    x = list(range(len(months)))
    for (colour, marker, line), key in zip(STYLES, plot.indicators, strict=False):
        values = []
        for month in months:
            row = figures.index.get((month, "alle", "alle", key))
            ok = row is not None and not row["suppressed"] and row["value"] is not None
            values.append(row["value"] * 100 if ok else float("nan"))
        ax.plot(x, values, color=colour, marker=marker, linestyle=line, label=INDICATORS[key].name)
    targets = {INDICATORS[k].target for k in plot.indicators if INDICATORS[k].target is not None}
    for target in sorted(targets):
        ax.axhline(target * 100, color=TARGET_COLOUR, linestyle="--", linewidth=1)
        ax.annotate(
            f"mål {number(target * 100, 0)} %",
            (0, target * 100),
            xytext=(2, -12),
            textcoords="offset points",
            color=TARGET_COLOUR,
            fontsize=8,
        )
    ax.set_ylim(0, 105)
    ax.set_ylabel("Procent")
    ax.set_xticks(x, [period_name(m, "month") for m in months], rotation=45, ha="right", fontsize=8)
    if len(x) == 1:
        ax.set_xlim(-0.5, 0.5)
    ax.set_title(plot.title, fontsize=11)
    ax.grid(axis="y", color="#bfbfbf", linewidth=0.5)
    ax.legend(loc="lower left", fontsize=8, frameon=True)
    fig.tight_layout()
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue().encode()


def svg(plot_name: str, figures: Figures, snapshot: str) -> bytes:
    """The plot's SVG for this snapshot (drawn once, then from the cache); *snapshot* names
    the snapshot (its id and time)."""
    plot = PLOTS[plot_name]
    key = (snapshot, plot_name)
    with _lock:
        if key not in _cache:
            if len(_cache) > 4 * len(PLOTS):
                _cache.clear()
            _cache[key] = _draw(plot, figures)
        return _cache[key]


async def svg_of(plot_name: str, sessions, header: dict, snapshot: str) -> bytes:
    """`svg`, reading the plot's monthly rows (figures_api.trend_rows) only when it is not
    drawn yet for this snapshot."""
    with _lock:
        if (snapshot, plot_name) in _cache:
            return _cache[(snapshot, plot_name)]
    rows = []
    if header.get("snapshot") is not None:
        import figures_api

        rows = await figures_api.trend_rows(
            sessions, header["snapshot"], PLOTS[plot_name].indicators
        )
    return svg(plot_name, Figures(header, rows), snapshot)

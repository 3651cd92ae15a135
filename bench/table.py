"""The printed table of a run's results: one row per figure, read from results.json's shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CPU_PARTS = ("worker", "temporal", "postgres", "driver")
Get = Callable[[dict], Any]


def _cpu(x: dict) -> str:
    return "/".join(f"{x[k]:.0f}" for k in CPU_PARTS)


def _p(x: dict) -> str:
    return f"{x['p50_ms']}/{x['p95_ms']}/{x['p99_ms']}"


def _none(_: dict) -> None:
    return None


def _at(*path: str) -> Get:
    """The field at *path* in a measure's results."""

    def get(x: dict) -> Any:
        for key in path:
            x = x[key]
        return x

    return get


def _row(name: str, case: tuple, twin: tuple | None = None, ratio: str = "", goal: str = ""):
    """A product/twin row: *case* and *twin* are paths into the measure's results."""
    return (name, _at(*case), _at(*twin) if twin else _none, _at(ratio) if ratio else _none, goal)


# measure -> rows of (name, product, twin, ratio, goal); a name may use the measure's fields
ROWS: dict[str, list[tuple[str, Get, Get, Get, str]]] = {
    "M1": [
        _row(
            "M1 starts/s to receipt sent (median)",
            ("case_starts_per_s", "median"),
            ("twin_starts_per_s", "median"),
            "ratio",
            ">= 0.8",
        ),
        (
            "M1 CPU ms per intake: worker/Temporal/PG/door",
            lambda x: _cpu(x["case_cpu_ms_per_intake"]),
            lambda x: _cpu(x["twin_cpu_ms_per_intake"]),
            _none,
            "",
        ),
        _row(
            "M1 p95 start -> row visible (ms)",
            ("case_start_to_row", "p95_ms"),
            ("twin_start_to_record", "p95_ms"),
        ),
    ],
    "M2": [
        _row(
            "M2 lives/s (median)",
            ("case_lives_per_s", "median"),
            ("twin_lives_per_s", "median"),
            "ratio",
            ">= 0.7",
        ),
        _row(
            "M2 history events per life",
            ("case_events", "events"),
            ("twin_events", "events"),
            "events_ratio",
            "<= 1.2",
        ),
        _row(
            "M2 CPU ms per life (worker process)",
            ("case_cpu_ms_per_life", "worker"),
            ("twin_cpu_ms_per_life", "worker"),
        ),
    ],
    "M3": [
        (
            f"M3 {phase} {door} p50/p95/p99 (ms)",
            lambda x, k=f"{phase}_{door}": _p(x[k]),
            lambda x, k=f"{phase}_twin": _p(x[k]),
            _at(f"{phase}_{door}_vs_twin"),
            f"p95 <= {{{phase}_{door}_goal_ms}} ms",
        )
        for phase in ("warm", "cold")
        for door in ("seam", "http")
    ],
    "M4": [
        _row(
            "M4 KiB per open cached case",
            ("case", "kib_per_open_case"),
            ("twin", "kib_per_open_case"),
            "ratio",
            "<= 1.5, <= 200 KiB",
        )
    ],
    "M5": [
        _row(
            "M5 figures query p95 (ms), {rows} cases",
            ("page_query_latest", "p95_ms"),
            ("minimal_count", "p95_ms"),
            "ratio_p95",
            "<= 2 (twin = minimal count)",
        ),
        _row("M5 /figures page p95 (ms)", ("page_http", "p95_ms"), goal="< 20 ms"),
        _row("M5 one refresh of the figures (s)", ("refresh_s",)),
        _row("M5 refreshes for 30 requests at once", ("burst_of_30_requests", "refreshes")),
    ],
    "M6": [
        _row("M6 year of {cases} cases: wall (s)", ("wall_s",), goal="<= 900 s"),
        (
            "M6 figures as the inputs imply",
            lambda x: f"{x['checks_passed']}/{x['checks']}",
            _none,
            _none,
            "all",
        ),
    ],
}


def _cell(v: Any) -> str:
    return "-" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))


def table(results: dict) -> str:
    m = results["measures"]
    lines = [f"{'measure':<44} {'product':>14} {'twin':>12} {'ratio':>8}  goal"]
    for key, rows in ROWS.items():
        x = m.get(key)
        if x is None or "error" in x:
            continue
        for name, prod, twin, ratio, goal in rows:
            try:
                cells = [_cell(f(x)) for f in (prod, twin, ratio)]
            except KeyError:  # a figure this run did not measure (e.g. M5 without the web)
                continue
            lines.append(
                f"{name.format(**x):<44} {cells[0]:>14} {cells[1]:>12} {cells[2]:>8}  "
                + goal.format(**x)
            )
    for k, v in m.items():
        if "error" in v:
            lines.append(f"{k}: FAILED {v['error']}")
    return "\n".join(lines)

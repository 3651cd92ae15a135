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


# measure -> rows of (name, product, twin, ratio, goal); a name may use the measure's fields
ROWS: dict[str, list[tuple[str, Get, Get, Get, str]]] = {
    "M1": [
        (
            "M1 starts/s to receipt sent (median)",
            lambda x: x["case_starts_per_s"]["median"],
            lambda x: x["twin_starts_per_s"]["median"],
            lambda x: x["ratio"],
            ">= 0.8",
        ),
        (
            "M1 CPU ms per intake: worker/Temporal/PG/door",
            lambda x: _cpu(x["case_cpu_ms_per_intake"]),
            lambda x: _cpu(x["twin_cpu_ms_per_intake"]),
            _none,
            "",
        ),
        (
            "M1 p95 start -> row visible (ms)",
            lambda x: x["case_start_to_row"]["p95_ms"],
            lambda x: x["twin_start_to_record"]["p95_ms"],
            _none,
            "",
        ),
    ],
    "M2": [
        (
            "M2 lives/s (median)",
            lambda x: x["case_lives_per_s"]["median"],
            lambda x: x["twin_lives_per_s"]["median"],
            lambda x: x["ratio"],
            ">= 0.7",
        ),
        (
            "M2 history events per life",
            lambda x: x["case_events"]["events"],
            lambda x: x["twin_events"]["events"],
            lambda x: x["events_ratio"],
            "<= 1.2",
        ),
        (
            "M2 CPU ms per life (worker process)",
            lambda x: x["case_cpu_ms_per_life"]["worker"],
            lambda x: x["twin_cpu_ms_per_life"]["worker"],
            _none,
            "",
        ),
    ],
    "M3": [
        (
            f"M3 {phase} {door} p50/p95/p99 (ms)",
            lambda x, k=f"{phase}_{door}": _p(x[k]),
            lambda x, k=f"{phase}_twin": _p(x[k]),
            lambda x, k=f"{phase}_{door}_vs_twin": x[k],
            f"p95 <= {{{phase}_{door}_goal_ms}} ms",
        )
        for phase in ("warm", "cold")
        for door in ("seam", "http")
    ],
    "M4": [
        (
            "M4 KiB per open cached case",
            lambda x: x["case"]["kib_per_open_case"],
            lambda x: x["twin"]["kib_per_open_case"],
            lambda x: x["ratio"],
            "<= 1.5, <= 200 KiB",
        )
    ],
    "M5": [
        (
            "M5 figures query p95 (ms), {rows} cases",
            lambda x: x["page_query_latest"]["p95_ms"],
            lambda x: x["minimal_count"]["p95_ms"],
            lambda x: x["ratio_p95"],
            "<= 2 (twin = minimal count)",
        ),
        ("M5 /figures page p95 (ms)", lambda x: x["page_http"]["p95_ms"], _none, _none, "< 20 ms"),
        ("M5 one refresh of the figures (s)", lambda x: x["refresh_s"], _none, _none, ""),
        (
            "M5 refreshes for 30 requests at once",
            lambda x: x["burst_of_30_requests"]["refreshes"],
            _none,
            _none,
            "",
        ),
    ],
    "M6": [
        ("M6 year of {cases} cases: wall (s)", lambda x: x["wall_s"], _none, _none, "<= 900 s"),
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

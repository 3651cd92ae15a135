"""Benchmarks M1–M6 of issue 11, each side by side with the bare twin (bench/twin.py).

    .venv/bin/python -m bench.run [--quick] [--only M1,M5] [--out bench/results.json]

Starts its own embedded stack (temp folder, free ports: Postgres, Temporal dev server, SMTP
sink, the web service as its own process), runs the case's and the twin's workers each in a
process of its own (bench/workers.py), drives and measures from this process, prints a table
(bench/table.py) and writes the JSON (with the machine it ran on). The measures: M1, M3, M4 in
bench/live.py, M2 in bench/lives.py, M5 in bench/figures_scale.py, M6 in bench/year.py.
bench/README.md explains every measure. Nothing here asserts speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.figures_scale import m5
from bench.live import m1, m3, m3_setup, m3_summary, m4, meters_for
from bench.lives import m2
from bench.table import table
from bench.workers import FollowingWorkers, worker_process
from db.session import make_engine, make_sessionmaker
from stack.dev import prepared_settings, running_stack, service_env
from stack.ports import free_port
from temporal_client import connect

HERE = Path(__file__).parent
ALL = ("M1", "M2", "M3", "M4", "M5", "M6")

SIZES = {
    "full": {
        "m1_windows": 5,
        "m1_per_window": 40,
        "m2_windows": 3,
        "m2_per_window": 3,
        "m3_samples": 100,
        "m3_cases": 10,
        "m4_steps": [100, 1000, 5000],
        "m5_rows": 1_000_000,
        "m5_samples": 50,
        "m6_cases": 5000,
        "m6_wave": 50,  # 25 and 100 were slower (bench/README.md)
        "m6_workers": 2,  # worker processes, one per core
    },
    "quick": {
        "m1_windows": 2,
        "m1_per_window": 5,
        "m2_windows": 2,
        "m2_per_window": 1,
        "m3_samples": 10,
        "m3_cases": 2,
        "m4_steps": [10, 30, 60],
        "m5_rows": 5_000,
        "m5_samples": 10,
        "m6_cases": 10,
        "m6_wave": 5,
        "m6_workers": 2,
    },
}


# ------------------------------------------------------------------ helpers


def machine() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    temporal = "?"
    try:
        from stack.temporal import temporal_binary  # type: ignore[attr-defined]

        temporal = subprocess.run(
            [str(temporal_binary()), "--version"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout.strip()
    except Exception:  # noqa: BLE001 - the version is informative only
        try:
            temporal = subprocess.run(
                ["temporal", "--version"], capture_output=True, text=True, timeout=20, check=False
            ).stdout.strip()
        except Exception:  # noqa: BLE001, S110 - the version is informative only
            pass
    import temporalio

    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": ram,
        "python": platform.python_version(),
        "temporal_cli": temporal,
        "temporalio_sdk": temporalio.__version__,
        "load_avg_at_start": os.getloadavg(),
    }


# ------------------------------------------------------------------ the run
async def run(only: set[str], size: dict, out_path: Path, quick: bool) -> dict:
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "sizes": size,
        "machine": machine(),
        "measures": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        queue = f"bench-{uuid.uuid4()}"
        web = bool(only & {"M3", "M5"})
        with running_stack(
            Path(tmp),
            temporal_port=free_port(),
            ui_port=free_port(),
            pg_port=free_port(),
            smtp_port=free_port(),
            web_port=free_port() if web else None,
            web_env={
                "ERHVERV_TEMPORAL_TASK_QUEUE": queue,
                "ERHVERV_DEV_SIGN_IN": "true",
                "ERHVERV_OPERATORS": '["jha"]',
            },
            wait_for_web=False,
        ) as dev:
            settings = await prepared_settings(dev, queue)
            if web:
                dev.web.wait_ready()
            web_url = dev.web_url if web else None
            engine = make_engine(settings.database_url)
            sessions = make_sessionmaker(engine)
            client = await connect(settings)
            twin_queue = f"twin-{uuid.uuid4()}"
            m = results["measures"]
            if only & {"M1", "M3"}:
                # each worker in a process of its own, as deployed: the driver is the door
                env = service_env(dev)
                cached = settings.worker_cached_cases
                async with (
                    worker_process(env, "case", queue, cached) as case_pid,
                    worker_process(env, "twin", twin_queue, cached) as twin_pid,
                ):
                    if "M1" in only:
                        meters = meters_for(dev, case=case_pid, twin=twin_pid)
                        m["M1"] = await step(
                            "M1", m1(client, sessions, settings, twin_queue, size, meters)
                        )
                        save(results, out_path)
                    if "M3" in only:
                        refs, wids = await m3_setup(client, sessions, settings, twin_queue, size)
                        warm = await step(
                            "M3 warm",
                            m3(
                                client,
                                sessions,
                                settings,
                                twin_queue,
                                web_url,
                                size,
                                "warm",
                                refs,
                                wids,
                            ),
                        )
                if "M3" in only:
                    # forced eviction: workers whose cache holds a quarter of the cases; the
                    # round robin then finds every case evicted (LRU) and replays its whole
                    # history. Not a cache of 0: a worker caching nothing cannot hold a run
                    # while its local activity (a case's record) runs, so every such action
                    # waits out the workflow task timeout (10 s): no worker runs that way.
                    evicting = max(1, size["m3_cases"] // 4)
                    async with (
                        worker_process(env, "case", queue, evicting),
                        worker_process(env, "twin", twin_queue, evicting),
                    ):
                        cold = await step(
                            "M3 cold",
                            m3(
                                client,
                                sessions,
                                settings,
                                twin_queue,
                                web_url,
                                size,
                                "cold",
                                refs,
                                wids,
                            ),
                        )
                    m["M3"] = m3_summary(warm, cold)
                    save(results, out_path)
            if "M4" in only:
                m["M4"] = await step("M4", m4(dev, client, sessions, settings, size))
                save(results, out_path)
            if only & {"M2", "M6"}:
                # the workers run in processes of their own, pointed at a fresh time-skipping
                # server per M2 window and per M6 wave
                ts_settings = await prepared_settings(dev, f"bench-ts-{uuid.uuid4()}")
                if "M2" in only:
                    m["M2"] = await step("M2", m2(ts_settings, sessions, size, service_env(dev)))
                    save(results, out_path)
                if "M6" in only:
                    from bench.year import m6

                    workers = FollowingWorkers(
                        service_env(dev),
                        ts_settings.temporal_task_queue,
                        size["m6_workers"],
                        ts_settings.worker_cached_cases,
                    )
                    try:
                        m["M6"] = await step("M6", m6(ts_settings, sessions, size, workers))
                    finally:
                        workers.close()
            save(results, out_path)
            if "M5" in only:  # last: a million closed cases slow every later closing
                m["M5"] = await step("M5", m5(settings, web_url, size))
            await engine.dispose()
    results["machine"]["load_avg_at_end"] = os.getloadavg()
    out_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    return results


def save(results: dict, out_path: Path) -> None:
    """Written after every measure, so a run cut short keeps what it measured."""
    results["machine"]["load_avg_now"] = os.getloadavg()
    out_path.write_text(json.dumps(results, indent=1, default=str) + "\n")


async def step(name: str, work):
    print(f"... {name}", file=sys.stderr, flush=True)
    t = time.perf_counter()
    try:
        result = await work
    except Exception as err:  # noqa: BLE001 - a measure that fails is reported, not hidden
        import traceback

        traceback.print_exc()
        return {"error": f"{type(err).__name__}: {err}"}
    result["seconds"] = round(time.perf_counter() - t, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--only", default=",".join(ALL), help="e.g. M1,M5")
    parser.add_argument("--out", default=str(HERE / "results.json"))
    parser.add_argument("--set", action="append", default=[], help="size=value, e.g. m6_cases=500")
    parser.add_argument(
        "--profile", type=int, default=0, help="cProfile this process; print the top N to stderr"
    )
    args = parser.parse_args()
    only = {x.strip().upper() for x in args.only.split(",") if x.strip()}
    size = dict(SIZES["quick" if args.quick else "full"])
    for kv in args.set:
        k, v = kv.split("=", 1)
        size[k] = [int(x) for x in v.split(",")] if k == "m4_steps" else int(v)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        results = profiler.runcall(asyncio.run, run(only, size, Path(args.out), args.quick))
        stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime")
        stats.print_stats(args.profile)
    else:
        results = asyncio.run(run(only, size, Path(args.out), args.quick))
    print(table(results))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()

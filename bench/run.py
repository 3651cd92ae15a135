"""Benchmarks M1–M6 of issue 11, each side by side with the bare twin (bench/twin.py).

    .venv/bin/python -m bench.run [--quick] [--only M1,M5] [--out bench/results.json]

Starts its own embedded stack (temp folder, free ports: Postgres, Temporal dev server, SMTP
sink, the web service as its own process), runs the real worker in this process next to the
twin's worker, prints a table and writes the JSON (with the machine it ran on). bench/README.md
explains every measure. Nothing here asserts speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from temporalio.client import Client

import case_api
from bench import twin
from bench.cpu import CpuMeter, postmaster_pid
from bench.twin import TwinCase, TwinReview
from bench.workers import FollowingWorkers, worker_process
from db.session import make_engine, make_sessionmaker
from stack.dev import prepared_settings, running_stack, service_env
from stack.ports import free_port
from temporal_client import connect
from tests.conftest import make_intake

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
def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def spread(values: list[float]) -> dict[str, float | None]:
    """Median and spread (min, max, relative half-range) of per-window rates."""
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    med = statistics.median(values)
    return {
        "median": round(med, 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "spread_pct": round(100 * (max(values) - min(values)) / 2 / med, 1) if med else None,
        "n": len(values),
    }


def ms(values: list[float]) -> dict[str, float | None]:
    r = lambda v: None if v is None else round(v * 1000, 2)
    return {
        "p50_ms": r(pct(values, 50)),
        "p95_ms": r(pct(values, 95)),
        "p99_ms": r(pct(values, 99)),
        "n": len(values),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return None if not a or not b else round(a / b, 3)


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


def reference() -> str:
    return f"BENCH-{uuid.uuid4().hex[:12]}"


async def twin_intake(client: Client, queue: str) -> tuple[str, float]:
    wid = f"twin-{uuid.uuid4().hex[:16]}"
    t = time.perf_counter()
    await client.start_workflow(
        TwinCase.run, twin.pad(twin.START_PAYLOAD), id=wid, task_queue=queue
    )
    return wid, t


async def open_cases(client, sessions, settings, n: int) -> list[str]:
    """Start *n* cases (sealed at the door) and wait until each receipt is recorded sent."""
    vault = case_api.vault(sessions, settings)
    refs = [reference() for _ in range(n)]
    now = datetime.now(UTC)
    await asyncio.gather(
        *[
            case_api.start_case(
                client,
                make_intake(reference=r, received_at=now),
                settings.temporal_task_queue,
                vault=vault,
            )
            for r in refs
        ]
    )
    await receipts_sent(sessions, refs)
    return refs


async def receipts_sent(sessions, refs: list[str]) -> dict[str, tuple[float, float]]:
    """Poll (every 50 ms, the driver's own load kept small) until every case of *refs* has
    its receipt recorded as sent; for each, when its projection row was written and when its
    receipt was sent, as the product's own timestamps (epoch seconds)."""
    done: dict[str, tuple[float, float]] = {}
    while len(done) < len(refs):
        async with sessions() as s:
            rows = (
                await s.execute(
                    text(
                        "SELECT c.reference, c.created_at, o.sent_at FROM cases c "
                        "JOIN outbox o ON o.case_id = c.case_id AND o.letter_key = 'receipt' "
                        "WHERE c.reference = ANY(:refs) AND o.sent_at IS NOT NULL"
                    ),
                    {"refs": [r for r in refs if r not in done]},
                )
            ).all()
        for ref, row_at, sent_at in rows:
            done[ref] = (row_at.timestamp(), sent_at.timestamp())
        if len(done) < len(refs):
            await asyncio.sleep(0.05)
    return done


# ------------------------------------------------------------------ M1 intake
def meters_for(dev, **workers: int) -> dict[str, CpuMeter]:
    """A CPU meter per worker process: it, the Temporal server, Postgres and the driver."""
    server = {"temporal": dev.temporal.pid}
    pg = {"postgres": postmaster_pid(dev.postgres.data_dir)}
    return {kind: CpuMeter({"worker": pid} | server, pg) for kind, pid in workers.items()}


def cpu_per(windows: list[dict[str, float]], n: int) -> dict[str, float]:
    """CPU ms per item by process, from the windows' meter readings of *n* items each."""
    return {k: round(sum(w[k] for w in windows) / (n * len(windows)), 1) for k in windows[0]}


async def m1(client, sessions, settings, twin_queue, size, meters) -> dict:
    n, windows = size["m1_per_window"], size["m1_windows"]
    vault = case_api.vault(sessions, settings)
    case_rates, twin_rates, case_lat, twin_lat = [], [], [], []
    case_cpu, twin_cpu = [], []
    for _ in range(windows):
        # the twin's window: intake = 4 no-op activities; "row visible" = its 2nd (record)
        twin.SEEN.clear()
        meters["twin"].start()
        t0 = time.perf_counter()
        starts = dict(await asyncio.gather(*[twin_intake(client, twin_queue) for _ in range(n)]))
        while sum(len(twin.SEEN.get(w, [])) >= 4 for w in starts) < n:
            await asyncio.sleep(0.005)
        twin_rates.append(n / (max(twin.SEEN[w][3] for w in starts) - t0))
        twin_cpu.append(meters["twin"].stop())
        twin_lat += [twin.SEEN[w][1] - starts[w] for w in starts]

        # the case's window: start (sealed) -> projection row -> receipt recorded as sent
        refs = [reference() for _ in range(n)]
        now = datetime.now(UTC)
        started: dict[str, float] = {}

        async def start(r: str, started=started, now=now) -> None:
            started[r] = time.time()
            await case_api.start_case(
                client,
                make_intake(reference=r, received_at=now),
                settings.temporal_task_queue,
                vault=vault,
            )

        meters["case"].start()
        t0 = time.time()
        poll = asyncio.create_task(receipts_sent(sessions, refs))
        await asyncio.gather(*[start(r) for r in refs])
        done = await poll
        case_cpu.append(meters["case"].stop())
        case_rates.append(n / (max(sent for _, sent in done.values()) - t0))
        case_lat += [done[r][0] - started[r] for r in refs]
    c, t = spread(case_rates), spread(twin_rates)
    return {
        "case_starts_per_s": c,
        "twin_starts_per_s": t,
        "case_start_to_row": ms(case_lat),
        "twin_start_to_record": ms(twin_lat),
        "case_cpu_ms_per_intake": cpu_per(case_cpu, n),
        "twin_cpu_ms_per_intake": cpu_per(twin_cpu, n),
        "ratio": ratio(c["median"], t["median"]),
        "goal": ">= 0.8x the twin's rate",
    }


# ------------------------------------------------------------------ M3 action round trip
async def m3_round_trips(client, refs, samples) -> list[float]:
    """Hand each case over, round robin, between jha and mkj (an officer action with a
    projection write and a letter): the service seam's round trip."""
    holder = {r: (await case_api.get_state(client, r)).caseworker.id for r in refs}
    out = []
    for i in range(samples):
        r = refs[i % len(refs)]
        nxt = "mkj" if holder[r] == "jha" else "jha"
        t = time.perf_counter()
        await case_api.assign_caseworker(client, r, nxt, replacing=holder[r])
        out.append(time.perf_counter() - t)
        holder[r] = nxt
    return out


async def m3_http(base: str, refs, samples) -> list[float]:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        signed = await http.post("/auth/dev/sign-in", json={"caseworker_id": "jha"})
        signed.raise_for_status()
        state = {r: (await http.get(f"/api/v1/cases/{r}")).json() for r in refs}
        holder = {r: (s.get("caseworker") or {}).get("id", "jha") for r, s in state.items()}
        out = []
        for i in range(samples):
            r = refs[i % len(refs)]
            nxt = "mkj" if holder[r] == "jha" else "jha"
            t = time.perf_counter()
            answer = await http.post(
                f"/api/v1/cases/{r}/assignment",
                json={"caseworker_id": nxt, "replacing": holder[r]},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            out.append(time.perf_counter() - t)
            answer.raise_for_status()
            holder[r] = nxt
        return out


async def m3_twin(client, wids, samples) -> list[float]:
    out = []
    for i in range(samples):
        handle = client.get_workflow_handle(wids[i % len(wids)])
        t = time.perf_counter()
        await handle.execute_update(TwinCase.officer_action, twin.pad(120))
        out.append(time.perf_counter() - t)
    return out


async def m3(client, sessions, settings, twin_queue, web_url, size, phase: str, refs, wids):
    samples = size["m3_samples"]
    if phase == "cold":  # untimed: each workflow's first task after the worker change goes to
        # the stopped worker's sticky queue and waits out its timeout (10 s) — for the case and
        # the twin alike; that is a worker's death, not the replay measured here
        await m3_round_trips(client, refs, len(refs))
        await m3_twin(client, wids, len(wids))
    seam = await m3_round_trips(client, refs, samples)
    http = await m3_http(web_url, refs, samples) if web_url else []
    tw = await m3_twin(client, wids, samples)
    return {
        f"{phase}_seam": ms(seam),
        f"{phase}_http": ms(http),
        f"{phase}_twin": ms(tw),
    }


async def m3_setup(client, sessions, settings, twin_queue, size):
    refs = await open_cases(client, sessions, settings, size["m3_cases"])
    for r in refs:
        await case_api.assign_caseworker(client, r, "jha")
    wids = []
    for _ in range(size["m3_cases"]):
        wid, _ = await twin_intake(client, twin_queue)
        wids.append(wid)
    await twin_intakes_done(wids)
    return refs, wids


def m3_summary(warm: dict, cold: dict) -> dict:
    out = {**warm, **cold}
    for phase in ("warm", "cold"):
        tw = out[f"{phase}_twin"]["p95_ms"]
        for door in ("seam", "http"):
            p95 = out[f"{phase}_{door}"]["p95_ms"]
            out[f"{phase}_{door}_vs_twin"] = ratio(p95, tw)
            out[f"{phase}_{door}_goal_ms"] = None if tw is None else round(1.3 * tw + 5, 2)
            out[f"{phase}_{door}_meets_goal"] = (
                None if p95 is None or tw is None else p95 <= 1.3 * tw + 5
            )
    out["goal"] = "p95 <= 1.3x the twin's update p95 + 5 ms"
    return out


# ------------------------------------------------------------------ M4 memory
M4_CACHE = 12_000  # holds every open case of M4


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def slope(points: list[tuple[int, int]]) -> float | None:
    """Least-squares slope of RSS (KiB) over open cases."""
    if len(points) < 2:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else None


async def m4_one(dev, client, sessions, settings, kind: str, steps: list[int]) -> dict:
    queue = f"m4-{kind}-{uuid.uuid4().hex[:8]}"
    async with worker_process(service_env(dev), kind, queue, M4_CACHE) as pid:
        await asyncio.sleep(1.0)
        points = [(0, rss_kib(pid))]
        s = settings.model_copy(update={"temporal_task_queue": queue})
        opened = 0
        for step in steps:
            add = step - opened
            for chunk in range(0, add, 100):
                k = min(100, add - chunk)
                if kind == "case":
                    await open_cases(client, sessions, s, k)
                else:
                    wids = [(await twin_intake(client, queue))[0] for _ in range(k)]
                    await twin_intakes_done(wids)
            opened = step
            await asyncio.sleep(1.0)
            points.append((step, rss_kib(pid)))
    per_case = slope(points[1:])
    return {
        "points_cases_rss_kib": points,
        "kib_per_open_case": None if per_case is None else round(per_case, 1),
    }


async def twin_intakes_done(wids: list[str]) -> None:
    """Until each twin of *wids* has run its intake's four activities (reported by its
    worker process into twin.SEEN)."""
    while sum(len(twin.SEEN.get(w, [])) >= 4 for w in wids) < len(wids):
        await asyncio.sleep(0.005)


async def m4(dev, client, sessions, settings, size) -> dict:
    steps = size["m4_steps"]
    case = await m4_one(dev, client, sessions, settings, "case", steps)
    tw = await m4_one(dev, client, sessions, settings, "twin", steps)
    c, t = case["kib_per_open_case"], tw["kib_per_open_case"]
    return {
        "case": case,
        "twin": tw,
        "ratio": ratio(c, t),
        "goal": "<= 1.5x the twin and <= 200 KiB per open case",
    }


# ------------------------------------------------------------------ M5 figures at scale
async def m5(settings, web_url, size) -> dict:
    import asyncpg
    import httpx

    import figures_api

    n, samples = size["m5_rows"], size["m5_samples"]
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    rng = random.Random(11)
    types = [
        "industry_warehouse",
        "simple_construction",
        "environmental_approval_minor",
        "fire_safety",
    ]
    deps = [
        ["building"],
        ["building", "fire"],
        ["environment"],
        ["building", "environment", "fire"],
    ]
    base = datetime(2025, 1, 1, tzinfo=UTC)
    out: dict[str, Any] = {"rows": n}
    try:
        await conn.execute("DELETE FROM survey_answers; DELETE FROM closed_cases")
        await conn.execute(
            "DROP TABLE IF EXISTS bench_minimal; "
            "CREATE TABLE bench_minimal (closed_at timestamptz, met boolean)"
        )

        def cases():
            for i in range(n):
                closed = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 700))
                k = rng.randrange(4)
                yield (
                    f"case-M5-{i:07d}",
                    f"M5-{i:07d}",
                    types[k],
                    deps[k],
                    rng.choice(["410000", "471100", "101100", "561010", None]),
                    rng.choices(["decided", "withdrawn", "dismissed"], [90, 8, 2])[0],
                    closed - timedelta(days=40),
                    closed - timedelta(days=30),
                    closed - timedelta(days=1),
                    closed,
                    (closed - timedelta(days=2)).date(),
                    rng.random() < 0.95,
                    rng.random() < 0.85,
                    rng.uniform(5, 60),
                    rng.uniform(10, 90),
                    rng.randrange(5, 60),
                    40,
                    rng.random() < 0.2,
                    "{}",
                    closed,
                )

        cols = [
            "case_id",
            "reference",
            "case_type",
            "departments",
            "industry_code",
            "closing_reason",
            "received_at",
            "complete_at",
            "decided_at",
            "closed_at",
            "agreed_date",
            "contacted_within_deadline",
            "decided_on_or_before_agreed_date",
            "net_processing_days",
            "gross_days",
            "gross_working_days",
            "kl_target_days",
            "pre_dialogue_held",
            "breach_causes",
            "survey_sent_at",
        ]
        t = time.perf_counter()
        await conn.copy_records_to_table("closed_cases", records=list(cases()), columns=cols)
        answers = [
            (
                f"case-M5-{i:07d}",
                *[rng.randrange(0, 6) for _ in range(4)],
                None,
                None,
                base + timedelta(days=rng.randrange(700)),
            )
            for i in range(n)
            if rng.random() < 0.55
        ]
        await conn.copy_records_to_table(
            "survey_answers",
            records=answers,
            columns=[
                "case_id",
                "overall",
                "processing_time",
                "process",
                "guidance",
                "coordination",
                "pre_dialogue",
                "answered_at",
            ],
        )
        await conn.copy_records_to_table(
            "bench_minimal",
            records=[(base + timedelta(minutes=i % 1_000_000), i % 7 != 0) for i in range(n)],
            columns=["closed_at", "met"],
        )
        await conn.execute("ANALYZE closed_cases; ANALYZE survey_answers; ANALYZE bench_minimal")
        out["copy_s"] = round(time.perf_counter() - t, 2)
        out["answers"] = len(answers)

        # the maintained figures: one refresh (request_refresh runs it, coalesced, after
        # closings and answers)
        engine = make_engine(settings.database_url)
        sessions = make_sessionmaker(engine)
        t = time.perf_counter()
        try:
            await figures_api.refresh(sessions)
        except Exception as err:  # noqa: BLE001 - e.g. the snapshot over JSONB's 256 MB
            out["refresh_error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"
        out["refresh_s"] = round(time.perf_counter() - t, 2)
        out["snapshot_bytes"] = await conn.fetchval(
            "SELECT pg_column_size(body) FROM figure_snapshots ORDER BY id DESC LIMIT 1"
        )
        out["snapshot_rows"] = await conn.fetchval(
            "SELECT count(*) FROM figure_rows WHERE snapshot_id = "
            "(SELECT max(id) FROM figure_snapshots)"
        )
        # 30 requests at once, as a burst of closings: how many refreshes they cost
        t = time.perf_counter()
        ran = await asyncio.gather(*(figures_api.request_refresh(sessions) for _ in range(30)))
        out["burst_of_30_requests"] = {
            "refreshes": sum(ran),
            "s": round(time.perf_counter() - t, 2),
        }

        # the page's queries (figures_api.page: the header with the periods, then the default
        # period's rows and the plots' monthly rows, on one connection: what GET /figures reads)
        from web.figures import TREND

        page, count = [], []
        for _ in range(samples):
            if "refresh_error" not in out:  # no snapshot of these cases to read
                t = time.perf_counter()
                await figures_api.page(sessions, lambda h: (h["newest_month"] or "alle")[:4], TREND)
                page.append(time.perf_counter() - t)
            t = time.perf_counter()
            await conn.fetchrow("SELECT count(*), count(*) FILTER (WHERE met) FROM bench_minimal")
            count.append(time.perf_counter() - t)
        out["page_query_latest"] = ms(page)  # the page's queries (the key read by the smoke test)
        out["minimal_count"] = ms(count)
        out["ratio_p95"] = ratio(pct(page, 95), pct(count, 95))
        await engine.dispose()
        if web_url and "refresh_error" not in out:
            got = []
            async with httpx.AsyncClient(base_url=web_url, timeout=600) as http:
                await http.get("/figures")  # the process's first view (templates, imports)
                for _ in range(max(3, samples // 5)):
                    t = time.perf_counter()
                    answer = await http.get("/figures")
                    got.append(time.perf_counter() - t)
                    answer.raise_for_status()
                out["page_http"] = ms(got)
                for path in ("/figures.csv", "/figures.json"):
                    t, size = time.perf_counter(), 0
                    async with http.stream("GET", path) as streamed:
                        async for chunk in streamed.aiter_bytes():
                            size += len(chunk)
                    out[path.lstrip("/")] = {
                        "s": round(time.perf_counter() - t, 2),
                        "bytes": size,
                    }
        out["goal"] = "page queries <= 2x a minimal count; page < 20 ms from the maintained figures"
    finally:
        await conn.execute("DROP TABLE IF EXISTS bench_minimal")
        await conn.execute("DELETE FROM survey_answers; DELETE FROM closed_cases")
        await conn.execute("DELETE FROM figure_snapshots")  # cascades to figure_rows
        await conn.close()
    return out


# ------------------------------------------------------------------ M2 / M6 compressed time
def next_morning(now: datetime) -> datetime:
    from domain import calendar

    day = calendar.local_date(now) + timedelta(days=1)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, datetime.min.time(), tzinfo=calendar.COPENHAGEN).replace(hour=10)


async def history_events(handle) -> int:
    return len((await handle.fetch_history()).events)


async def m2_case_life(env, queue: str, sessions) -> dict:
    """Three departments, a date change (more time for fire), a pre-dialogue, the decision and
    the survey, the way tests/test_case_life.py drives a life."""
    from tests.test_case_life import Life, decide_and_close, fire_late_with_more_time

    life = Life(env, None, queue, next_morning(await env.get_current_time()))
    await life.start(
        case_type="industry_warehouse",
        departments=("building", "environment", "fire"),
        pre_dialogue_wished=True,
    )
    c = env.client
    await case_api.assign_caseworker(c, life.reference, "jha")
    now = await env.get_current_time()
    await case_api.book_pre_dialogue(
        c, life.reference, at=(now + timedelta(days=6)).isoformat(), place="Rådhuset"
    )
    await fire_late_with_more_time(life)
    await decide_and_close(life)
    from bench.year import release_survey

    await release_survey(c, sessions, life.intake.workflow_id)
    events = await history_events(life.handle)
    for d in ("building", "environment", "fire"):
        events += await history_events(case_api.review_handle(c, life.reference, d, 1))
    return {"events_main": len((await life.handle.fetch_history()).events), "events": events}


async def m2_twin_life(env, queue: str) -> dict:
    c = env.client
    wid = f"twin-{uuid.uuid4().hex[:16]}"
    handle = await c.start_workflow(
        TwinCase.run, twin.pad(twin.START_PAYLOAD), id=wid, task_queue=queue
    )
    # the case life's two spans of compressed time, slept at the same points: 3 days between
    # its two material reports, and 20 days before the date change (the case sleeps to 3 days
    # before its agreed date); the twin's review deadlines (30 days) and agreed date (60 days)
    # stay pending meanwhile
    await handle.execute_update(TwinCase.act, twin.pad(120))  # assignment
    await handle.execute_update(TwinCase.act, twin.pad(120))  # material
    await env.sleep(timedelta(days=3))
    await handle.execute_update(TwinCase.act, twin.pad(120))  # material
    while not (await handle.query(TwinCase.progress))["reviews_started"]:
        await asyncio.sleep(0.01)
    reviews = [c.get_workflow_handle(f"{wid}-review-{d}") for d in ("building", "environment")]
    for r in reviews:
        await r.execute_update(TwinReview.submit, twin.pad(120))
    await env.sleep(timedelta(days=20))
    await handle.execute_update(TwinCase.act, twin.pad(120))  # more time
    fire = c.get_workflow_handle(f"{wid}-review-fire")
    await fire.execute_update(TwinReview.submit, twin.pad(120))
    await handle.execute_update(TwinCase.act, twin.pad(120))  # the decision
    await handle.result()
    events = await history_events(handle)
    main = events
    for r in [*reviews, fire]:
        events += await history_events(r)
    return {"events_main": main, "events": events}


async def m2(settings, sessions, size, worker_env: dict[str, str]) -> dict:
    """Each window on a fresh time-skipping server (its start is outside the window): a
    closed case's remaining children can keep one server's clock from skipping (README).
    The case's and the twin's workers each run in a process of their own (as M1's), pointed
    at each window's server; CPU per life is the worker process's and the driver's."""
    from tests.conftest import register_search_attributes, start_time_skipping

    case_rates, twin_rates, case_cpu, twin_cpu = [], [], [], []
    case_events = twin_events = None
    queue, twin_queue = settings.temporal_task_queue, f"twin-{uuid.uuid4()}"
    cache = settings.worker_cached_cases
    workers = {
        "case": FollowingWorkers(worker_env, queue, 1, cache, "case"),
        "twin": FollowingWorkers(worker_env, twin_queue, 1, cache, "twin"),
    }
    meters = {k: CpuMeter({"worker": w.procs[0].pid}) for k, w in workers.items()}
    try:
        for _ in range(size["m2_windows"]):
            env = await start_time_skipping()
            try:
                await register_search_attributes(env.client)
                address = env.client.service_client.config.target_host
                for w in workers.values():
                    await w.serve(address)
                for kind in ("twin", "case"):
                    meters[kind].start()
                    t0 = time.perf_counter()
                    for _ in range(size["m2_per_window"]):
                        if kind == "case":
                            case_events = await m2_case_life(env, queue, sessions)
                        else:
                            twin_events = await m2_twin_life(env, twin_queue)
                    wall = time.perf_counter() - t0
                    cpu = meters[kind].stop()
                    (case_rates if kind == "case" else twin_rates).append(
                        size["m2_per_window"] / wall
                    )
                    (case_cpu if kind == "case" else twin_cpu).append(cpu)
                for w in workers.values():
                    await w.stop()
            finally:
                await env.shutdown()
    finally:
        for w in workers.values():
            w.close()
    c, t = spread(case_rates), spread(twin_rates)
    n = size["m2_per_window"]
    return {
        "case_lives_per_s": c,
        "twin_lives_per_s": t,
        "ratio": ratio(c["median"], t["median"]),
        "case_cpu_ms_per_life": cpu_per(case_cpu, n),
        "twin_cpu_ms_per_life": cpu_per(twin_cpu, n),
        "case_events": case_events,
        "twin_events": twin_events,
        "events_ratio": ratio(case_events["events"], twin_events["events"]),
        "goal": ">= 0.7x the twin's rate; events <= 1.2x the twin's",
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


def table(results: dict) -> str:
    m = results["measures"]
    lines = [f"{'measure':<44} {'product':>14} {'twin':>12} {'ratio':>8}  goal"]

    def row(name, prod, tw, r, goal=""):
        f = lambda v: "-" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))
        lines.append(f"{name:<44} {f(prod):>14} {f(tw):>12} {f(r):>8}  {goal}")

    if "M1" in m and "error" not in m["M1"]:
        x = m["M1"]
        row(
            "M1 starts/s to receipt sent (median)",
            x["case_starts_per_s"]["median"],
            x["twin_starts_per_s"]["median"],
            x["ratio"],
            ">= 0.8",
        )
        c, t = x["case_cpu_ms_per_intake"], x["twin_cpu_ms_per_intake"]
        row(
            "M1 CPU ms per intake: worker/Temporal/PG/door",
            "/".join(f"{c[k]:.0f}" for k in ("worker", "temporal", "postgres", "driver")),
            "/".join(f"{t[k]:.0f}" for k in ("worker", "temporal", "postgres", "driver")),
            None,
        )
        row(
            "M1 p95 start -> row visible (ms)",
            x["case_start_to_row"]["p95_ms"],
            x["twin_start_to_record"]["p95_ms"],
            None,
        )
    if "M2" in m and "error" not in m["M2"]:
        x = m["M2"]
        row(
            "M2 lives/s (median)",
            x["case_lives_per_s"]["median"],
            x["twin_lives_per_s"]["median"],
            x["ratio"],
            ">= 0.7",
        )
        row(
            "M2 history events per life",
            x["case_events"]["events"],
            x["twin_events"]["events"],
            x["events_ratio"],
            "<= 1.2",
        )
        row(
            "M2 CPU ms per life (worker process)",
            x["case_cpu_ms_per_life"]["worker"],
            x["twin_cpu_ms_per_life"]["worker"],
            None,
        )
    if "M3" in m and "error" not in m["M3"]:
        x = m["M3"]
        for phase in ("warm", "cold"):
            tw = x[f"{phase}_twin"]
            for door in ("seam", "http"):
                p = x[f"{phase}_{door}"]
                row(
                    f"M3 {phase} {door} p50/p95/p99 (ms)",
                    f"{p['p50_ms']}/{p['p95_ms']}/{p['p99_ms']}",
                    f"{tw['p50_ms']}/{tw['p95_ms']}/{tw['p99_ms']}",
                    x[f"{phase}_{door}_vs_twin"],
                    f"p95 <= {x[f'{phase}_{door}_goal_ms']} ms",
                )
    if "M4" in m and "error" not in m["M4"]:
        x = m["M4"]
        row(
            "M4 KiB per open cached case",
            x["case"]["kib_per_open_case"],
            x["twin"]["kib_per_open_case"],
            x["ratio"],
            "<= 1.5, <= 200 KiB",
        )
    if "M5" in m and "error" not in m["M5"]:
        x = m["M5"]
        row(
            f"M5 figures query p95 (ms), {x['rows']} cases",
            x["page_query_latest"]["p95_ms"],
            x["minimal_count"]["p95_ms"],
            x["ratio_p95"],
            "<= 2 (twin = minimal count)",
        )
        if "page_http" in x:
            row("M5 /figures page p95 (ms)", x["page_http"]["p95_ms"], None, None, "< 20 ms")
        row("M5 one refresh of the figures (s)", x["refresh_s"], None, None)
        if "burst_of_30_requests" in x:
            row(
                "M5 refreshes for 30 requests at once",
                x["burst_of_30_requests"]["refreshes"],
                None,
                None,
            )
    if "M6" in m and "error" not in m["M6"]:
        x = m["M6"]
        row(f"M6 year of {x['cases']} cases: wall (s)", x["wall_s"], None, None, "<= 900 s")
        row(
            "M6 figures as the inputs imply",
            f"{x['checks_passed']}/{x['checks']}",
            None,
            None,
            "all",
        )
    for k, v in m.items():
        if "error" in v:
            lines.append(f"{k}: FAILED {v['error']}")
    return "\n".join(lines)


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

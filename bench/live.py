"""M1 (intake), M3 (an officer's action) and M4 (memory per cached case): the measures on the
bench's dev stack, each against the bare twin's worker process."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import case_api
from bench import twin
from bench.common import (
    cpu_per,
    ms,
    open_cases,
    ratio,
    receipts_sent,
    reference,
    spread,
    twin_intake,
    twin_intakes_done,
)
from bench.cpu import CpuMeter, postmaster_pid
from bench.twin import TwinCase
from bench.workers import worker_process
from stack.dev import service_env
from tests.conftest import make_intake


def meters_for(dev, **workers: int) -> dict[str, CpuMeter]:
    """A CPU meter per worker process: it, the Temporal server, Postgres and the driver."""
    server = {"temporal": dev.temporal.pid}
    pg = {"postgres": postmaster_pid(dev.postgres.data_dir)}
    return {kind: CpuMeter({"worker": pid} | server, pg) for kind, pid in workers.items()}


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

"""M2: full case lives on compressed time (the time-skipping server) against the twin's."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import case_api
from bench import twin
from bench.common import cpu_per, next_morning, ratio, spread
from bench.cpu import CpuMeter
from bench.twin import TwinCase, TwinReview
from bench.workers import FollowingWorkers


# ------------------------------------------------------------------ M2 / M6 compressed time
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

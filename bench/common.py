"""Shared by the measures: statistics of a window's samples, the driver's door (cases opened
through `case_api`, the twin's starts) and its waits."""

from __future__ import annotations

import asyncio
import statistics
import time as timer
import uuid
from datetime import UTC, datetime, time

from sqlalchemy import text
from temporalio.client import Client

import case_api
from bench import twin
from bench.twin import TwinCase
from domain import calendar
from tests.conftest import make_intake


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


def reference() -> str:
    return f"BENCH-{uuid.uuid4().hex[:12]}"


async def twin_intake(client: Client, queue: str) -> tuple[str, float]:
    wid = f"twin-{uuid.uuid4().hex[:16]}"
    t = timer.perf_counter()
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


async def twin_intakes_done(wids: list[str]) -> None:
    """Until each twin of *wids* has run its intake's four activities (reported by its
    worker process into twin.SEEN)."""
    while sum(len(twin.SEEN.get(w, [])) >= 4 for w in wids) < len(wids):
        await asyncio.sleep(0.005)


def cpu_per(windows: list[dict[str, float]], n: int) -> dict[str, float]:
    """CPU ms per item by process, from the windows' meter readings of *n* items each."""
    return {k: round(sum(w[k] for w in windows) / (n * len(windows)), 1) for k in windows[0]}


def next_morning(now: datetime) -> datetime:
    """10:00 in Copenhagen on the next Danish working day after *now* (a pinned start for
    compressed time: never "today", whatever day the bench runs on)."""
    day = calendar.add_working_days(calendar.local_date(now), 1)
    return datetime.combine(day, time(10, 0), tzinfo=calendar.COPENHAGEN)

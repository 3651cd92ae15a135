"""M5: the published figures over a million closed cases loaded with COPY."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import ms, pct, ratio
from db.session import make_engine, make_sessionmaker


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

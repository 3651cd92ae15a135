"""Fault 3: Postgres stopped for 30 s during a burst of starts and updates over HTTP.

The web service runs for real (uvicorn on a port, its own Postgres pool and Temporal client);
the worker runs beside it; Postgres is stopped (`pg_ctl -m fast`) a moment into the burst and
started again 30 s later. Callers behave as the API tells them: every request carries an
Idempotency-Key, a 503 is retried with the same key after its `Retry-After`.

Asserted: while Postgres is away a case system's answers are 503 problem documents with
`Retry-After`; no caller is told a failure for an action that took effect; every request ends
with its success (a start with 201: one case); the activities retried, and the projection and
the outbox end complete and consistent with the workflows and the sink (reconciliation).

Found and fixed: an officer's action while Postgres was away was a 500 (the staff session's
directory look-up let the connection error through); every door now answers a Postgres that
does not answer with 503 and Retry-After (web/problems.py `postgres_away`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
import pytest_asyncio

import access
import case_api
from domain.material import required_material
from mail.channel import EmailChannel
from schemas.intake import CaseType, Department, case_workflow_id
from temporal_client import connect
from tests.reconcile import settled
from tests.serving import serving
from tests.test_durability import product_stack
from tests.test_stack import shared_tmp_dir
from tests.test_web_api import document
from web.app import create_app
from worker import build_worker

pytestmark = pytest.mark.e2e

QUEUE = "faults-postgres"
OUTAGE = 30.0
STARTS = 16  # new cases started during the burst
UPDATES = 8  # cases assigned during the burst, and as many getting their material
SPACING = 2.5  # seconds between two starts: the burst spans the outage
PROBLEM = "application/problem+json"
CODES = [m.code for m in required_material(CaseType.simple_construction, [Department.building])]


@dataclass
class Call:
    """One logical request and every answer it got until it succeeded."""

    what: str
    reference: str
    answers: list[tuple[int, str | None, str]] = field(default_factory=list)  # status, R-A, type
    transport_errors: int = 0

    def __repr__(self) -> str:
        counts = dict(Counter(status for status, _, _ in self.answers))
        return f"{self.what} {self.reference}: {counts}, last {self.answers[-1:]}"

    @property
    def final(self) -> int:
        return self.answers[-1][0] if self.answers else 0


async def send(http: httpx.AsyncClient, call: Call, path: str, body: dict, key: str) -> Call:
    """POST until an answer that is not a 5xx (at most 3 minutes); 503s after Retry-After."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            answer = await http.post(path, json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            call.transport_errors += 1
            await asyncio.sleep(1.0)
            continue
        kind = ""
        if answer.headers.get("content-type") == PROBLEM:
            kind = answer.json().get("type", "").rsplit("/", 1)[-1]
        call.answers.append((answer.status_code, answer.headers.get("retry-after"), kind))
        if answer.status_code == 503:
            await asyncio.sleep(float(answer.headers.get("retry-after") or 1))
        elif answer.status_code >= 500:
            await asyncio.sleep(1.0)  # a plain 5xx: the caller tries again to learn more
        else:
            return call
    return call


@dataclass
class Outage:
    """What the burst saw, and the reconciliation afterwards."""

    calls: list[Call]
    report: object
    away: float
    took: float
    assigned: dict[str, str | None]  # reference -> caseworker after the burst
    complete: dict[str, bool]  # reference -> fuldt oplyst after the burst

    def of(self, *whats: str) -> list[Call]:
        return [c for c in self.calls if c.what in whats]


@pytest_asyncio.fixture(scope="module")
async def outage() -> Outage:
    """The burst over HTTP with Postgres stopped for 30 s a moment into it; run once."""
    began = time.monotonic()
    with shared_tmp_dir("faults-pg") as folder:
        async with product_stack(folder / "stack", QUEUE) as (stack, settings, sessions):
            yield await _burst(stack, settings, sessions, began)


async def _burst(stack, settings, sessions, began: float) -> Outage:
    settings = settings.model_copy(update={"dev_sign_in": True})
    client = await connect(settings)
    key = await access.create_api_key(sessions, f"pg-{uuid.uuid4().hex[:6]}")
    tag = uuid.uuid4().hex[:6]

    def body(reference: str) -> dict:
        return document(reference, case_type="simple_construction", departments=["building"])

    async with build_worker(client, sessions, EmailChannel(settings), settings):
        with serving(create_app(settings), "uvicorn-faults-pg") as url:
            system = httpx.AsyncClient(
                base_url=url,
                headers={"Authorization": f"Bearer {key}"},
                timeout=60.0,
                trust_env=False,
            )
            officer = httpx.AsyncClient(base_url=url, timeout=60.0, trust_env=False)
            async with system, officer:
                signed = await officer.post("/auth/dev/sign-in", json={"caseworker_id": "mkj"})
                assert signed.status_code == 200, signed.text
                # Before the outage: cases to update during it (half of them assigned).
                to_assign = [f"PGA-{tag}-{n:02d}" for n in range(UPDATES)]
                to_complete = [f"PGM-{tag}-{n:02d}" for n in range(UPDATES)]
                for reference in to_assign + to_complete:
                    answer = await system.post("/api/v1/cases", json=body(reference))
                    assert answer.status_code == 201, answer.text
                for reference in to_complete:
                    answer = await officer.post(
                        f"/api/v1/cases/{reference}/assignment", json={"caseworker_id": "mkj"}
                    )
                    assert answer.status_code == 200, answer.text

                async def later(delay: float, *args) -> Call:
                    await asyncio.sleep(delay)
                    return await send(*args)

                # The burst spreads over the outage: starts every SPACING seconds, the
                # updates in between; Postgres stops 1.5 s in and is back OUTAGE s later.
                callers = [
                    *(
                        later(
                            n * SPACING,
                            system,
                            Call("start", f"PGS-{tag}-{n:02d}"),
                            "/api/v1/cases",
                            body(f"PGS-{tag}-{n:02d}"),
                            f"start-{n}",
                        )
                        for n in range(STARTS)
                    ),
                    *(
                        later(
                            1.0 + n * 2 * SPACING,
                            officer,
                            Call("assignment", reference),
                            f"/api/v1/cases/{reference}/assignment",
                            {"caseworker_id": "mkj"},
                            f"assign-{n}",
                        )
                        for n, reference in enumerate(to_assign)
                    ),
                    *(
                        later(
                            2.0 + n * 2 * SPACING,
                            system,
                            Call("material", reference),
                            f"/api/v1/cases/{reference}/material",
                            {"codes": CODES},
                            f"material-{n}",
                        )
                        for n, reference in enumerate(to_complete)
                    ),
                ]
                tasks = [asyncio.create_task(c) for c in callers]
                await asyncio.sleep(1.5)
                await asyncio.to_thread(stack.postgres.stop)
                stopped = time.monotonic()
                await asyncio.sleep(OUTAGE)
                await asyncio.to_thread(stack.postgres.start)
                away = time.monotonic() - stopped
                calls = list(await asyncio.gather(*tasks))

        # The product's side: every case there once, consistent, every letter once. The
        # activities retried while Postgres was away.
        references = to_assign + to_complete + [c.reference for c in calls if c.what == "start"]
        ids = [case_workflow_id(r) for r in references]
        report = await settled(client, sessions, stack.mail_dir, ids, timeout=120)
        assigned, complete = {}, {}
        for reference in to_assign:
            state = await case_api.get_state(client, reference)
            assigned[reference] = state.caseworker.id if state.caseworker else None
        for reference in to_complete:
            state = await case_api.get_state(client, reference)
            complete[reference] = state.complete_at is not None
    statuses = Counter(status for c in calls for status, _, _ in c.answers)
    took = time.monotonic() - began
    print(
        report.summary("fault 3 Postgres away during a burst", f"postgres stopped {away:.0f}s")
        + f" requests={len(calls)} answers={dict(sorted(statuses.items()))} took={took:.0f}s"
    )
    return Outage(calls, report, away, took, assigned, complete)


def unavailable(calls: list[Call]) -> list[tuple[int, str | None, str]]:
    return [a for c in calls for a in c.answers if a[0] == 503]


def other_5xx(calls: list[Call]) -> list[Call]:
    return [c for c in calls if any(s >= 500 and s != 503 for s, _, _ in c.answers)]


async def test_postgres_away_case_systems_get_503_then_success_nothing_lost(outage):
    """Starts and the company's updates from a case system; then every case, projection row
    and letter, reconciled."""
    calls = outage.of("start", "material")
    answered = unavailable(calls)
    assert len({c.reference for c in calls if c.answers[0][0] == 503}) >= 5, calls
    assert all(
        retry_after is not None and kind == "Unavailable" for _, retry_after, kind in answered
    )
    assert other_5xx(calls) == []  # never a failure but "try again later"
    assert [c for c in calls if c.final not in (200, 201)] == []  # each ends in success
    assert all(c.final == 201 for c in calls if c.what == "start")  # one start, one case
    assert all(outage.complete.values()) and len(outage.complete) == UPDATES

    report = outage.report
    assert report.cases == 2 * UPDATES + STARTS
    assert report.lost == [] and report.duplicated == [], report
    assert report.mismatched == [] and report.unsettled == [], report
    # Every officer's assignment ended assigned once, whatever it was told on the way.
    assert set(outage.assigned.values()) == {"mkj"}
    assert all(c.final == 200 for c in outage.of("assignment"))


async def test_postgres_away_officers_get_503_with_retry_after(outage):
    calls = outage.of("assignment")
    assert any(c.answers[0][0] >= 500 for c in calls), calls  # the outage was met
    assert other_5xx(calls) == [], calls
    assert all(ra is not None and kind == "Unavailable" for _, ra, kind in unavailable(calls))

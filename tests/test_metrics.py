"""Metrics and health over the real parts: the web service's `/metrics` (request counters by
route template, the product's gauges from Postgres) on the real worker, Temporal and
Postgres; the worker started as a process answers `/healthz`, `/readyz` and `/metrics` on
its health port, serves the Temporal SDK's `temporal_*` metrics, and stops gracefully."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio

import case_api
from settings import ROOT
from stack.dev import service_env
from stack.ports import free_port
from stack.worker import WorkerProcess
from tests.conftest import make_intake
from tests.test_e2e import mails_to, product, stack  # noqa: F401 - the running stack and worker
from web.app import create_app
from web.metrics import instrument

pytestmark = pytest.mark.e2e


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample *name* with exactly *labels* in Prometheus text, or None."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if not match or match[1] != name:
            continue
        got = ",".join(sorted(re.findall(r'\w+="[^"]*"', match[2] or "")))
        if got == want:
            return float(match[3])
    return None


def own_intake(prefix: str):
    """An intake received now with its own reference and contact address (the sink is shared)."""
    tag = uuid.uuid4().hex[:8]
    contact = {
        "name": "Søren Ærø Østergård",
        "email": f"{tag}@nordjysk-staal.dk",
        "phone": "98123456",
    }
    return make_intake(reference=f"{prefix}-{tag}", received_at=datetime.now(UTC), contact=contact)


@pytest_asyncio.fixture(scope="module")
async def web(product):  # noqa: F811
    settings, client, sessions = product
    settings = settings.model_copy(update={"metrics_cache_seconds": 0.0})
    app = create_app(settings, sessions=sessions, client=client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=instrument(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http, settings, client


async def test_web_metrics_count_requests_by_route_template_and_show_the_product(stack, web):  # noqa: F811
    http, settings, client = web
    intake = own_intake("MET")
    reference = intake.reference
    await case_api.start_case(client, intake, settings.temporal_task_queue, vault=None)
    assert len(await mails_to(stack.mail_dir, intake.contact.email, 1)) == 1  # the receipt

    before = (await http.get("/metrics")).text
    healthz = sample(before, "erhverv_web_requests_total", method="GET", route="/healthz",
                     status="200") or 0.0  # fmt: skip
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get(f"/api/v1/cases/{reference}")).status_code == 401  # no API key
    assert (await http.get("/findes-ikke/123")).status_code == 404

    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert sample(text, "erhverv_web_requests_total", method="GET", route="/healthz",
                  status="200") == healthz + 2  # fmt: skip
    assert sample(text, "erhverv_web_requests_total", method="GET",
                  route="/api/v1/cases/{reference}", status="401") >= 1  # fmt: skip
    assert sample(text, "erhverv_web_requests_total", method="GET", route="unmatched",
                  status="404") >= 1  # fmt: skip
    assert sample(text, "erhverv_web_request_duration_seconds_count", method="GET",
                  route="/healthz") >= 2  # fmt: skip
    # Route templates only: no reference, no raw path in any label.
    assert reference not in text and "findes-ikke" not in text

    # The product's gauges, read from Postgres through the seam.
    assert sample(text, "erhverv_product_figures_up") == 1
    assert sample(text, "erhverv_open_cases", status="awaiting_caseworker") >= 1
    assert sample(text, "erhverv_open_cases", status="in_review") is not None  # every status
    assert sample(text, "erhverv_contact_deadline_breached_cases") is not None
    assert sample(text, "erhverv_late_reviews") is not None
    # The in-process worker's letter counter (same registry in this process).
    assert sample(text, "erhverv_letters_sent_total", kind="receipt") >= 1

    schema = (await http.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]


async def test_product_gauges_follow_the_case(web):
    """A new case counts as awaiting a caseworker; its assignment moves it on at the next
    scrape (the cache is off in this test)."""
    http, settings, client = web
    waiting = lambda text: sample(text, "erhverv_open_cases", status="awaiting_caseworker")
    before = waiting((await http.get("/metrics")).text)
    intake = own_intake("MEV")
    reference = intake.reference
    await case_api.start_case(client, intake, settings.temporal_task_queue, vault=None)
    assert waiting(await scrape_until(http, lambda t: waiting(t) == before + 1)) == before + 1
    await case_api.assign_caseworker(client, reference, "mkj")
    assert waiting(await scrape_until(http, lambda t: waiting(t) == before)) == before


async def scrape_until(http: httpx.AsyncClient, ok, timeout: float = 30.0) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        text = (await http.get("/metrics")).text
        if ok(text) or asyncio.get_running_loop().time() > deadline:
            return text
        await asyncio.sleep(0.2)


async def test_worker_process_health_and_metrics_endpoints(stack, product, web, tmp_path):  # noqa: F811
    """`python worker.py` with a health port and an SDK metrics address: /healthz, /readyz
    (the worker polls, Temporal and Postgres answer), /metrics (the product's counters) and
    the SDK's temporal_* metrics; SIGTERM stops it gracefully and the endpoint goes away. The
    Grafana dashboard (docs/grafana-dashboard.json) names only metrics these endpoints export."""
    queue = f"metrics-{uuid.uuid4().hex[:8]}"
    health_port, sdk_port = free_port(), free_port()
    env = service_env(stack) | {
        "ERHVERV_TEMPORAL_TASK_QUEUE": queue,
        "ERHVERV_WORKER_HEALTH_PORT": str(health_port),
        "ERHVERV_WORKER_METRICS_ADDRESS": f"127.0.0.1:{sdk_port}",
    }
    worker = WorkerProcess(ROOT / "worker.py", tmp_path / "worker.log", env, cwd=ROOT,
                           pid_file=tmp_path / "worker.pid")  # fmt: skip
    worker.start()
    try:
        await worker.wait_ready(stack.temporal_address, "default", queue)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{health_port}") as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json() == {
                "status": "ready", "worker": "ok", "temporal": "ok", "postgres": "ok",
            }  # fmt: skip
            assert (await http.get("/nope")).status_code == 404
            assert (await http.post("/healthz")).status_code == 405

            intake = own_intake("MWP")
            await case_api.start_case(product[1], intake, queue, vault=None)
            assert len(await mails_to(stack.mail_dir, intake.contact.email, 1)) == 1
            own = (await http.get("/metrics")).text
            assert sample(own, "erhverv_letters_sent_total", kind="receipt") == 1
            assert "# TYPE erhverv_activity_failures_total counter" in own
        async with httpx.AsyncClient() as http:
            sdk = (await http.get(f"http://127.0.0.1:{sdk_port}/metrics")).text
        names = {line.split("{")[0].split(" ")[0] for line in sdk.splitlines() if line[:1] != "#"}
        assert any(name.startswith("temporal_") for name in names), sdk[:500]
        assert "temporal_activity_execution_latency" in sdk or "temporal_request" in sdk
        web_text = (await web[0].get("/metrics")).text
        assert_dashboard_names_exist(own + web_text, sdk)

        os.kill(worker.pid, signal.SIGTERM)
        for _ in range(300):
            if worker.returncode is not None:
                break
            await asyncio.sleep(0.1)
        assert worker.returncode == 0
        with pytest.raises(httpx.ConnectError):
            async with httpx.AsyncClient() as http:
                await http.get(f"http://127.0.0.1:{health_port}/healthz")
    finally:
        worker.stop()


# SDK metrics that appear only after their first event (a failed activity).
APPEAR_LATER = {"temporal_activity_execution_failed"}


def assert_dashboard_names_exist(product_text: str, sdk_text: str) -> None:
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    names = {n for e in exprs for n in re.findall(r"\b((?:erhverv|temporal)_\w+)", e)}
    assert names
    base = lambda n: re.sub(r"_(bucket|total|count|sum)$", "", n)
    for name in sorted(names):
        text = product_text if name.startswith("erhverv_") else sdk_text
        if base(name) in APPEAR_LATER:
            continue
        # A labelled metric with no sample yet is still declared (# TYPE).
        pattern = rf"^(# TYPE )?{base(name)}(_bucket|_total|_count|_sum)?[{{ ]"
        assert re.search(pattern, text, re.MULTILINE), name

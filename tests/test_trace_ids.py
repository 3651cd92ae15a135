"""Trace ids across web → workflow → activity (tracing.py), over the real worker, Temporal dev
server and Postgres: a case started over HTTP with `X-Request-ID` carries that id in the web
service's log lines, its response and the worker's log lines for the case's receipt letter;
a request without one gets a fresh id; a hostile header value is replaced and never logged;
W3C `traceparent` is honoured."""

from __future__ import annotations

import asyncio
import contextvars
import json
import re
import uuid
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.worker import Replayer, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import access
import tracing
from tests.test_e2e import mails_to, product, stack  # noqa: F401 - the running stack and worker
from tests.test_web_api import auth, document
from tests.test_web_oidc import log_lines
from web.__main__ import AccessLog
from web.app import create_app
from web.metrics import instrument
from workflows.interceptors import INTERCEPTORS

pytestmark = pytest.mark.e2e
HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest_asyncio.fixture(scope="module")
async def web(product):  # noqa: F811
    """The app as `python -m web` serves it (access log outside, metrics), and the bare app
    (its own trace middleware only), with a case system's API key."""
    settings, client, sessions = product
    app = create_app(settings, sessions=sessions, client=client)
    key = await access.create_api_key(sessions, f"trace-{uuid.uuid4().hex[:6]}")
    async with app.router.lifespan_context(app):

        def http(asgi=None) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=asgi or AccessLog(instrument(app)))
            return httpx.AsyncClient(transport=transport, base_url="http://web.test")

        yield http, app, key


def access_lines(lines: list[dict], path: str) -> list[dict]:
    return [x for x in lines if x.get("logger") == "web.access" and x.get("path") == path]


async def test_a_case_started_over_http_has_one_trace_id_from_web_to_activity(web, stack):  # noqa: F811
    http, _, key = web
    trace_id = f"trace-test-{uuid.uuid4().hex[:12]}"
    body = document(f"TRC-{uuid.uuid4().hex[:8]}")
    async with http() as client:
        with log_lines() as lines:
            started = await client.post(
                "/api/v1/cases",
                json=body,
                headers={**auth(key, f"idem-{trace_id}"), "X-Request-ID": trace_id},
            )
            assert started.status_code == 201, started.text
            assert len(await mails_to(stack.mail_dir, body["contact"]["email"], 1)) == 1
    assert started.headers.get_list("x-request-id") == [trace_id]  # once, by the outer layer

    [request_line] = access_lines(lines, "/api/v1/cases")
    assert request_line["trace_id"] == trace_id and request_line["status"] == 201

    case_id = f"case-{body['reference']}"
    worker = [x for x in lines if x.get("workflow_id") == case_id]
    sent = [x for x in worker if x["event"] == "letter sent" and x["letter_key"] == "receipt"]
    assert len(sent) == 1, worker
    assert sent[0]["trace_id"] == trace_id
    assert sent[0]["activity_type"] == "send_letter"
    # every line the worker wrote for this case (workflow and activities) carries it
    assert worker and {x.get("trace_id") for x in worker} == {trace_id}


async def test_the_trace_id_rides_in_the_workflow_history_as_a_plain_header(web, product):  # noqa: F811
    """The start event of a case started over HTTP holds `erhverv-trace-id` (plain JSON, no
    personal data), and the receipt activity's scheduling event passes it on."""
    http, _, key = web
    _, client, _ = product
    trace_id = f"trace-hist-{uuid.uuid4().hex[:12]}"
    body = document(f"TRC-{uuid.uuid4().hex[:8]}")
    async with http() as browser:
        started = await browser.post(
            "/api/v1/cases", json=body, headers={**auth(key), "X-Request-ID": trace_id}
        )
    assert started.status_code == 201, started.text
    handle = client.get_workflow_handle(f"case-{body['reference']}")
    found: dict[str, list[str | None]] = {"start": [], "activity": []}
    for _ in range(100):
        history = await handle.fetch_history()
        found = {"start": [], "activity": []}
        for event in history.events:
            if event.HasField("workflow_execution_started_event_attributes"):
                headers = event.workflow_execution_started_event_attributes.header.fields
                found["start"].append(tracing.from_temporal_headers(headers))
            if event.HasField("activity_task_scheduled_event_attributes"):
                headers = event.activity_task_scheduled_event_attributes.header.fields
                found["activity"].append(tracing.from_temporal_headers(headers))
        if found["activity"]:
            break
        await asyncio.sleep(0.1)
    assert found["start"] == [trace_id]
    assert found["activity"] and set(found["activity"]) == {trace_id}


async def test_a_request_without_a_trace_id_gets_a_fresh_one(web):
    http, app, _ = web
    async with http() as client:
        with log_lines() as lines:
            first = await client.get("/healthz")
            second = await client.get("/healthz")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(HEX32.fullmatch(i) for i in ids) and ids[0] != ids[1]
    assert [x["trace_id"] for x in access_lines(lines, "/healthz")] == ids
    # the bare app (no access log outside it) gives one too, from its own middleware
    async with http(app) as bare:
        answer = await bare.get("/healthz", headers={"X-Request-ID": "from-a-case-system.1"})
    assert answer.headers["x-request-id"] == "from-a-case-system.1"
    assert HEX32.fullmatch((await http(app).get("/healthz")).headers["x-request-id"])


@pytest.mark.parametrize(
    "hostile",
    [
        "ab\x01cd-control-character",
        "x" * 500,
        "åse@firma.dk",
        "id with spaces",
        "",
    ],
    ids=["control", "500-chars", "e-mail", "spaces", "empty"],
)
async def test_a_hostile_request_id_is_replaced_and_not_logged(web, hostile):
    http, _, _ = web
    async with http() as client:
        with log_lines() as lines:
            answer = await client.get(
                "/healthz", headers=[(b"x-request-id", hostile.encode("utf-8"))]
            )
    assert answer.status_code == 200
    trace_id = answer.headers["x-request-id"]
    assert HEX32.fullmatch(trace_id)
    [line] = access_lines(lines, "/healthz")
    assert line["trace_id"] == trace_id
    if hostile:
        text = json.dumps(lines, ensure_ascii=False)
        assert hostile not in text and hostile.encode("unicode_escape").decode() not in text


async def test_a_w3c_traceparent_gives_its_trace_id(web):
    http, _, _ = web
    trace = uuid.uuid4().hex
    async with http() as client:
        with log_lines() as lines:
            answer = await client.get(
                "/healthz",
                headers={
                    "traceparent": f"00-{trace}-00f067aa0ba902b7-01",
                    "X-Request-ID": "loses-to-traceparent",
                },
            )
    assert answer.headers["x-request-id"] == trace
    assert access_lines(lines, "/healthz")[0]["trace_id"] == trace


@pytest.mark.parametrize(
    "value",
    [
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # 00 with more
        "garbage",
    ],
)
def test_an_invalid_traceparent_is_ignored(value):
    assert tracing.from_traceparent(value) is None
    headers = [(b"traceparent", value.encode()), (b"x-request-id", b"fallback-id")]
    assert tracing.trace_id_from_headers(headers) == "fallback-id"


def test_a_later_traceparent_version_may_carry_more_fields():
    value = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more"
    assert tracing.from_traceparent(value) == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_the_temporal_header_round_trips_and_rejects_what_is_not_a_safe_id():
    assert tracing.from_temporal_headers(tracing.with_trace({}, "abc-1.2_3")) == "abc-1.2_3"
    assert tracing.with_trace({}, None) == {}
    assert tracing.from_temporal_headers(None) is None
    hostile = tracing.header_payload("line\nbreak")  # a worker trusts no header it is sent
    assert tracing.from_temporal_headers({tracing.HEADER: hostile}) is None
    not_json = Payload(metadata={"encoding": b"binary/encrypted"}, data=b"\x00\x01")
    assert tracing.from_temporal_headers({tracing.HEADER: not_json}) is None


# ------------------------------------------------------------------ inside the worker


@activity.defn(name="trace_probe")
async def trace_probe(label: str) -> str:
    activity.logger.info("trace probe", extra={"kind": label})
    return tracing.current() or ""


STEP = {"start_to_close_timeout": timedelta(seconds=20)}


@workflow.defn(name="TraceProbeChild")
class TraceProbeChild:
    @workflow.run
    async def run(self) -> str:
        workflow.logger.info("trace probe", extra={"kind": "child"})
        return await workflow.execute_activity(trace_probe, "child-activity", **STEP)


@workflow.defn(name="TraceProbe")
class TraceProbe:
    """A workflow, its activity, its child and an update, each logging one line."""

    def __init__(self) -> None:
        self.finished = False

    @workflow.run
    async def run(self) -> list[str]:
        workflow.logger.info("trace probe", extra={"kind": "run"})
        seen = [await workflow.execute_activity(trace_probe, "run-activity", **STEP)]
        seen.append(
            await workflow.execute_child_workflow(
                TraceProbeChild.run, id=f"{workflow.info().workflow_id}-child"
            )
        )
        await workflow.wait_condition(lambda: self.finished)
        return seen

    @workflow.update
    async def finish(self) -> str:
        workflow.logger.info("trace probe", extra={"kind": "update"})
        seen = await workflow.execute_activity(trace_probe, "update-activity", **STEP)
        self.finished = True
        return seen


def probe_runner() -> SandboxedWorkflowRunner:
    """The sandbox, with this test module passed through."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
    )


def probe_worker(client, task_queue: str) -> Worker:
    """The product's interceptors (as `worker.case_worker` uses them) in the sandbox."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[TraceProbe, TraceProbeChild],
        activities=[trace_probe],
        interceptors=INTERCEPTORS,
        workflow_runner=probe_runner(),
    )


async def test_workflow_child_activity_and_update_lines_carry_their_caller_s_trace_id(product):  # noqa: F811
    """The start's trace id in the workflow's lines, its activity's and its child's; an
    update sent from another request carries that request's id into its handler and the
    activity it starts. The history replays with the interceptors (no command changed)."""
    _, client, _ = product
    queue = f"trace-{uuid.uuid4().hex[:8]}"
    started_by, updated_by = f"start-{uuid.uuid4().hex[:8]}", f"update-{uuid.uuid4().hex[:8]}"
    async with probe_worker(client, queue):
        with log_lines() as lines:
            with tracing.bound(started_by):
                handle = await client.start_workflow(
                    TraceProbe.run, id=f"trace-probe-{queue}", task_queue=queue
                )
            with tracing.bound(updated_by):
                assert await handle.execute_update(TraceProbe.finish) == updated_by
            assert await handle.result() == [started_by, started_by]
    probe = {x["kind"]: x for x in lines if x.get("event") == "trace probe"}
    assert {kind: line["trace_id"] for kind, line in probe.items()} == {
        "run": started_by,
        "run-activity": started_by,
        "child": started_by,
        "child-activity": started_by,
        "update": updated_by,
        "update-activity": updated_by,
    }
    assert probe["run"]["logger"] == "temporalio.workflow"
    assert probe["run-activity"]["logger"] == "temporalio.activity"
    replayer = Replayer(
        workflows=[TraceProbe, TraceProbeChild],
        interceptors=INTERCEPTORS,
        data_converter=client.data_converter,
        workflow_runner=probe_runner(),
    )
    await replayer.replay_workflow(await handle.fetch_history())


async def test_a_call_outside_any_request_gets_a_fresh_trace_id(product):  # noqa: F811
    """The CLI's case: no request, no id bound: the client makes one (and binds it for the
    caller's own lines); the workflow and its activities carry it."""
    _, client, _ = product
    queue = f"trace-{uuid.uuid4().hex[:8]}"

    async def as_the_cli() -> tuple[str, list[str]]:
        assert tracing.current() is None
        handle = await client.start_workflow(
            TraceProbe.run, id=f"trace-probe-{queue}", task_queue=queue
        )
        await handle.execute_update(TraceProbe.finish)
        return tracing.current() or "", await handle.result()

    async with probe_worker(client, queue):
        bound, seen = await asyncio.create_task(as_the_cli(), context=contextvars.Context())
    assert HEX32.fullmatch(bound) and seen == [bound, bound]

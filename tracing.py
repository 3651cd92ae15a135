"""One trace id per request, across web → workflow → activity, in every JSON log line.

- The web service: each HTTP request gets a trace id — the W3C `traceparent` header's
  trace-id when it is valid, else the `X-Request-ID` header when it is a safe token (at most
  64 characters of `A-Z a-z 0-9 . _ -`), else a new random 32-hex id. It is bound in
  structlog's contextvars (field `trace_id` of every line logged while the request runs) and
  echoed in the response header `X-Request-ID`. Anything else a client sends there is
  replaced, never logged. (`TraceIds` in the app; `request_trace` in the access log.)
- Into Temporal: `TraceClientInterceptor` (every client made by `temporal_client.connect`)
  sends the current trace id as the Temporal header `erhverv-trace-id` with each workflow
  start, update, signal and query. The CLI and other processes without a request get one
  fresh id per process context, bound for their own log lines too.
- In the worker: `workflows/interceptors.py` reads the header in workflows and activities,
  binds it for their log lines and passes it on to the activities and child workflows a
  workflow starts.

A trace id is a random token or one the caller chose within the safe alphabet: never a name,
an e-mail address or a case's content. The header's payload is made with the SDK's default
converter (plain JSON, not encrypted: the client's header codec behaviour is NO_CODEC, the
SDK's default), so every process can read it and it is visible in the workflow history.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog
from temporalio import client as temporal_client
from temporalio.api.common.v1 import Payload
from temporalio.converter import default as default_converter

FIELD = "trace_id"  # the log field
HEADER = "erhverv-trace-id"  # the Temporal header
RESPONSE_HEADER = "X-Request-ID"  # the HTTP header, read and echoed
SCOPE_KEY = "erhverv.trace_id"  # where an outer ASGI layer leaves the request's trace id

_SAFE = re.compile(r"[A-Za-z0-9._-]{1,64}")
# W3C Trace Context: version-traceid-parentid-flags; version ff is invalid; version 00 has
# nothing after the flags, later versions may append fields.
_TRACEPARENT = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace>[0-9a-f]{32})-(?P<parent>[0-9a-f]{16})-[0-9a-f]{2}"
    r"(?P<rest>-.*)?"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def new_trace_id() -> str:
    """A fresh random trace id: 32 lowercase hex digits (a W3C trace-id)."""
    return secrets.token_hex(16)


def safe(value: object) -> str | None:
    """*value* when it is a safe trace id (a string of 1–64 characters of A-Z a-z 0-9 . _ -),
    else None."""
    if isinstance(value, str) and _SAFE.fullmatch(value):
        return value
    return None


def from_traceparent(value: str) -> str | None:
    """The trace-id of a valid W3C `traceparent` header value, else None."""
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None or match["version"] == "ff":
        return None
    if match["version"] == "00" and match["rest"]:
        return None
    if set(match["trace"]) == {"0"} or set(match["parent"]) == {"0"}:
        return None
    return match["trace"]


def trace_id_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The request's trace id from its raw ASGI headers: `traceparent`, `X-Request-ID`, or new."""
    found: dict[bytes, bytes] = {}
    for name, value in headers:
        found.setdefault(name.lower(), value)
    try:
        if (parent := found.get(b"traceparent")) and (trace := from_traceparent(parent.decode())):
            return trace
        if (given := found.get(RESPONSE_HEADER.lower().encode())) and (
            trace := safe(given.decode("ascii"))
        ):
            return trace
    except UnicodeDecodeError:
        pass
    return new_trace_id()


# ------------------------------------------------------------------ the current trace id


def current() -> str | None:
    """The trace id bound in this context (a request, a workflow, an activity), or None."""
    return safe(structlog.contextvars.get_contextvars().get(FIELD))


def bind(trace_id: str) -> None:
    """Bind *trace_id* for this context's log lines (and Temporal calls made from it)."""
    structlog.contextvars.bind_contextvars(**{FIELD: trace_id})


@contextmanager
def bound(trace_id: str) -> Iterator[str]:
    """*trace_id* bound while the block runs, the previous value restored afterwards."""
    with structlog.contextvars.bound_contextvars(**{FIELD: trace_id}):
        yield trace_id


def ensure() -> str:
    """The current trace id; a new one, bound, when there is none (the CLI, the worker's own
    calls)."""
    trace_id = current()
    if trace_id is None:
        trace_id = new_trace_id()
        bind(trace_id)
    return trace_id


# ------------------------------------------------------------------ the Temporal header


def header_payload(trace_id: str) -> Payload:
    """The `erhverv-trace-id` header's value: *trace_id* as a plain JSON payload."""
    return default_converter().payload_converter.to_payload(trace_id)


def from_temporal_headers(headers: Mapping[str, Payload] | None) -> str | None:
    """The safe trace id in Temporal *headers*, or None (absent, not JSON, not safe)."""
    payload = (headers or {}).get(HEADER)
    if payload is None:
        return None
    try:
        value = default_converter().payload_converter.from_payload(payload, str)
    except Exception:  # noqa: BLE001 - e.g. an encrypted or foreign payload: no trace id
        return None
    return safe(value)


def with_trace(headers: Mapping[str, Payload] | None, trace_id: str | None) -> dict[str, Payload]:
    """*headers* with the `erhverv-trace-id` header set to *trace_id* (unchanged without)."""
    out = dict(headers or {})
    if trace_id is not None:
        out[HEADER] = header_payload(trace_id)
    return out


class _TraceOutbound(temporal_client.OutboundInterceptor):
    """Adds the current trace id to every workflow start, update, signal and query."""

    async def start_workflow(self, input: temporal_client.StartWorkflowInput):
        input.headers = with_trace(input.headers, ensure())
        return await super().start_workflow(input)

    async def start_workflow_update(self, input: temporal_client.StartWorkflowUpdateInput):
        input.headers = with_trace(input.headers, ensure())
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: temporal_client.StartWorkflowUpdateWithStartInput
    ):
        trace_id = ensure()
        input.start_workflow_input.headers = with_trace(
            input.start_workflow_input.headers, trace_id
        )
        input.update_workflow_input.headers = with_trace(
            input.update_workflow_input.headers, trace_id
        )
        return await super().start_update_with_start_workflow(input)

    async def signal_workflow(self, input: temporal_client.SignalWorkflowInput) -> None:
        input.headers = with_trace(input.headers, ensure())
        await super().signal_workflow(input)

    async def query_workflow(self, input: temporal_client.QueryWorkflowInput):
        input.headers = with_trace(input.headers, ensure())
        return await super().query_workflow(input)


class TraceClientInterceptor(temporal_client.Interceptor):
    """The client side: the current trace id rides along as a Temporal header."""

    def intercept_client(
        self, next: temporal_client.OutboundInterceptor
    ) -> temporal_client.OutboundInterceptor:
        return _TraceOutbound(next)


# ------------------------------------------------------------------ the web service


@contextmanager
def request_trace(scope: Scope) -> Iterator[str]:
    """The HTTP request's trace id (kept in the ASGI *scope*, so inner layers use the same),
    bound in structlog's contextvars while the request runs, restored afterwards."""
    trace_id = scope.get(SCOPE_KEY) or trace_id_from_headers(scope.get("headers") or [])
    scope[SCOPE_KEY] = trace_id
    with bound(trace_id):
        yield trace_id


def echoing(send: Send, trace_id: str) -> Send:
    """*send*, with the response header `X-Request-ID: <trace_id>` on the response start."""
    value = trace_id.encode("ascii")
    name = RESPONSE_HEADER.lower().encode()

    async def send_with_header(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != name]
            message["headers"] = [*headers, (name, value)]
        await send(message)

    return send_with_header


class TraceIds:
    """ASGI middleware: the request's trace id bound for its log lines and echoed in
    `X-Request-ID`. When an outer layer (the access log of `python -m web`) has done so
    already, it passes the request through unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or SCOPE_KEY in scope:
            await self.app(scope, receive, send)
            return
        with request_trace(scope) as trace_id:
            await self.app(scope, receive, echoing(send, trace_id))

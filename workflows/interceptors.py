"""The worker's interceptors.

- One guard for every signal: arguments that do not fit the handler drop the signal with a
  warning (a handler raising TypeError would fail the workflow task for good).
- One guard for every update: a validator that fails with anything but `ApplicationError`
  (e.g. two arguments where one is due: the SDK then calls it with the wrong number of
  arguments) rejects the update with a named, non-retryable `ApplicationError` instead of a
  Python `TypeError` (which Temporal reports as retryable). No value is repeated.
- Trace ids (tracing.py): the `erhverv-trace-id` header of a workflow start, signal or update
  becomes the field `trace_id` of the workflow's log lines, and rides along to the
  activities, child workflows and continued runs it starts; an activity binds it for its
  own log lines. Headers change no command: replay is unaffected.
"""

from __future__ import annotations

from typing import Any, NoReturn

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ContinueAsNewInput,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    StartActivityInput,
    StartChildWorkflowInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

with workflow.unsafe.imports_passed_through():
    import handler_args
    import tracing


class _UpdateArgumentGuard(WorkflowInboundInterceptor):
    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        try:
            self.next.handle_update_validator(input)
        except ApplicationError:
            raise
        except Exception:  # noqa: BLE001 - anything else is a malformed call
            raise ApplicationError(
                f"The update {input.update} was sent with {len(input.args)} arguments that do "
                "not fit it; send exactly one argument of the documented shape (see schemas/).",
                type="InvalidArguments",
                non_retryable=True,
            ) from None

    async def handle_signal(self, input: HandleSignalInput) -> None:
        """A signal whose arguments do not fit its handler (e.g. none where one is due) is
        dropped with a warning: raised in the handler it would fail the workflow task again
        and again, and the case would stop answering. A signal cannot be refused."""
        handler = _signal_function(input.signal)
        if handler is not None and not handler_args.arguments_fit(handler, input.args):
            workflow.logger.warning(
                "signal dropped: its arguments do not fit",
                extra={"signal": input.signal, "arguments": len(input.args)},
            )
            return
        await self.next.handle_signal(input)


def _signal_function(name: str) -> Any:
    """The workflow class's own (unbound) handler function of signal *name*, or None (the
    SDK's bound handler of an async method takes any arguments, so it cannot be checked)."""
    cls = type(workflow.instance())
    for attribute in vars(cls).values():
        defn = getattr(attribute, "__temporal_signal_definition", None)
        if defn is not None and defn.name == name:
            return defn.fn
    return None


class UpdateArgumentGuard(Interceptor):
    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _UpdateArgumentGuard


class _TraceInbound(WorkflowInboundInterceptor):
    """Binds the trace id of the start (or of the signal or update, each in its own task) for
    the workflow's log lines: the tasks a handler runs in keep it to themselves. Reads headers
    and binds a context variable only: no I/O, no clock, no command."""

    trace_id: str | None = None

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_TraceOutbound(outbound, self))

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        self.trace_id = tracing.from_temporal_headers(input.headers)
        if self.trace_id is not None:
            tracing.bind(self.trace_id)
        return await super().execute_workflow(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        if trace_id := tracing.from_temporal_headers(input.headers) or self.trace_id:
            tracing.bind(trace_id)
        await super().handle_signal(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        if trace_id := tracing.from_temporal_headers(input.headers) or self.trace_id:
            tracing.bind(trace_id)
        return await super().handle_update_handler(input)


class _TraceOutbound(WorkflowOutboundInterceptor):
    """The trace id of the task that starts an activity or a child workflow (or the
    workflow's own) goes along as its header."""

    def __init__(self, next: WorkflowOutboundInterceptor, inbound: _TraceInbound) -> None:
        super().__init__(next)
        self._inbound = inbound

    def _trace_id(self) -> str | None:
        return tracing.current() or self._inbound.trace_id

    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle:
        input.headers = tracing.with_trace(input.headers, self._trace_id())
        return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle:
        input.headers = tracing.with_trace(input.headers, self._trace_id())
        return super().start_local_activity(input)

    async def start_child_workflow(
        self, input: StartChildWorkflowInput
    ) -> workflow.ChildWorkflowHandle:
        input.headers = tracing.with_trace(input.headers, self._trace_id())
        return await super().start_child_workflow(input)

    def continue_as_new(self, input: ContinueAsNewInput) -> NoReturn:
        input.headers = tracing.with_trace(input.headers, self._trace_id())
        super().continue_as_new(input)


class _TraceActivity(ActivityInboundInterceptor):
    """An activity's log lines carry the trace id its workflow sent along."""

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        trace_id = tracing.from_temporal_headers(input.headers)
        if trace_id is None:
            return await super().execute_activity(input)
        with tracing.bound(trace_id):
            return await super().execute_activity(input)


class TracePropagation(Interceptor):
    """Trace ids through workflows, their activities and child workflows (tracing.py)."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _TraceInbound

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _TraceActivity(next)


INTERCEPTORS = (UpdateArgumentGuard(), TracePropagation())

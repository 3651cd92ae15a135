"""One guard for every update: a validator that fails with anything but `ApplicationError`
(e.g. two arguments where one is due: the SDK then calls it with the wrong number of
arguments) rejects the update with a named, non-retryable `ApplicationError` instead of a
Python `TypeError` (which Temporal reports as retryable). No value is repeated."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)


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


class UpdateArgumentGuard(Interceptor):
    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _UpdateArgumentGuard


INTERCEPTORS = [UpdateArgumentGuard()]

"""Workflows: orchestration only (deterministic, import-safe, no I/O)."""

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# Third-party modules the domain layer uses deterministically; imported once, outside the
# sandbox (the holidays package imports dateutil lazily, which reads the clock at import).
PASSTHROUGH_MODULES = (
    "holidays",
    "dateutil",
    "six",
    "pydantic",
    "pydantic_core",
    "email_validator",
    "idna",
    "dns",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox every worker (and test worker) runs the workflows in."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )

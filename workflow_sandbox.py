"""The workflow sandbox the workers run: the SDK's `SandboxedWorkflowRunner`, with the code it
runs inside the sandbox compiled once per text instead of at every call.

The SDK enters a workflow's sandbox by `exec` of a short source text: at every activation and,
when a payload codec is set, once for every payload it encodes or decodes (to learn the
payload's serialization context). `exec` of a text compiles it each time; compiling was 8 % of
the case worker's CPU in bench M6 (py-spy). The texts are a handful of constants (and one per
workflow class for creating an instance), so they are compiled once, kept in a bounded cache,
and executed as code objects: the same code, in the same globals, with the same file name.

This subclasses a private class of the SDK (`_Instance`); `tests/test_workflow_sandbox.py`
pins the shape it relies on, so an SDK upgrade that changes it fails there, not in production.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import CodeType
from typing import Any

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance


@functools.lru_cache(maxsize=256)
def compiled(source: str) -> CodeType:
    """*source* compiled as `exec` compiles a text (file name "<string>")."""
    return compile(source, "<string>", "exec")


class _CompiledOnceInstance(_Instance):
    def _run_code(self, code: str | CodeType, **extra_globals: Any) -> None:
        super()._run_code(compiled(code) if isinstance(code, str) else code, **extra_globals)


@dataclass(frozen=True)
class CompiledOnceSandboxRunner(SandboxedWorkflowRunner):
    """`SandboxedWorkflowRunner` whose instances run precompiled code (see the module doc)."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _CompiledOnceInstance(det, self.runner_class, self.restrictions)

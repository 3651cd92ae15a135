"""The workflow sandbox's compile-once runner (workflow_sandbox.py): the SDK's private shape it
relies on, and that it runs the SDK's sandbox texts as cached code objects."""

from __future__ import annotations

import inspect

from temporalio import workflow
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

import workflow_sandbox
from workflow_sandbox import CompiledOnceSandboxRunner, compiled
from workflows import workflow_runner
from workflows.case import CaseWorkflow


def test_the_sdk_still_has_the_shape_the_runner_relies_on():
    """An SDK upgrade that changes the private class fails here, not in a worker."""
    params = list(inspect.signature(_Instance._run_code).parameters.values())
    assert [p.name for p in params[:2]] == ["self", "code"]
    assert params[2].kind is inspect.Parameter.VAR_KEYWORD
    init = list(inspect.signature(_Instance.__init__).parameters)
    assert init == ["self", "instance_details", "runner_class", "restrictions"]
    assert "create_instance" in SandboxedWorkflowRunner.__dict__
    source = inspect.getsource(_Instance)
    assert "exec(code, self.globals_and_locals, self.globals_and_locals)" in source


def test_every_worker_runs_the_compile_once_runner_with_the_products_restrictions():
    runner = workflow_runner()
    assert isinstance(runner, CompiledOnceSandboxRunner)
    assert isinstance(runner, SandboxedWorkflowRunner)
    assert "workflows" in runner.restrictions.passthrough_modules


async def test_the_sandbox_texts_are_compiled_once_and_run_as_code_objects():
    compiled.cache_clear()
    runner = workflow_runner()
    defn = workflow._Definition.must_from_class(CaseWorkflow)
    runner.prepare_workflow(defn)  # creates an instance: the SDK's texts run in the sandbox
    first = compiled.cache_info()
    assert first.currsize >= 2 and first.hits == 0
    runner.prepare_workflow(defn)  # the same texts again: no compile
    again = compiled.cache_info()
    assert again.currsize == first.currsize and again.hits >= 2
    code = compiled("x = 1\n")
    assert code is compiled("x = 1\n") and code.co_filename == "<string>"
    assert workflow_sandbox.compiled.cache_info().maxsize == 256  # bounded

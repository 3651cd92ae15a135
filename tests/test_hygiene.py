"""Static checks over the source that keep the workflows deterministic and the contracts tidy.

The workflow code is read with `ast` (not grep), so comments, docstrings and strings do not
count, and imports inside ``with workflow.unsafe.imports_passed_through():`` are allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from temporalio.common import SearchAttributeKey

from schemas import search_attributes as sa
from workflows import PASSTHROUGH_MODULES

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_FILES = sorted((ROOT / "workflows").rglob("*.py"))

FORBIDDEN_MODULES = {"sqlalchemy", "asyncpg", "structlog", "aiosmtplib", "httpx", "requests"}
# dotted call names (matched on their last parts), e.g. `datetime.now(` and
# `datetime.datetime.now(`
FORBIDDEN_CALLS = {
    "datetime.now",
    "datetime.utcnow",
    "time.time",
    "uuid.uuid4",
    "asyncio.sleep",
    "open",
    "io.open",
    "os.open",
    "builtins.open",
}
# names that, imported with `from <module> import <name>`, would hide a forbidden call
FORBIDDEN_FROM_IMPORTS = {
    ("time", "time"),
    ("uuid", "uuid4"),
    ("asyncio", "sleep"),
    ("builtins", "open"),
    ("io", "open"),
}


def dotted(node: ast.expr) -> str | None:
    """'a.b.c' for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def is_passthrough_block(node: ast.AST) -> bool:
    return isinstance(node, ast.With | ast.AsyncWith) and any(
        isinstance(item.context_expr, ast.Call)
        and (dotted(item.context_expr.func) or "").endswith("unsafe.imports_passed_through")
        for item in node.items
    )


def imports_outside_passthrough(tree: ast.AST) -> list[tuple[int, str, str | None]]:
    """(line, module, imported name) of every import not inside a pass-through block."""
    found: list[tuple[int, str, str | None]] = []

    def visit(node: ast.AST) -> None:
        if is_passthrough_block(node):
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend((node.lineno, node.module, alias.name) for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def problems_in(source: str) -> list[str]:
    """Every determinism problem in workflow *source*, as 'line: what'."""
    tree = ast.parse(source)
    problems = []
    for line, module, name in imports_outside_passthrough(tree):
        if module.split(".")[0] in FORBIDDEN_MODULES | {"random"}:
            problems.append(f"{line}: imports {module}")
        if (module, name) in FORBIDDEN_FROM_IMPORTS:
            problems.append(f"{line}: from {module} import {name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = dotted(node.func)
            if name and any(name == call or name.endswith("." + call) for call in FORBIDDEN_CALLS):
                problems.append(f"{node.lineno}: calls {name}(")
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "random"
        ):
            problems.append(f"{node.lineno}: uses random.{node.attr}")
    return sorted(set(problems))


# ------------------------------------------------------------------ the checker itself


def test_checker_finds_each_kind_of_problem() -> None:
    source = """
import sqlalchemy
import structlog.stdlib
from httpx import AsyncClient
import random
from time import time
from datetime import datetime
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import asyncpg  # allowed: passed through

def f():
    import requests
    from aiosmtplib import send
    datetime.now()
    datetime.datetime.utcnow()
    time.time()
    random.randint(1, 6)
    uuid.uuid4()
    asyncio.sleep(1)
    open("x")
    workflow.now()
    workflow.random().randint(1, 6)
    workflow.uuid4()
    "datetime.now() in a string is fine"
"""
    problems = problems_in(source)
    text = "\n".join(problems)
    for expected in (
        "imports sqlalchemy",
        "imports structlog.stdlib",
        "imports httpx",
        "imports random",
        "from time import time",
        "imports requests",
        "imports aiosmtplib",
        "calls datetime.now(",
        "calls datetime.datetime.utcnow(",
        "calls time.time(",
        "uses random.randint",
        "calls uuid.uuid4(",
        "calls asyncio.sleep(",
        "calls open(",
    ):
        assert expected in text, f"{expected!r} not found in:\n{text}"
    assert "asyncpg" not in text
    assert "workflow." not in text


# ------------------------------------------------------------------ the workflows


def test_there_are_workflow_files() -> None:
    names = {p.name for p in WORKFLOW_FILES}
    assert {"__init__.py", "case.py"} <= names


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_workflow_code_is_deterministic(path: Path) -> None:
    assert problems_in(path.read_text(encoding="utf-8")) == []


MUTABLE_CALLS = {"list", "dict", "set", "deque", "defaultdict", "Counter", "OrderedDict"}


def module_state_in(source: str) -> list[str]:
    """Module-level names bound to a mutable container ('line: name'): the workflow modules are
    passed through the sandbox (workflows/__init__.py), so such a value would be shared by
    every workflow run in the worker."""
    found = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value
        mutable = isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp)
        if isinstance(value, ast.Call):
            mutable = (dotted(value.func) or "").split(".")[-1] in MUTABLE_CALLS
        if mutable:
            found += [f"{node.lineno}: {dotted(t)}" for t in targets]
    return found


def test_the_checker_finds_module_state() -> None:
    source = "A = []\nB: dict = {}\nC = collections.deque()\nD = (1, 2)\nE = frozenset()\n"
    assert module_state_in(source) == ["1: A", "2: B", "3: C"]


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_workflow_modules_keep_no_state(path: Path) -> None:
    """Shared by every run (passed through the sandbox): constants only at module level."""
    assert "workflows" in PASSTHROUGH_MODULES
    assert module_state_in(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "name",
    [
        "case.py",
        "case_desk.py",
        "case_contact.py",
        "case_closing.py",
        "timers.py",
        "interceptors.py",
        "case_material.py",
        "case_meetings.py",
        "case_reviews.py",
        "review.py",
        "letters.py",
    ],
)
def test_workflow_modules_import_their_dependencies_through_the_sandbox(name: str) -> None:
    """The product's own modules come in via imports_passed_through, not at top level."""
    tree = ast.parse((ROOT / "workflows" / name).read_text(encoding="utf-8"))
    outside = {module.split(".")[0] for _, module, _ in imports_outside_passthrough(tree)}
    allowed = {"__future__", "asyncio", "collections", "datetime", "typing", "temporalio"}
    assert outside <= allowed, outside


# ------------------------------------------------------------------ search attributes


def test_search_attribute_names_are_unique() -> None:
    names = [key.name for key in sa.ALL]
    assert len(names) == len(set(names)), names


@pytest.mark.parametrize("key", sa.ALL, ids=lambda k: k.name)
def test_search_attribute_has_a_cli_type(key) -> None:
    assert sa.cli_type(key) in set(sa.CLI_TYPE_NAMES.values())
    assert key.name.isidentifier()


def test_every_search_attribute_constant_is_in_all() -> None:
    constants = [value for name, value in vars(sa).items() if isinstance(value, SearchAttributeKey)]
    assert constants and set(constants) == set(sa.ALL)


def test_workflows_use_only_declared_search_attributes() -> None:
    declared = {name for name, value in vars(sa).items() if value in sa.ALL}
    for path in WORKFLOW_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and dotted(node.value) == "sa":
                assert node.attr in declared, f"{path.name}:{node.lineno}: sa.{node.attr}"


# ------------------------------------------------------------------ update validators


def update_validators(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Methods decorated with ``@<update>.validator``."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(isinstance(d, ast.Attribute) and d.attr == "validator" for d in node.decorator_list)
    ]


def test_validator_finder_sees_async_validators() -> None:
    source = """
class W:
    @workflow.update
    async def u(self, x): ...

    @u.validator
    async def bad(self, x): ...

    @u.validator
    def good(self, x): ...
"""
    found = {v.name: type(v) for v in update_validators(ast.parse(source))}
    assert found == {"bad": ast.AsyncFunctionDef, "good": ast.FunctionDef}


@pytest.mark.parametrize(
    "name",
    [
        "case_contact.py",
        "case_material.py",
        "case_meetings.py",
        "case_reviews.py",
        "case_closing.py",
    ],
)
def test_component_validators_are_not_async(name: str) -> None:
    """The workflow's validators hand over to its components' validate_* methods, which must
    be plain functions too (an async one would return a coroutine and validate nothing)."""
    tree = ast.parse((ROOT / "workflows" / name).read_text(encoding="utf-8"))
    found = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("validate_")
    ]
    assert found, f"no validate_* methods in {name}"
    assert all(isinstance(v, ast.FunctionDef) for v in found), [v.name for v in found]


@pytest.mark.parametrize("name", ["case.py", "review.py"])
def test_update_validators_are_not_async(name: str) -> None:
    tree = ast.parse((ROOT / "workflows" / name).read_text(encoding="utf-8"))
    validators = update_validators(tree)
    assert validators, f"no update validators found in {name}"
    for v in validators:
        assert isinstance(v, ast.FunctionDef), f"{v.name} (line {v.lineno}) must not be async"


# A stdlib log call's `extra` may not name an attribute of the LogRecord ('created', 'name',
# 'message', ...): logging raises KeyError when the level is enabled, which tests that run
# at WARNING never see, and an activity then fails in production.
RESERVED_LOG_KEYS = frozenset(
    vars(__import__("logging").makeLogRecord({})).keys() | {"message", "asctime"}
)
PRODUCT_DIRS = ("activities", "workflows", "web", "domain", "mail", "stack", "db", "schemas")


def product_files() -> list[Path]:
    files = [p for d in PRODUCT_DIRS for p in (ROOT / d).rglob("*.py")]
    return files + [p for p in ROOT.glob("*.py")]


def test_log_extras_never_name_a_log_record_attribute() -> None:
    found = []
    for path in product_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg == "extra" and isinstance(kw.value, ast.Dict):
                    for key in kw.value.keys:
                        if isinstance(key, ast.Constant) and key.value in RESERVED_LOG_KEYS:
                            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {key.value}")
    assert not found, found
    assert "created" in RESERVED_LOG_KEYS  # the rule knows the key that bit us

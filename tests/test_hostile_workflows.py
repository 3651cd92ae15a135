"""A burst of hostile input leaves no stuck workflow.

Two campaigns on the time-skipping server, with the boundary fakes of
tests/test_case_workflow.py and the hostile documents of tests/hostile.py:

1. **Intake**: many ``CaseWorkflow`` runs started *directly* with raw JSON documents (as
   ``temporal workflow start --type CaseWorkflow --input ...`` would; no case_api parsing).
   Each must end up either FAILED with a non-retryable ``ApplicationError`` of type
   ``InvalidInput`` whose message names fields, holds none of the injected values and is at
   most 300 bytes, or RUNNING healthily (no failed workflow task, no retried task or activity,
   its receipt sent). Anything else is *stuck*. A document the boundary parser
   (``parse_intake_json`` with the clock) accepts must run, one it refuses must fail.
2. **Updates**: cases in each phase (before assignment, awaiting material with level 3,
   awaiting material after the dismissal warning, in review, awaiting decision) get every
   update of ``CaseWorkflow`` by name with raw hostile payloads, no argument, null, numbers,
   lists, strings, control characters, deep nesting, two arguments, another update's payload.
   Each update is accepted, or rejected with ``WorkflowUpdateFailedError`` whose cause is an
   ``ApplicationError`` with a named type (never a Python exception's name) and a message
   without the injected value; afterwards every case is healthy (no failed workflow task,
   ``state`` answers, letters settle). Closing updates come last on each case.

The documents are drawn up front by a plain (sync) hypothesis property that only collects
its examples (``draw``): hypothesis' own engine and distribution, ``derandomize`` so every
run fires the same documents (stable counts, no flaky CI), no ``.example()`` (meant for the
REPL, warns, and ignores settings) and no ``@given`` around an async test (its
function-scoped server fixture would be shared by every example, and one server per example
is far too slow). Nothing is shrunk: a finding is reported with its full document instead.
A few explicit documents (NUL, escape sequences, an e-mail address as an id, years 1, 9999
and 10000) are fired every run besides the drawn ones.

Not counted as a failed workflow task: UNHANDLED_COMMAND, the server's refusal of a task that
would complete the workflow while an update arrived (the task runs again at once); it happens
when an update races the closing of a case. An update refused by the server because the case
has closed meanwhile is counted as "refused: the case has closed".

Counts are printed (run with ``-s``). ``HOSTILE_WF_INTAKES`` / ``HOSTILE_WF_UPDATES`` set the
number of drawn documents (the defaults, 400 each, keep the module at about 20 s).
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import dataclasses
import json
import os
import random
import re
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from temporalio import workflow
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

import case_api
from domain import calendar
from schemas.case import CaseStatus
from schemas.errors import READABLE_KEY, UNNAMED
from schemas.fields import unsafe_character
from schemas.intake import CaseType, Department, parse_intake_json
from schemas.life import PreDialogueTopic, ReviewOutcome
from tests.conftest import CPH
from tests.hostile import (
    BASE_UPDATES,
    PERSONAL_DATA,
    Hostile,
    base_intake,
    hostile_intake_cases,
    hostile_update_cases,
)
from tests.test_case_life import Life
from tests.test_case_workflow import ALL_CASEWORKERS, Fakes, settle
from worker import case_worker
from workflows.case import CaseWorkflow

INTAKES = int(os.environ.get("HOSTILE_WF_INTAKES", "400"))
UPDATES = int(os.environ.get("HOSTILE_WF_UPDATES", "400"))
UPDATE_TIMEOUT = 10.0  # seconds of real time: an update that does not answer is stuck
SETTLE_TIMEOUT = 15.0

INVALID_INPUT = "InvalidInput"
MAX_MESSAGE = 300
_PATH_PART = rf"({READABLE_KEY.pattern}|{re.escape(UNNAMED)})"
FIELD_LINE = re.compile(rf"^(\(document\)|{_PATH_PART}(\.{_PATH_PART})*): \S")
VOCABULARY = frozenset(
    member.value
    for enum in (Department, CaseType, PreDialogueTopic, ReviewOutcome)
    for member in enum
)
# Identifiers a rejection may name on purpose ("Unknown caseworker 'xyz'", "Unknown material
# for this case: building.x"): only well-formed ones, never arbitrary text.
NAMEABLE = re.compile(r"[a-z0-9]{2,16}|[a-z]+\.[a-z0-9_]+")

# The server's own retry, not the workflow's: a task that would complete the workflow while an
# update (or signal) arrived meanwhile is refused with UNHANDLED_COMMAND and run again at once
# with the new event. It happens when an update races the closing of a case.
BENIGN_TASK_FAILURES = frozenset(
    {WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND}
)

# Every update of CaseWorkflow, and the model of tests/hostile.py whose payloads it takes.
UPDATE_MODELS: dict[str, str | None] = {
    "assign_caseworker": "AssignCaseworker",
    "report_material": "ReportMaterial",
    "report_project_change": "ProjectChange",
    "request_pre_dialogue": "RequestPreDialogue",
    "book_pre_dialogue": "BookPreDialogue",
    "cancel_pre_dialogue": "CancelPreDialogue",
    "record_pre_dialogue_held": "PreDialogueHeld",
    "change_sustainability_level": "ChangeSustainabilityLevel",
    "answer_nbe_offer": "AnswerNbeOffer",
    "request_more_time": "RequestMoreTime",  # + a department (schemas.case.RequestReviewTime)
    "restart_review": "ReviewTarget",
    "refresh_roster": None,  # takes no argument
    "issue_decision": "IssueDecision",
    "dismiss": "Dismiss",
    "withdraw": "Withdraw",
}
CLOSING = ("dismiss", "issue_decision", "withdraw")  # in this order, after everything else
MORE_TIME = {"department": "building", **BASE_UPDATES["RequestMoreTime"][0]}


def test_every_update_of_the_workflow_is_fired_at() -> None:
    """The campaign covers every update the workflow defines (a new one must be added)."""
    defined = set(workflow._Definition.must_from_class(CaseWorkflow).updates)
    assert defined == set(UPDATE_MODELS)


# ------------------------------------------------------------------ drawing


def draw(strategy: st.SearchStrategy[Any], n: int) -> list[Any]:
    """*n* examples of *strategy* from hypothesis' engine, the same every run, no shrinking."""
    found: list[Any] = []

    @settings(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: Any) -> None:
        found.append(example)

    collect()
    unique: dict[str, Any] = {}
    for example in found:
        document = example.document if isinstance(example, Hostile) else example
        unique.setdefault(f"{getattr(example, 'model', '')}:{key_of(document)}", example)
    return list(unique.values())


def key_of(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def shown(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------ clients and checks


def raw_client(client: Client) -> Client:
    """The same server, but plain JSON in and out (``json.dumps``, as the Temporal CLI sends
    it): raw dicts, lone surrogates as escapes, results as dicts; no time-skipping hooks."""
    config = client.config()
    # plain JSON payloads, still sealed by the payload codec and with encoded failures
    config["data_converter"] = dataclasses.replace(
        client.data_converter, payload_converter_class=DataConverter.default.payload_converter_class
    )
    config["interceptors"] = []
    return Client(**config)


def injected_strings(case: Hostile) -> list[str]:
    """The injected value(s) worth looking for in a message (text of 4+ characters)."""
    value = case.value
    if case.kind == "unknown_field" and isinstance(value, str) and READABLE_KEY.fullmatch(value):
        return []  # an unknown key that reads like a field name is named, to be corrected
    if not isinstance(value, str) or len(value.strip()) < 4 or value.strip() in VOCABULARY:
        return []
    if case.path and case.path[-1] == "cvr" and re.fullmatch(r"\d{8}", value.strip()):
        return []  # a CVR number is a company's public number
    return [value.strip()]


def message_problems(message: str, case: Hostile | None, *, invalid_input: bool) -> list[str]:
    """What is wrong with a failure or rejection message (empty: nothing)."""
    problems = []
    if any(secret in message for secret in PERSONAL_DATA):
        problems.append("personal data in the message")
    bad = unsafe_character(message, free_text=True)
    if bad is not None:
        problems.append(f"U+{ord(bad):04X} in the message")
    for value in injected_strings(case) if case else []:
        nameable = NAMEABLE.fullmatch(value.lower()) and not invalid_input
        if value in message and not nameable:
            problems.append("the injected value is repeated in the message")
    if invalid_input and len(message.encode()) > MAX_MESSAGE:
        problems.append(f"message of {len(message.encode())} bytes")
    return problems


def builtin_exception_name(name: str | None) -> bool:
    found = getattr(builtins, name or "", None)
    return isinstance(found, type) and issubclass(found, BaseException)


async def health(handle: WorkflowHandle) -> list[str]:
    """Why a workflow is not healthy: failed workflow tasks in its history, a workflow task
    or an activity being retried (empty: healthy)."""
    problems = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            attributes = event.workflow_task_failed_event_attributes
            if attributes.cause in BENIGN_TASK_FAILURES:
                continue
            problems.append(
                f"workflow task failed ({WorkflowTaskFailedCause.Name(attributes.cause)}): "
                f"{attributes.failure.message[:300]}"
            )
            break
    raw = (await handle.describe()).raw_description
    if raw.HasField("pending_workflow_task") and raw.pending_workflow_task.attempt > 1:
        problems.append(f"workflow task at attempt {raw.pending_workflow_task.attempt}")
    for pending in raw.pending_activities:
        if pending.attempt > 1:
            problems.append(
                f"activity {pending.activity_type.name} at attempt {pending.attempt}: "
                f"{pending.last_failure.message[:200]}"
            )
    return problems


# ------------------------------------------------------------------ 1. intake


def received_at_for(i: int, now: datetime) -> str:
    """A received_at around the server's clock (the base document's may lie in its future):
    mostly in the past, sometimes within the allowed clock skew, sometimes a day ahead (which
    the workflow itself must refuse)."""
    offsets = [
        timedelta(hours=-1),
        timedelta(days=-30),
        timedelta(days=-400),
        timedelta(minutes=2),  # within the 5 minutes of clock skew
        timedelta(days=1),  # in the future
    ]
    return (now + offsets[i % len(offsets)]).astimezone(CPH).isoformat()


def explicit_intake_cases() -> list[Hostile]:
    """Changes the brief names, fired every run whatever hypothesis draws."""
    base = base_intake()
    cases = []
    for path, value in [
        (("reference",), "BYG-\x00-1"),
        (("contact", "name"), "Søren\x00 Ærø"),
        (("contact", "email"), "soeren@nordjysk-staal.dk\x1b[2J"),
        (("company", "name"), "Nordjysk \u202eStål"),
        (("project_description",), "Ny hal\x00"),
        (("received_at",), "9999-12-31T23:59:59+00:00"),
        (("received_at",), "0001-01-01T00:00:00+00:00"),
        (("received_at",), "2000-01-01T00:00:00+14:00"),  # fine: long ago, in the window
        (("wished_decision_date",), "9999-12-31"),
        (("sustainability_level",), 2**70),
    ]:
        document = copy.deepcopy(base)
        target = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        cases.append(Hostile("CaseIntake", document, path, "explicit", value))
    cases.append(Hostile("CaseIntake", base, (), "unchanged"))
    return cases


def intake_document(case: Hostile, i: int, now: datetime) -> dict[str, Any]:
    document = copy.deepcopy(case.document)
    if case.path[:1] != ("received_at",) and "received_at" in document:
        document["received_at"] = received_at_for(i, now)
    return document


def boundary_accepts(document: dict[str, Any], now: datetime) -> bool:
    """Does the boundary's parser (with the clock) accept *document*? (The workflow must agree.)"""
    try:
        parse_intake_json(json.dumps(document), now=now)
    except ValueError:  # pydantic's ValidationError is a ValueError
        return False
    return True


async def classify_intake(
    env, raw: Client, workflow_id: str, case: Hostile, expect_running: bool
) -> tuple[str, str]:
    """("invalid_input" | "running" | "stuck", why) for one started intake workflow."""
    handle = raw.get_workflow_handle(workflow_id)
    typed = env.client.get_workflow_handle(workflow_id)
    give_up = time.monotonic() + SETTLE_TIMEOUT
    while True:
        problems = await health(handle)
        if problems:
            return "stuck", "; ".join(problems)
        status = (await handle.describe()).status
        if status == WorkflowExecutionStatus.FAILED:
            try:
                await handle.result()
            except WorkflowFailureError as err:
                cause = err.cause
            else:  # pragma: no cover - a FAILED workflow's result raises
                return "stuck", "FAILED without a failure"
            if not isinstance(cause, ApplicationError):
                return "stuck", f"failed with {type(cause).__name__}: {shown(str(cause))}"
            if cause.type != INVALID_INPUT or not cause.non_retryable:
                return "stuck", f"failed with type {cause.type!r}: {shown(cause.message)}"
            why = message_problems(cause.message, case, invalid_input=True)
            prefix = "Invalid CaseIntake: "
            if not cause.message.startswith(prefix):
                why.append("message does not start with 'Invalid CaseIntake: '")
            elif not FIELD_LINE.match(cause.message.removeprefix(prefix)):
                why.append("message does not name a field")
            if expect_running:
                why.append("the boundary parser accepts this document, the workflow refused it")
            if why:
                return "stuck", f"{'; '.join(why)}: {shown(cause.message, 400)}"
            return "invalid_input", cause.message
        if status != WorkflowExecutionStatus.RUNNING:
            return "stuck", f"status {status.name}"
        state = await typed.query(CaseWorkflow.get_state)
        if "receipt" in state.letters_sent:
            if not expect_running:
                return "stuck", "running, but the boundary parser refuses this document"
            if state.attention:
                return "stuck", f"running but needs attention: {state.attention}"
            return "running", state.status.value
        if time.monotonic() > give_up:
            return "stuck", f"running without its receipt after {SETTLE_TIMEOUT} s"
        await asyncio.sleep(0.1)


async def test_hostile_intake_burst_leaves_no_stuck_workflow(time_env) -> None:
    cases: list[Hostile] = [*explicit_intake_cases(), *draw(hostile_intake_cases(), INTAKES)]
    fakes = Fakes(time_env, roster=list(ALL_CASEWORKERS))
    queue = f"hostile-intake-{uuid.uuid4()}"
    raw = raw_client(time_env.client)
    counts: Counter[str] = Counter()
    kinds: Counter[tuple[str, str]] = Counter()
    stuck: list[str] = []
    async with case_worker(time_env.client, queue, fakes.activities()):
        now = await time_env.get_current_time()
        started = []
        for i, case in enumerate(cases):
            document = intake_document(case, i, now)
            workflow_id = f"hostile-intake-{i}-{uuid.uuid4().hex[:8]}"
            await raw.start_workflow("CaseWorkflow", document, id=workflow_id, task_queue=queue)
            started.append((workflow_id, case, document, boundary_accepts(document, now)))
        counts["started"] = len(started)
        await time_env.sleep(timedelta(minutes=1))  # a little time: timers, letters
        results = await asyncio.gather(
            *(classify_intake(time_env, raw, wid, case, ok) for wid, case, _, ok in started)
        )
        for (workflow_id, case, document, _), (outcome, why) in zip(started, results, strict=True):
            counts[outcome] += 1
            kinds[(case.kind, outcome)] += 1
            if outcome == "stuck":
                stuck.append(f"{workflow_id} {case!r}: {why}\n    document: {shown(document, 600)}")
    print(
        f"\nhostile intake campaign: {counts['started']} started, "
        f"{counts['invalid_input']} failed as InvalidInput, {counts['running']} running "
        f"healthily, {counts['stuck']} stuck\n  by change: "
        + ", ".join(
            f"{k} {kinds[(k, 'invalid_input')]}/{kinds[(k, 'running')]}/{kinds[(k, 'stuck')]}"
            for k in sorted({k for k, _ in kinds})
        )
        + " (invalid/running/stuck)"
    )
    assert counts["invalid_input"] > 0 and counts["running"] > 0
    assert counts["stuck"] == 0, "stuck intake workflows:\n" + "\n".join(stuck)


# ------------------------------------------------------------------ 2. updates


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def junk_arguments(name: str) -> list[tuple[str, list[Any]]]:
    """Arguments that fit no update: none, null, scalars, lists, control characters, deep
    nesting, two arguments, another update's payload."""
    model = UPDATE_MODELS[name]
    base = MORE_TIME if model == "RequestMoreTime" else BASE_UPDATES[model][0] if model else {}
    other = BASE_UPDATES["IssueDecision" if model != "IssueDecision" else "ReportMaterial"][0]
    year_9999 = {**base, **{k: "9999-12-31T23:59:59+00:00" for k in ("at",) if k in base}}
    return [
        ("no argument", []),
        ("null", [None]),
        ("a number", [7]),
        ("a float", [-1.5]),
        ("true", [True]),
        ("a string", ["mkj"]),
        ("a NUL string", ["\x00"]),
        ("a huge string", ["x" * 100_000]),
        ("a list", [[1, 2]]),
        ("a list of the payload", [[base]]),
        ("an empty object", [{}]),
        ("control characters", [{"\x00": "\x07\x1b[31m", **{k: "\x00\x1b" for k in base}}]),
        ("year 9999", [year_9999]),
        ("300 levels deep", [nested(300)]),
        ("two arguments", [base, base]),
        ("another update's payload", [other]),
    ]


def _changed(model: str, base: dict[str, Any], field: str, kind: str, value: Any) -> Hostile:
    return Hostile(model, {**base, field: value}, (field,), kind, value)


def explicit_update_cases() -> list[Hostile]:
    """Changes the brief names, fired every run whatever hypothesis draws: identifiers and
    texts with NUL, an ANSI escape, a bell, a lone surrogate or an e-mail address; times in
    the years 1, 9999 and 10000."""
    cases = []
    for field in ("caseworker_id", "replacing"):
        for kind, value in [
            ("nul", "mk\x00j"),
            ("control", "mkj\x1b[2J"),
            ("surrogate", "mk\ud800j"),
            ("personal_data", PERSONAL_DATA[1]),
            ("fine_unicode", "søren"),
        ]:
            base = {"caseworker_id": "sfl", "replacing": "jha"}
            cases.append(_changed("AssignCaseworker", base, field, kind, value))
    booking = BASE_UPDATES["BookPreDialogue"][0]
    for value in ["9999-12-31T23:59:59+00:00", "+10000-01-01T00:00:00+00:00", "0001-01-01T00:00Z"]:
        cases.append(_changed("BookPreDialogue", booking, "at", "extreme_date", value))
    cases.append(_changed("BookPreDialogue", booking, "place", "nul", "Råd\x00huset"))
    for code in ["building.situation_plan\x00", "building.søren"]:
        cases.append(Hostile("ReportMaterial", {"codes": [code]}, ("codes", 0), "odd_code", code))
    for model in ("IssueDecision", "Withdraw", "Dismiss", "CancelPreDialogue", "ProjectChange"):
        base = BASE_UPDATES[model][0]
        field = next(k for k in base if k != "topic")
        cases.append(_changed(model, base, field, "nul", "Begrundelse\x00 med NUL"))
    for kind, value in [
        ("nul", "Vi afventer\x00 en vurdering."),
        ("control", "Vi afventer\x07 en vurdering."),
        ("surrogate", "Vi afventer\udc00 en vurdering."),
        ("fine_unicode", "Vi afventer\u2028en vurdering 👍🏽."),
    ]:
        cases.append(_changed("RequestMoreTime", MORE_TIME, "reason", kind, value))
    return cases


Shot = tuple[str, str, list[Any], Hostile | None]  # update name, label, arguments, record


def shots_for(name: str, by_model: dict[str, list[Hostile]]) -> list[Shot]:
    """Everything fired at update *name*: the junk arguments, then the hostile payloads."""
    model = UPDATE_MODELS[name]
    out: list[Shot] = [(name, label, args, None) for label, args in junk_arguments(name)]
    if model == "RequestMoreTime":  # the case's RequestReviewTime: department + the rest
        for case in by_model.get(model, []):
            document = case.document
            if isinstance(document, dict) and "department" not in document:
                document = {"department": "building", **document}
            out.append((name, repr(case), [document], case))
        for case in by_model.get("ReviewTarget", []):  # a hostile department
            document = case.document
            if isinstance(document, dict):
                document = {**MORE_TIME, **document}
            out.append((name, repr(case), [document], case))
    elif model is None:  # refresh_roster takes nothing: every payload is one too many
        everything = [c for cases in by_model.values() for c in cases]
        out += [(name, repr(case), [case.document], case) for case in everything[::7]]
    else:
        out += [(name, repr(case), [case.document], case) for case in by_model.get(model, [])]
        if model == "IssueDecision":  # a department review's payload sent to the case
            submissions = by_model.get("SubmitReview", [])[::2]
            out += [(name, repr(case), [case.document], case) for case in submissions]
    return out


class Campaign:
    """The update burst's outcomes, counted; what went wrong, described with its payload."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        # (update, payload, problem) -> phases, and one message as an example
        self.findings: dict[tuple[str, str, str], list[str]] = {}
        self.examples: dict[tuple[str, str, str], str] = {}
        self.stuck: dict[str, str] = {}  # phase -> what stuck the case

    def finding(self, phase: str, shot: Shot, problem: str, message: str) -> None:
        name, label, args, _ = shot
        key = (name, f"{label} args={shown(args, 240)}", problem)
        self.findings.setdefault(key, []).append(phase)
        self.examples.setdefault(key, shown(message, 300))

    def report_findings(self) -> str:
        return "\n".join(
            f"{name}({payload}) in {','.join(phases)}: {problem}: {self.examples[key]}"
            for key, phases in self.findings.items()
            for name, payload, problem in [key]
        )

    async def fire(self, phase: str, handle: WorkflowHandle, shot: Shot) -> bool:
        """Send one update; False when it leaves the case stuck (nothing more is sent)."""
        name, label, args, case = shot
        where = f"{name}({label}) args={shown(args, 300)}"
        task = asyncio.ensure_future(
            handle.execute_update(name, args=args, id=f"hostile-{uuid.uuid4().hex}")
        )
        give_up = time.monotonic() + UPDATE_TIMEOUT
        while not task.done():
            done, _ = await asyncio.wait([task], timeout=1.0)
            if done:
                break
            problems = await health(handle)
            if problems or time.monotonic() > give_up:
                task.cancel()
                self.outcomes["stuck"] += 1
                why = "; ".join(problems) or f"no answer in {UPDATE_TIMEOUT} s"
                self.stuck[phase] = f"{where}: {why}"
                return False
        try:
            task.result()
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if not isinstance(cause, ApplicationError):
                self.outcomes["rejected without an ApplicationError"] += 1
                self.finding(phase, shot, f"rejected with {type(cause).__name__}", str(cause))
                return True
            kind = cause.type or "(no type)"
            self.rejections[kind] += 1
            self.outcomes["rejected"] += 1
            if cause.type is None or builtin_exception_name(cause.type):
                self.finding(phase, shot, f"rejected with unnamed type {kind}", cause.message)
            problems = message_problems(cause.message, case, invalid_input=kind == INVALID_INPUT)
            if problems:
                self.finding(phase, shot, f"{kind}: {'; '.join(problems)}", cause.message)
            return True
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            self.outcomes["stuck"] += 1
            self.stuck[phase] = f"{where}: the update timed out"
            return False
        except RPCError as err:
            # The case has closed (a withdrawal, decision or dismissal went through): the
            # server refuses the update ("already completed", or "update not found" for one
            # that arrived while the case was completing).
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                self.outcomes["refused: the case has closed"] += 1
                return True
            self.outcomes["rpc error"] += 1
            self.finding(phase, shot, f"RPC error {err.status!r} on a running case", str(err))
            return True
        self.outcomes["accepted"] += 1
        self.accepted[name] += 1
        problems = await health(handle)
        if problems:
            self.outcomes["stuck"] += 1
            self.stuck[phase] = f"{where}: accepted, then {'; '.join(problems)}"
            return False
        return True

    async def burst(self, phase: str, handle: WorkflowHandle, shots: list[Shot]) -> None:
        for shot in shots:
            if not await self.fire(phase, handle, shot):
                return

    async def check_after(self, phase: str, life: Life, raw: Client) -> str:
        """The case after its burst: healthy, its state answers, its letters settle."""
        if phase in self.stuck:
            return "stuck"
        handle = raw.get_workflow_handle(life.handle.id)
        problems = await health(handle)
        status = (await handle.describe()).status
        if status not in (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.COMPLETED):
            problems.append(f"status {status.name}")
        try:
            state = await asyncio.wait_for(life.state(), 5)
            await asyncio.wait_for(settle(life.handle), 10)
        except Exception as err:  # noqa: BLE001 - any failure here is what we look for
            problems.append(f"state or letters: {type(err).__name__}: {err}")
        if problems:
            self.outcomes["unhealthy after the burst"] += 1
            self.stuck[phase] = f"after the burst: {'; '.join(problems)}"
            return "unhealthy"
        return state.status.value


async def drive_to(life: Life, phase: str) -> None:
    """A case (industry warehouse, building and fire) driven to *phase* as officers do."""
    extra = {"sustainability_level": 3} if phase == "awaiting_material" else {}
    await life.start(case_type="industry_warehouse", departments=("building", "fire"), **extra)
    if phase == "awaiting_caseworker":
        return
    await case_api.assign_caseworker(life.client, life.reference, "jha")
    if phase in ("awaiting_material", "warned"):
        return
    await case_api.report_material(life.client, life.reference, life.all_material())
    await life.review_started("building")
    await life.review_started("fire")
    if phase == "in_review":
        return
    await life.review("building")
    await life.review("fire", "approved_with_conditions", conditions=["Sprinkleranlæg."])
    await life.until_status(CaseStatus.awaiting_decision)


def plan(phase: str, by_model: dict[str, list[Hostile]], seed: int) -> list[Shot]:
    """The shots for one case: every non-closing update's, shuffled; then the closing ones in
    the order dismiss, issue_decision, withdraw. The "decision" case gets only the latter two
    (its decision must not be pre-empted by a project change)."""
    names = ["issue_decision", "withdraw"] if phase == "decision" else list(UPDATE_MODELS)
    shots = [s for name in names if name not in CLOSING for s in shots_for(name, by_model)]
    random.Random(seed).shuffle(shots)
    return shots + [s for name in CLOSING if name in names for s in shots_for(name, by_model)]


async def test_hostile_update_burst_leaves_every_case_healthy(time_env) -> None:
    by_model: dict[str, list[Hostile]] = {}
    for case in [*explicit_update_cases(), *draw(hostile_update_cases(), UPDATES)]:
        by_model.setdefault(case.model, []).append(case)
    fakes = Fakes(time_env, roster=list(ALL_CASEWORKERS))
    queue = f"hostile-updates-{uuid.uuid4()}"
    raw = raw_client(time_env.client)
    campaign = Campaign()

    async def new_life() -> Life:
        received_at = await time_env.get_current_time() - timedelta(hours=1)
        return Life(time_env, fakes, queue, received_at)

    async with case_worker(time_env.client, queue, fakes.activities()):
        # Awaiting material past the dismissal warning (20 working days), first: the server's
        # clock moves ahead for it, and the other cases start after that.
        lives = {"warned": await new_life()}
        await drive_to(lives["warned"], "warned")
        waiting_since = calendar.local_date((await lives["warned"].state()).waiting_since)
        warned_at = calendar.end_of_day(calendar.add_working_days(waiting_since, 20))
        await time_env.sleep(warned_at + timedelta(hours=1) - await time_env.get_current_time())
        await lives["warned"].settled()
        assert (await lives["warned"].state()).dismissal_warning_sent
        # A second case awaiting its decision gets only the closing updates.
        for phase in (
            "awaiting_caseworker",
            "awaiting_material",
            "in_review",
            "awaiting_decision",
            "decision",
        ):
            lives[phase] = await new_life()
            await drive_to(lives[phase], "awaiting_decision" if phase == "decision" else phase)
        expected = {"warned": "awaiting_material", "decision": "awaiting_decision"}
        for phase, life in lives.items():
            assert (await life.state()).status.value == expected.get(phase, phase)

        started = time.monotonic()
        plans = {phase: plan(phase, by_model, seed) for seed, phase in enumerate(lives)}
        await asyncio.gather(
            *(
                campaign.burst(phase, raw.get_workflow_handle(life.handle.id), plans[phase])
                for phase, life in lives.items()
            )
        )
        elapsed = time.monotonic() - started
        final = {
            phase: await campaign.check_after(phase, life, raw) for phase, life in lives.items()
        }

    sent = sum(v for k, v in campaign.outcomes.items() if k != "unhealthy after the burst")
    print(
        f"\nhostile update campaign: {sent} updates sent to {len(lives)} cases in "
        f"{elapsed:.1f} s (planned {sum(map(len, plans.values()))}): "
        + ", ".join(f"{k} {v}" for k, v in sorted(campaign.outcomes.items()))
        + "\n  rejections by type: "
        + ", ".join(f"{k} {v}" for k, v in campaign.rejections.most_common())
        + "\n  accepted by update: "
        + ", ".join(f"{k} {v}" for k, v in campaign.accepted.items())
        + f"\n  cases after the burst: {final}"
        + f"\n  stuck: {len(campaign.stuck)}, findings: {len(campaign.findings)}"
    )
    assert campaign.outcomes["accepted"] > 0 and campaign.outcomes["rejected"] > 0
    assert not campaign.stuck and not campaign.findings, (
        "stuck cases:\n"
        + "\n".join(f"[{phase}] {why}" for phase, why in campaign.stuck.items())
        + "\nfindings (update(payload) in phases: problem: message):\n"
        + campaign.report_findings()
    )

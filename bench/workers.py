"""The bench's workers, each in a process of its own, as a deployment runs them: the door (the
web service, or here the bench's driver) seals and starts; the worker process runs the
workflows and the activities. The case worker and the bare twin's worker are the same program
with the same sandbox, interceptors and cache; only their workflows and activities differ.

    python -m bench.workers case|twin <task queue> <max cached workflows>

Reads the stack's addresses from the environment (`stack.dev.service_env`), prints "ready"
once polling, and runs until SIGTERM. The twin's worker prints one line per activity run
("seen <workflow id> <perf_counter>", a clock shared by the processes of one machine), which
the driver reads into `twin.SEEN`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from bench import twin
from workflow_sandbox import CompiledOnceSandboxRunner
from workflows import PASSTHROUGH_MODULES

HERE = Path(__file__).resolve().parent


def twin_runner() -> SandboxedWorkflowRunner:
    """The product's sandbox (`workflows.workflow_runner`), with the twin's module passed
    through as the product's workflow modules are: neither is re-executed per run."""
    return CompiledOnceSandboxRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            *PASSTHROUGH_MODULES, "bench"
        )
    )


def _parts(kind: str, sessions, settings, report: bool):
    """(workflows, activities, runner) of a worker of *kind*; a twin *report*s its
    activities on stdout."""
    from mail.channel import EmailChannel
    from worker import WORKFLOWS, activities_for
    from workflows import workflow_runner

    if kind == "case":
        return (
            WORKFLOWS,
            activities_for(sessions, EmailChannel(settings), settings),
            workflow_runner(),
        )
    if report:
        twin.REPORT_TO = sys.stdout
    return twin.TWIN_WORKFLOWS, twin.TWIN_ACTIVITIES, twin_runner()


async def serve(kind: str, queue: str, cache: int, follow: bool) -> None:
    """Run one worker until SIGTERM; or, *follow*ing, one worker per server address read
    from stdin ("stop" ends the current one, end of input ends the process): M6 starts a
    fresh time-skipping server per wave, and a process started once keeps its imports."""
    from db.session import make_engine, make_sessionmaker
    from settings import Settings
    from temporal_client import connect
    from workflows.interceptors import INTERCEPTORS

    settings = Settings(temporal_task_queue=queue)
    engine = make_engine(settings.database_url, pre_ping=False)  # as worker.py
    sessions = make_sessionmaker(engine)
    workflows, activities, runner = _parts(kind, sessions, settings, report=not follow)

    async def run_on(address: str | None, until) -> None:
        s = (
            settings
            if address is None
            else settings.model_copy(update={"temporal_address": address})
        )
        async with Worker(
            await connect(s),
            task_queue=queue,
            workflows=workflows,
            activities=activities,
            workflow_runner=runner,
            interceptors=INTERCEPTORS,
            max_cached_workflows=cache,
        ):
            print("ready", flush=True)
            await until()
        print("stopped", flush=True)

    if not follow:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await run_on(None, stop.wait)
    else:  # stdin: an address, "stop", the next address, "stop", ...; end of input ends it

        async def line() -> str:
            return (await asyncio.to_thread(sys.stdin.readline)).strip()

        async def until_stop() -> None:
            while await line() not in ("stop", ""):
                pass

        while address := await line():
            await run_on(address, until_stop)
    await engine.dispose()


def _read_reports(proc: subprocess.Popen) -> None:
    for line in proc.stdout:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "seen":
            twin.SEEN.setdefault(parts[1], []).append(float(parts[2]))


def _spawn(
    env: dict[str, str], kind: str, queue: str, cache: int, follow: bool
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.workers", kind, queue, str(cache)]
        + (["follow"] if follow else []),
        env=env | {"ERHVERV_TEMPORAL_TASK_QUEUE": queue},
        stdin=subprocess.PIPE if follow else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=str(HERE.parent),
    )


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def _expect(proc: subprocess.Popen, word: str) -> None:
    """Read *proc*'s output up to a line that is *word* (the SDK's own log lines pass by)."""
    while (line := await asyncio.to_thread(proc.stdout.readline)).strip() != word:
        if not line:
            raise RuntimeError(f"bench worker process {proc.pid} ended before {word!r}")


@contextlib.asynccontextmanager
async def worker_process(
    env: dict[str, str], kind: str, queue: str, cache: int
) -> AsyncIterator[int]:
    """A worker process of *kind* on *queue* while the block runs; yields its PID. Stopped
    by SIGTERM (then SIGKILL after 30 s), by its PID."""
    proc = _spawn(env, kind, queue, cache, follow=False)
    try:
        await _expect(proc, "ready")
        threading.Thread(target=_read_reports, args=(proc,), daemon=True).start()
        yield proc.pid
    finally:
        await asyncio.to_thread(_stop, proc)


class FollowingWorkers:
    """*n* worker processes of *kind* started once, each pointed at one server after another
    (M2 and M6: a fresh time-skipping server per window or wave). A deployment runs one
    worker per core."""

    def __init__(
        self, env: dict[str, str], queue: str, n: int, cache: int, kind: str = "case"
    ) -> None:
        self.procs = [_spawn(env, kind, queue, cache, follow=True) for _ in range(n)]

    async def _say(self, line: str, answer: str) -> None:
        for p in self.procs:
            p.stdin.write(line + "\n")
            p.stdin.flush()
        await asyncio.gather(*[_expect(p, answer) for p in self.procs])

    async def serve(self, address: str) -> None:
        await self._say(address, "ready")

    async def stop(self) -> None:
        await self._say("stop", "stopped")

    def close(self) -> None:
        for p in self.procs:
            _stop(p)


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:] == ["follow"]))

"""The product's worker (`worker.py`) as a child process of the stack."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from stack.errors import StackError
from stack.pidfile import describe_exit, stop_leftover

log = logging.getLogger(__name__)

STOP_TIMEOUT = 15.0


class WorkerProcess:
    """`sys.executable worker.py` with its output in *log_file*; stop() ends only that PID."""

    def __init__(
        self,
        script: Path,
        log_file: Path,
        env: dict[str, str],
        cwd: Path,
        pid_file: Path | None = None,
    ) -> None:
        self.script = Path(script).absolute()
        self.log_file = Path(log_file).absolute()
        self.env = env
        self.cwd = Path(cwd)
        self.pid_file = Path(pid_file or self.log_file.with_name("worker.pid"))
        self._log_offset = 0
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._started_at = datetime.now(UTC)
        self._began = time.monotonic()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        """None while running (or never started)."""
        return self._proc.poll() if self._proc else None

    def start(self) -> None:
        if not self.script.exists():
            raise StackError(f"The worker script {self.script} does not exist.")
        stop_leftover(self.pid_file, [str(self.script)], "worker")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_file.open("ab")
        self._log_offset = self._log.tell()
        self._started_at = datetime.now(UTC)
        self._began = time.monotonic()
        self._proc = subprocess.Popen(
            [sys.executable, str(self.script)],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid_file.write_text(f"{self._proc.pid}\n")

    async def wait_ready(
        self, address: str, namespace: str, task_queue: str, timeout: float = 60.0
    ) -> None:
        """Wait until a poller started after our launch shows up on *task_queue*."""
        client = await Client.connect(address, namespace=namespace)
        request = DescribeTaskQueueRequest(
            namespace=namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
        since = self._started_at - timedelta(seconds=1)
        while True:
            if (code := self.returncode) is not None:
                raise StackError(
                    f"The worker {describe_exit(code)} while starting; end of "
                    f"{self.log_file}:\n{self.log_tail()}"
                )
            response = await client.workflow_service.describe_task_queue(request)
            if any(p.last_access_time.ToDatetime(tzinfo=UTC) >= since for p in response.pollers):
                self.startup_seconds = time.monotonic() - self._began
                return
            if time.monotonic() - self._began > timeout:
                raise StackError(
                    f"The worker did not poll task queue {task_queue!r} within "
                    f"{timeout:.0f} s; see {self.log_file}"
                )
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM (the worker drains and exits), SIGKILL after a timeout."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log.warning("The worker did not stop in %.0f s; killing it", STOP_TIMEOUT)
                proc.kill()
                proc.wait()
            if proc.returncode not in (0, -signal.SIGTERM):
                log.warning(
                    "The worker exited with code %s; see %s", proc.returncode, self.log_file
                )
        if proc is not None:
            self.pid_file.unlink(missing_ok=True)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 20) -> str:
        """The last *lines* this run wrote to the log."""
        with self.log_file.open("rb") as f:
            f.seek(self._log_offset)
            text = f.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

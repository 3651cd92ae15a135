"""The product's worker (`worker.py`) as a child process of the stack."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, timedelta
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from stack.errors import StackError
from stack.pidfile import describe_exit
from stack.process import ChildProcess

GRACE_SETTING = "ERHVERV_WORKER_SHUTDOWN_GRACE_SECONDS"
STOP_MARGIN = 10.0  # beyond the worker's own grace: closing its clients and endpoints


def shutdown_grace(env: dict[str, str]) -> float:
    """The grace the worker started with *env* gives its activities on SIGTERM (settings.py
    `worker_shutdown_grace_seconds`; its default when *env* has none or an unreadable one:
    the worker itself then reports the setting)."""
    from settings import Settings

    default = float(Settings.model_fields["worker_shutdown_grace_seconds"].default)
    try:
        value = float(env.get(GRACE_SETTING, default))
    except ValueError:
        return default
    return value if 0 <= value <= 3600 else default


class WorkerProcess(ChildProcess):
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
        log_file = Path(log_file).absolute()
        super().__init__(
            "worker",
            [sys.executable, str(self.script)],
            [str(self.script)],
            log_file,
            env,
            cwd,
            pid_file or log_file.with_name("worker.pid"),
        )
        # SIGKILL only after the worker's activities had their grace to finish.
        self.stop_timeout = shutdown_grace(env) + STOP_MARGIN

    def before_start(self) -> None:
        if not self.script.exists():
            raise StackError(f"The worker script {self.script} does not exist.")

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

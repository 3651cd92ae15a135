"""A product process (the worker, the web service) as a child of the stack: its output in its
own log file, its PID in a PID file, stopped by that PID only."""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from stack.pidfile import stop_leftover

log = logging.getLogger(__name__)

STOP_TIMEOUT = 15.0


class ChildProcess:
    """*argv* with stdout and stderr appended to *log_file*; stop() ends only that PID.

    *markers*: parts of the command line that identify a process left by an earlier run in
    *pid_file* (see `stop_leftover`); *name* is how messages call it ("the worker").
    *stop_timeout*: how long stop() waits after SIGTERM before SIGKILL."""

    stop_timeout: float = STOP_TIMEOUT

    def __init__(
        self,
        name: str,
        argv: list[str],
        markers: list[str],
        log_file: Path,
        env: dict[str, str],
        cwd: Path,
        pid_file: Path,
    ) -> None:
        self.name = name
        self.argv = argv
        self.markers = markers
        self.log_file = Path(log_file).absolute()
        self.env = env
        self.cwd = Path(cwd)
        self.pid_file = Path(pid_file)
        self.startup_seconds: float | None = None
        self._log_offset = 0
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

    def before_start(self) -> None:
        """Checks before the process is started (raise `StackError`); none by default."""

    def process_env(self) -> dict[str, str]:
        """The environment the process gets: *env* as given."""
        return self.env

    def start(self) -> None:
        """Start the process (not waiting for it to be ready); stop a leftover first."""
        stop_leftover(self.pid_file, self.markers, self.name)
        self.before_start()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_file.open("ab")
        self._log_offset = self._log.tell()
        self._started_at = datetime.now(UTC)
        self._began = time.monotonic()
        self.startup_seconds = None
        self._proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.process_env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid_file.write_text(f"{self._proc.pid}\n")

    def stop(self) -> None:
        """SIGTERM (it finishes what it does and exits), SIGKILL after a timeout. Stopping a
        process that is not running does nothing, so stop() may be called twice."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning(
                    "The %s did not stop in %.0f s; killing it", self.name, self.stop_timeout
                )
                proc.kill()
                proc.wait()
            if proc.returncode not in (0, -signal.SIGTERM):
                log.warning(
                    "The %s exited with code %s; see %s", self.name, proc.returncode, self.log_file
                )
        if proc is not None:
            self.pid_file.unlink(missing_ok=True)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 20) -> str:
        """The last *lines* this run wrote to the log."""
        try:
            with self.log_file.open("rb") as f:
                f.seek(self._log_offset)
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

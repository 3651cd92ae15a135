"""Processes: PID files, so a stack killed with SIGKILL can stop its own orphans on the next
start, and how a process ended, in words.

Only a process whose command line still matches what we started is ever signalled.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

log = logging.getLogger(__name__)


def alive(pid: int) -> bool:
    """True while *pid* runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def describe_exit(code: int) -> str:
    """A process's return code in words: "exited with code 1", "exited (signal 9, SIGKILL)"."""
    if code >= 0:
        return f"exited with code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        return f"exited (signal {-code})"
    return f"exited (signal {-code}, {name})"


def stop_leftover(pid_file: Path, markers: list[str], what: str, timeout: float = 15.0) -> None:
    """SIGTERM (then SIGKILL) the process in *pid_file* if its command line has all *markers*."""
    try:
        pid = int(pid_file.read_text())
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        pid_file.unlink(missing_ok=True)
        return
    if not all(os.fsencode(marker) in argv for marker in markers):
        pid_file.unlink(missing_ok=True)
        return
    log.warning("Stopping the %s (pid %s) left from an earlier run", what, pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)

"""CPU time by process, read from /proc (Linux): where a measure's CPU went.

A window's CPU is split between the worker process, the Temporal server, Postgres (the
postmaster and its backends) and the driver (this process), so a rate that falls short can be
traced to the part that spent it."""

from __future__ import annotations

import os
from pathlib import Path

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _ticks(pid: int) -> tuple[int, int] | None:
    """(utime + stime, ppid) of *pid* in clock ticks; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12]), int(fields[1])


def _with_children(root: int) -> int:
    """Ticks of *root* and its direct children (the postmaster and its backends)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        t = _ticks(int(entry))
        if t is not None and (int(entry) == root or t[1] == root):
            total += t[0]
    return total


def postmaster_pid(data_dir: Path) -> int:
    return int((Path(data_dir) / "postmaster.pid").read_text().split()[0])


class CpuMeter:
    """CPU milliseconds spent by named processes between `start()` and `stop()`."""

    def __init__(self, pids: dict[str, int], trees: dict[str, int] | None = None) -> None:
        self.pids = dict(pids) | {"driver": os.getpid()}
        self.trees = dict(trees or {})
        self._at: dict[str, int] = {}

    def _read(self) -> dict[str, int]:
        out = {name: (_ticks(pid) or (0, 0))[0] for name, pid in self.pids.items()}
        out |= {name: _with_children(pid) for name, pid in self.trees.items()}
        return out

    def start(self) -> None:
        self._at = self._read()

    def stop(self) -> dict[str, float]:
        now = self._read()
        # a backend that ended between the readings takes its ticks with it: never below 0
        return {name: max(0, now[name] - self._at[name]) * TICK_MS for name in now}

"""Local TCP ports on 127.0.0.1."""

from __future__ import annotations

import random
import socket
from pathlib import Path

from stack.errors import PortInUseError

HOST = "127.0.0.1"

# Ports handed out by this process, so two calls never return the same one.
_HANDED_OUT: set[int] = set()
_LOWEST = 10_000


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux default if unknown)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now and stays out of other callers' way.

    Binding port 0 would return a port from the kernel's ephemeral range, and between this
    call and the part binding it, any outgoing connection on the machine (a Postgres client,
    the Temporal SDK) may take that very port as its local end: CI saw exactly that. So the
    port is drawn below the ephemeral range, where the kernel never assigns local ports on
    its own, and never handed out twice by this process.
    """
    low, _ = _ephemeral_range()
    top = low - 1 if low - 1 > _LOWEST + 1000 else 32767
    for _attempt in range(200):
        port = random.randint(_LOWEST, top)
        if port in _HANDED_OUT or not _bindable(port):
            continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # pragma: no cover
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def port_is_free(port: int) -> bool:
    """True if nothing listens on *port* (a port in TIME_WAIT counts as free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def ensure_port_free(port: int, part: str) -> None:
    """Raise `PortInUseError` naming *part* if *port* is taken."""
    if not port_is_free(port):
        raise PortInUseError(port, part)

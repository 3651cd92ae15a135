"""Local TCP ports on 127.0.0.1."""

from __future__ import annotations

import socket

from stack.errors import PortInUseError

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


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

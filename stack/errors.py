"""Errors the embedded stack reports to a person (printed without a stack trace)."""

from __future__ import annotations


class StackError(RuntimeError):
    """An expected start-up failure with a message that says what to do."""


class PortInUseError(StackError):
    """A port one of the parts needs is already taken on 127.0.0.1."""

    def __init__(self, port: int, part: str) -> None:
        super().__init__(f"Port {port} on 127.0.0.1 (needed by {part}) is already in use.")
        self.port = port
        self.part = part

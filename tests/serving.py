"""An ASGI app served for real: uvicorn in a background thread on a free port of 127.0.0.1,
for the tests that drive it with a browser or over real HTTP. Stopped (and its thread joined)
on leaving; nothing is found or stopped by name."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from stack.ports import free_port


@contextmanager
def serving(app, name: str, port: int | None = None) -> Iterator[str]:
    """*app* on uvicorn in a thread named *name*: its base URL while the block runs."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, f"{name} did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

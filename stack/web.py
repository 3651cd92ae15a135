"""The web service (`python -m web`, FastAPI on uvicorn) as a child process of the stack."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

from stack.errors import StackError
from stack.pidfile import describe_exit
from stack.ports import HOST, ensure_port_free
from stack.process import ChildProcess

PART = "the web service"  # as `PortInUseError` names it (the setting: ERHVERV_WEB_PORT)
READY_TIMEOUT = 30.0


class WebProcess(ChildProcess):
    """`sys.executable -m web` on 127.0.0.1:*port*, its output (JSON lines) in *log_file*.

    *env* must carry the `ERHVERV_*` settings (see `stack.dev.service_env`); the host and port
    are set from *port* on top. Ready once `/healthz` answers 200: the process is up, whether or not
    Temporal and Postgres answer yet (that is `/readyz`)."""

    def __init__(
        self,
        port: int,
        log_file: Path,
        env: dict[str, str],
        cwd: Path,
        pid_file: Path | None = None,
    ) -> None:
        self.port = port
        log_file = Path(log_file).absolute()
        super().__init__(
            "web service",
            [sys.executable, "-m", "web"],
            ["-m", "web"],
            log_file,
            env,
            cwd,
            pid_file or log_file.with_name("web.pid"),
        )

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:8000."""
        return f"http://{HOST}:{self.port}"

    def before_start(self) -> None:
        ensure_port_free(self.port, PART)

    def process_env(self) -> dict[str, str]:
        # The dev stack signs staff in by picking a person from the caseworker directory.
        return (
            {"ERHVERV_DEV_SIGN_IN": "true"}
            | self.env
            | {
                "ERHVERV_WEB_HOST": HOST,
                "ERHVERV_WEB_PORT": str(self.port),
            }
        )

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until `/healthz` answers 200; raise `StackError` if the process exits first
        (with the end of its log) or does not answer within *timeout* seconds."""
        with httpx.Client(timeout=2.0, trust_env=False) as client:  # no proxy for 127.0.0.1
            while True:
                if (code := self.returncode) is not None:
                    raise StackError(
                        f"The web service {describe_exit(code)} while starting; end of "
                        f"{self.log_file}:\n{self.log_tail()}"
                    )
                try:
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        self.startup_seconds = time.monotonic() - self._began
                        return
                except httpx.HTTPError:
                    pass  # not listening yet
                if time.monotonic() - self._began > timeout:
                    raise StackError(
                        f"The web service did not answer on {self.url}/healthz within "
                        f"{timeout:.0f} s; see {self.log_file}"
                    )
                time.sleep(0.05)

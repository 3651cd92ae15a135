"""The web service (`python -m web`, FastAPI on uvicorn) as a child process of the stack."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from stack.errors import StackError
from stack.pidfile import describe_exit
from stack.ports import HOST, ensure_port_free
from stack.process import ChildProcess

PART = "the web service"  # as `PortInUseError` names it (the setting: ERHVERV_WEB_PORT)
READY_TIMEOUT = 30.0
POLL_INTERVAL = 0.05
# Pages only the dev stack has (never set in production): staff sign in by picking a person,
# /dev/post shows the mails the SMTP sink stored, and Jørgen Hald Andersen (jha) is the
# operator who may read cases in the Temporal UI through the codec server.
DEV_ONLY = {
    "ERHVERV_DEV_SIGN_IN": "true",
    "ERHVERV_MAIL_SINK_PAGE": "true",
    "ERHVERV_OPERATORS": '["jha"]',
}


class WebProcess(ChildProcess):
    """`sys.executable -m web` on 127.0.0.1:*port*, its output (JSON lines) in *log_file*.

    *env* must carry the `ERHVERV_*` settings (see `stack.dev.service_env`); the host and
    port are set from *port* on top. Ready once `/healthz` answers 200: the process is up,
    whether or not Temporal and Postgres answer yet (that is `/readyz`). From its launch a
    thread watches for that moment, so `startup_seconds` is right even when `wait_ready` is
    called later (the stack starts the other parts meanwhile)."""

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
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:8000."""
        return f"http://{HOST}:{self.port}"

    def before_start(self) -> None:
        ensure_port_free(self.port, PART)

    def process_env(self) -> dict[str, str]:
        """The stack's settings, with the dev stack's own pages on (the dev sign-in, the
        mail-sink page) unless the environment says otherwise."""
        return DEV_ONLY | self.env | {"ERHVERV_WEB_HOST": HOST, "ERHVERV_WEB_PORT": str(self.port)}

    def start(self) -> None:
        """Launch the process (not waiting) and the thread that notices when it is ready."""
        self._ready = threading.Event()
        super().start()
        proc, ready = self._proc, self._ready
        assert proc is not None
        threading.Thread(
            target=self._watch, args=(proc, ready), name="web-ready", daemon=True
        ).start()

    def _watch(self, proc: subprocess.Popen[bytes], ready: threading.Event) -> None:
        """Poll `/healthz` until it answers 200 (then note the time), the process ends, or
        `READY_TIMEOUT` has passed."""
        began = self._began
        with httpx.Client(timeout=2.0, trust_env=False) as client:  # no proxy for 127.0.0.1
            while proc.poll() is None and time.monotonic() - began <= READY_TIMEOUT:
                try:
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        self.startup_seconds = time.monotonic() - began
                        ready.set()
                        return
                except httpx.HTTPError:
                    pass  # not listening yet
                time.sleep(POLL_INTERVAL)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until `/healthz` has answered 200; raise `StackError` if the process exits
        first (with the end of its log) or does not answer within *timeout* seconds of its
        launch (at most `READY_TIMEOUT`)."""
        limit = min(timeout, READY_TIMEOUT)
        while not self._ready.wait(POLL_INTERVAL):
            if (code := self.returncode) is not None:
                raise StackError(
                    f"The web service {describe_exit(code)} while starting; end of "
                    f"{self.log_file}:\n{self.log_tail()}"
                )
            if self._proc is None:
                raise StackError("The web service was stopped while starting.")
            if time.monotonic() - self._began > limit:
                raise StackError(
                    f"The web service did not answer on {self.url}/healthz within "
                    f"{limit:.0f} s; see {self.log_file}"
                )

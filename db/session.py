"""Engine and session factory, built once per process from the database URL.

Postgres over TLS comes from the settings (ERHVERV_DATABASE_SSL_MODE, _SSL_ROOT_CERT), the
same in every process, whichever URL a caller passes (`connect_args`)."""

from __future__ import annotations

import ssl
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from settings import Settings, get_settings, read_setting_file


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The asyncpg `ssl` argument for the settings' mode: None for "disable" (nothing added:
    the URL's ?ssl=... or asyncpg's default decide); "require": encrypted, the server's
    certificate checked against database_ssl_root_cert when it is set (else not checked);
    "verify-full": the certificate checked against the root cert file (else the system
    trust store) and the host name against it. An unreadable file is a SettingFileError."""
    mode = settings.database_ssl_mode
    if mode == "disable":
        return None
    root = settings.database_ssl_root_cert
    cadata = read_setting_file("database_ssl_root_cert", root).decode() if root else None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=cadata)
    if mode == "require":
        context.check_hostname = False
        if cadata is None:
            context.verify_mode = ssl.CERT_NONE
    return context


def connect_args(settings: Settings) -> dict[str, Any]:
    """asyncpg connect arguments for *settings* (empty unless TLS is configured)."""
    context = ssl_context(settings)
    return {"ssl": context} if context is not None else {}


def make_engine(
    url: str, settings: Settings | None = None, *, pre_ping: bool = True
) -> AsyncEngine:
    """An engine for *url*, with TLS from *settings* (default: the process's settings).

    *pre_ping* tests each pooled connection before use (a round trip per transaction). The
    worker turns it off: everything it writes runs in an activity that Temporal retries, and
    the first statement on a connection Postgres dropped fails, invalidates the pool
    (SQLAlchemy's disconnect handling) and is retried on a fresh one."""
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=pre_ping,
        connect_args=connect_args(settings or get_settings()),
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)

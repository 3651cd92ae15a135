"""Run the Alembic migrations programmatically (the stack and the tests call this at start)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "db" / "migrations"))
    config.attributes["database_url"] = url
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at *url* to *revision* (Alembic runs its own loop in a thread)."""
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)

"""Seed the caseworker directory from a JSON file (idempotent upsert; the stack runs it)."""

from __future__ import annotations

from pathlib import Path

from pydantic import TypeAdapter
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert

from db.models import CaseworkerRow
from db.session import make_engine
from schemas.case import Caseworker

ROSTER = TypeAdapter(list[Caseworker])


def load_roster(file: Path) -> list[Caseworker]:
    return ROSTER.validate_json(file.read_bytes())


async def seed_caseworkers(url: str, file: Path) -> int:
    """Upsert every caseworker in *file*; returns how many."""
    roster = load_roster(file)
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for cw in roster:
                row = cw.model_dump(mode="json")
                stmt = insert(CaseworkerRow).values(**row)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[CaseworkerRow.id],
                    set_={
                        **{k: stmt.excluded[k] for k in row if k != "id"},
                        "updated_at": func.now(),
                    },
                )
                await conn.execute(stmt)
    finally:
        await engine.dispose()
    return len(roster)

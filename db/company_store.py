"""The company page's tables, read and written for the seam (`case_api`): which links still
work, the files companies deliver (in Postgres or in a folder), the page's audit trail and
the letters a case has sent. No door imports this module; `case_api` does.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker

from db.company_models import CompanyLink, MaterialFile, WebAuditEvent
from db.models import OutboxLetter
from schemas.lists import AuditEvent, MaterialFileInfo, SentLetter


async def link_state(sessions: async_sessionmaker, case_id: str, link_id: str) -> str:
    """ "ok", "revoked", or "unknown" (no such link of that case)."""
    async with sessions() as session:
        row = await session.get(CompanyLink, link_id)
    if row is None or row.case_id != case_id:
        return "unknown"
    return "revoked" if row.revoked_at is not None else "ok"


async def revoke_links(sessions: async_sessionmaker, case_id: str) -> int:
    """Revoke every link of the case issued so far; how many were still working."""
    async with sessions.begin() as session:
        result = await session.execute(
            update(CompanyLink)
            .where(CompanyLink.case_id == case_id, CompanyLink.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .returning(CompanyLink.link_id)
        )
        return len(result.all())


def _info(row: MaterialFile) -> MaterialFileInfo:
    return MaterialFileInfo(
        id=row.id,
        material_code=row.material_code,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        uploaded_at=row.uploaded_at,
    )


@dataclass(frozen=True)
class StoredFile:
    info: MaterialFileInfo
    first: bool  # False: this request id had stored it before (a double submit)


def _write_file(folder: Path, name: str, data: bytes) -> Path:
    """Write *data* under *folder* as *name*: a temporary name first, then a rename, so a
    file with the final name is always whole."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / name
    temporary = folder / f".{name}.part"
    with open(temporary, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, final)
    return final


async def store_file(
    sessions: async_sessionmaker,
    upload_dir: Path | None,
    *,
    case_id: str,
    material_code: str,
    filename: str,
    content_type: str,
    data: bytes,
    sha256: str,
    request_id: str,
) -> StoredFile:
    """Store one checked file once per request id: in Postgres (``upload_dir`` None) or as a
    file in ``upload_dir`` named by its id. A second call with the same request id stores
    nothing and returns the first file; a failed insert leaves no file behind."""
    existing = await _file_by_request(sessions, request_id)
    if existing is not None:
        return StoredFile(existing, first=False)
    file_id = uuid.uuid4().hex
    written = (
        await asyncio.to_thread(_write_file, upload_dir, file_id, data)
        if upload_dir is not None
        else None
    )
    values = {
        "id": file_id,
        "case_id": case_id,
        "material_code": material_code,
        "filename": filename,
        "content_type": content_type,
        "size": len(data),
        "sha256": sha256,
        "content": None if written else data,
        "stored_name": file_id if written else None,
        "request_id": request_id,
    }
    try:
        async with sessions.begin() as session:
            inserted = (
                await session.execute(
                    insert(MaterialFile)
                    .values(**values)
                    .on_conflict_do_nothing(index_elements=[MaterialFile.request_id])
                    .returning(MaterialFile.id)
                )
            ).first()
    except BaseException:
        if written is not None:
            written.unlink(missing_ok=True)
        raise
    if inserted is None:  # the same request id won a race a moment ago
        if written is not None:
            written.unlink(missing_ok=True)
        first = await _file_by_request(sessions, request_id)
        assert first is not None
        return StoredFile(first, first=False)
    async with sessions() as session:
        row = await session.get(MaterialFile, file_id)
    return StoredFile(_info(row), first=True)


async def _file_by_request(
    sessions: async_sessionmaker, request_id: str
) -> MaterialFileInfo | None:
    async with sessions() as session:
        row = await session.scalar(
            select(MaterialFile).where(MaterialFile.request_id == request_id)
        )
    return _info(row) if row is not None else None


async def files_of(sessions: async_sessionmaker, case_id: str) -> list[MaterialFileInfo]:
    """The case's delivered files, oldest first (without their content)."""
    columns = [c for c in MaterialFile.__table__.c if c.key != "content"]
    async with sessions() as session:
        rows = (
            await session.execute(
                select(*columns)
                .where(MaterialFile.case_id == case_id)
                .order_by(MaterialFile.uploaded_at, MaterialFile.id)
            )
        ).all()
    return [
        MaterialFileInfo(
            id=r.id,
            material_code=r.material_code,
            filename=r.filename,
            content_type=r.content_type,
            size=r.size,
            sha256=r.sha256,
            uploaded_at=r.uploaded_at,
        )
        for r in rows
    ]


async def file_content(
    sessions: async_sessionmaker, upload_dir: Path | None, case_id: str, file_id: str
) -> tuple[MaterialFileInfo, bytes] | None:
    """One file of the case with its content; None if the case has no such file."""
    async with sessions() as session:
        row = await session.get(MaterialFile, file_id)
    if row is None or row.case_id != case_id:
        return None
    if row.content is not None:
        return _info(row), row.content
    if upload_dir is None or not row.stored_name:
        return None
    path = upload_dir / row.stored_name
    if not path.is_file():
        return None
    return _info(row), await asyncio.to_thread(path.read_bytes)


async def record_web_event(
    sessions: async_sessionmaker, case_id: str, kind: str, data: dict
) -> None:
    async with sessions.begin() as session:
        session.add(WebAuditEvent(case_id=case_id, kind=kind, data=data))


async def web_events(sessions: async_sessionmaker, case_id: str) -> list[AuditEvent]:
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(WebAuditEvent)
                .where(WebAuditEvent.case_id == case_id)
                .order_by(WebAuditEvent.id)
            )
        ).all()
    return [AuditEvent(seq=r.id, kind=r.kind, at=r.at, data=r.data, source="web") for r in rows]


async def letters_of(
    sessions: async_sessionmaker, case_id: str, kinds: Iterable[str] | None = None
) -> list[SentLetter]:
    """The case's letters from the outbox, oldest first (kind, subject, times)."""
    stmt = select(
        OutboxLetter.kind, OutboxLetter.subject, OutboxLetter.created_at, OutboxLetter.sent_at
    ).where(OutboxLetter.case_id == case_id)
    if kinds is not None:
        stmt = stmt.where(OutboxLetter.kind.in_(list(kinds)))
    async with sessions() as session:
        rows = (await session.execute(stmt.order_by(OutboxLetter.created_at))).all()
    return [
        SentLetter(kind=r.kind, subject=r.subject, created_at=r.created_at, sent_at=r.sent_at)
        for r in rows
    ]

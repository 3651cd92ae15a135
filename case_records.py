"""The read side of the case seam: lists and the worklist from the projection, the audit
trail, the caseworker directory, and the company page's rows (links, files, web events,
letters). Doors reach these through `case_api` (which re-exports them), never `db` itself."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from sqlalchemy import any_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import async_sessionmaker

from case_errors import CaseError
from db.models import Case, CaseworkerRow
from db.models import CaseEvent as CaseEventRow
from domain import worklist as worklist_rule
from schemas.case import Caseworker
from schemas.intake import case_workflow_id
from schemas.lists import AuditEvent, CaseListQuery, CasePage, CaseSummary, WorkItem
from schemas.sealed import SEALED_TOKEN


# ------------------------------------------------------------------ lists (the projection)
def _encode_cursor(received_at: datetime, case_id: str) -> str:
    raw = f"{received_at.isoformat()}|{case_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, case_id = raw.split("|", 1)
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError
        return parsed, case_id
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise CaseError(
            "cursor: not a cursor this service gave out; start again without it.",
            kind="InvalidInput",
        ) from None


async def list_cases(sessions: async_sessionmaker, query: CaseListQuery) -> CasePage:
    """Cases from the projection, newest receipt first, filtered, one page at a time."""
    stmt = select(Case)
    if query.status is not None:
        stmt = stmt.where(Case.status == query.status.value)
    if query.department is not None:
        stmt = stmt.where(query.department.value == any_(Case.departments))
    if query.breached is not None:
        stmt = stmt.where(Case.contact_breached.is_(query.breached))
    if query.agreed_from is not None:
        stmt = stmt.where(Case.agreed_date >= query.agreed_from)
    if query.agreed_to is not None:
        stmt = stmt.where(Case.agreed_date <= query.agreed_to)
    if query.caseworker is not None:
        stmt = stmt.where(Case.caseworker_id == query.caseworker)
    if query.references is not None:
        stmt = stmt.where(Case.reference.in_(query.references))
    if query.company_cvr is not None:
        stmt = stmt.where(Case.company_cvr == query.company_cvr)
    if query.cursor:
        at, case_id = _decode_cursor(query.cursor)
        stmt = stmt.where(tuple_(Case.received_at, Case.case_id) < tuple_(at, case_id))
    stmt = stmt.order_by(Case.received_at.desc(), Case.case_id.desc()).limit(query.limit + 1)
    async with sessions() as session:
        rows = list((await session.scalars(stmt)).all())
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    items = [
        CaseSummary.model_validate({f: getattr(r, f) for f in CaseSummary.model_fields})
        for r in rows
    ]
    cursor = _encode_cursor(rows[-1].received_at, rows[-1].case_id) if more else None
    return CasePage(items=items, next_cursor=cursor)


SEALED_MARK = "[personoplysning]"  # a sealed personal field in the audit trail


def _masked(data: Any) -> Any:
    """The audit trail holds no personal data: a sealed value in it is shown as a mark."""
    if isinstance(data, str):
        return SEALED_TOKEN.sub(SEALED_MARK, data)
    if isinstance(data, dict):
        return {k: _masked(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_masked(v) for v in data]
    return data


async def case_events(sessions: async_sessionmaker, reference: str) -> list[AuditEvent]:
    """A case's audit trail, in order (ids, kinds and codes; no personal data)."""
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(CaseEventRow)
                .where(CaseEventRow.case_id == case_workflow_id(reference))
                .order_by(CaseEventRow.seq)
            )
        ).all()
    events = [AuditEvent(seq=r.seq, kind=r.kind, at=r.at, data=_masked(r.data)) for r in rows]
    # ... and the company page's views and actions, merged by time (each trail's order kept)
    from heapq import merge

    from db import company_store

    web = await company_store.web_events(sessions, case_workflow_id(reference))
    return list(merge(events, web, key=lambda e: e.at))


async def staff_member(sessions: async_sessionmaker, caseworker_id: str) -> Caseworker | None:
    """A person of the caseworker directory (active), for the doors' sign-in."""
    async with sessions() as session:
        row = await session.get(CaseworkerRow, caseworker_id)
    if row is None or not row.active:
        return None
    return Caseworker.model_validate(
        {f: getattr(row, f) for f in Caseworker.model_fields}, strict=False
    )


async def worklist(
    sessions: async_sessionmaker, person: Caseworker, now: datetime, closing_days=()
) -> list[WorkItem]:
    """A caseworker's worklist: their own open cases, the cases no one has taken yet, and the
    open cases of their departments, most urgent first (domain/worklist.py)."""
    stmt = select(Case).where(
        Case.closing_reason.is_(None),
        or_(
            Case.caseworker_id == person.id,
            Case.caseworker_id.is_(None),
            *[d.value == any_(Case.departments) for d in person.departments],
        ),
    )
    async with sessions() as session:
        rows = (await session.scalars(stmt.limit(1000))).all()
    cases = [
        CaseSummary.model_validate({f: getattr(r, f) for f in CaseSummary.model_fields})
        for r in rows
    ]
    return worklist_rule.worklist(cases, now, closing_days)


def _caseworker(row: CaseworkerRow) -> Caseworker:
    return Caseworker.model_validate(
        {f: getattr(row, f) for f in Caseworker.model_fields}, strict=False
    )


async def staff_member_by_email(sessions: async_sessionmaker, email: str) -> Caseworker | None:
    """The active caseworker with this e-mail address (compared without case), for the
    OpenID Connect sign-in; None when no one or more than one active person has it."""
    stmt = select(CaseworkerRow).where(
        CaseworkerRow.active, func.lower(CaseworkerRow.email) == email.strip().lower()
    )
    async with sessions() as session:
        rows = (await session.scalars(stmt.limit(2))).all()
    return _caseworker(rows[0]) if len(rows) == 1 else None


async def staff_directory(sessions: async_sessionmaker) -> list[Caseworker]:
    """Every active caseworker of the directory, by id (the dev stack's sign-in picker)."""
    stmt = select(CaseworkerRow).where(CaseworkerRow.active).order_by(CaseworkerRow.id)
    async with sessions() as session:
        rows = (await session.scalars(stmt.limit(500))).all()
    return [_caseworker(row) for row in rows]


# ------------------------------------------------------- the company's own case page (issue 8)
# The page's links, files, audit trail and letters live in Postgres (db/company_store.py);
# the doors reach them only through these functions.
def _case_id_of(case: str) -> str:
    """A workflow id ("case-<reference>") from a reference or a workflow id."""
    return case if case.startswith("case-") else case_workflow_id(case)


async def company_link_state(sessions: async_sessionmaker, case_id: str, link_id: str) -> str:
    """Whether a case page link still works: "ok", "revoked" or "unknown"."""
    from db import company_store

    return await company_store.link_state(sessions, case_id, link_id)


async def revoke_company_links(sessions: async_sessionmaker, reference: str) -> int:
    """Revoke every case page link of the case sent so far (the next letter brings a new
    one); how many links were still working."""
    from db import company_store

    return await company_store.revoke_links(sessions, _case_id_of(reference))


async def store_material_file(
    sessions: async_sessionmaker,
    upload_dir,
    *,
    reference: str,
    material_code: str,
    filename: str,
    content_type: str,
    data: bytes,
    sha256: str,
    request_id: str,
):
    """Store a checked file a company delivered (once per request id); the stored file
    (`db.company_store.StoredFile`: info, and whether this call stored it)."""
    from db import company_store

    return await company_store.store_file(
        sessions,
        upload_dir,
        case_id=_case_id_of(reference),
        material_code=material_code,
        filename=filename,
        content_type=content_type,
        data=data,
        sha256=sha256,
        request_id=request_id,
    )


async def material_files(sessions: async_sessionmaker, case: str) -> list:
    """The files the company delivered for the case (a reference or a workflow id), oldest
    first: id, material code, safe file name, content type, size, SHA-256, time."""
    from db import company_store

    return await company_store.files_of(sessions, _case_id_of(case))


async def material_file(sessions: async_sessionmaker, upload_dir, reference: str, file_id: str):
    """(info, content) of one delivered file of the case; None if it has no such file."""
    from db import company_store

    return await company_store.file_content(sessions, upload_dir, _case_id_of(reference), file_id)


async def record_web_event(
    sessions: async_sessionmaker, reference: str, kind: str, data: dict | None = None
) -> None:
    """One line of the case's audit trail from the company's page (ids, kinds, codes; no
    personal data)."""
    from db import company_store

    await company_store.record_web_event(sessions, _case_id_of(reference), kind, data or {})


async def letters_of(sessions: async_sessionmaker, case: str, kinds=None) -> list:
    """The case's letters (kind, subject, when), oldest first; *kinds* limits them."""
    from db import company_store

    return await company_store.letters_of(sessions, _case_id_of(case), kinds)

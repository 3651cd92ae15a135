"""Erasing a closed case's personal data: the operator's action and the retention rule.

The seam the doors (HTTP `POST /api/v1/cases/{reference}/erasure`, `starter.py erase`) and
the retention Schedule call. Erasing destroys the case's data key (`personal.erase_case_key`,
audited with who and why in ``erasures``), so every sealed personal field in the case's
Temporal histories, queries and stored events reads "[slettet]" from then on; and it blanks
what Postgres kept in the clear: the letters' recipients, text and calendar file, the
uploaded files' names and content (and the files on disk), and the survey comment.

What stays: the projection's anonymous facts (dates, phases, departments, the company's CVR
and name: a company is not a person), the closed case and its survey scores behind the
published figures, the audit trail of ids and kinds.

Only a closed case may be erased. Erasing is safe to repeat: the key goes once (one audit
row), the blanking is done again (so a crash half-way is mended by a retry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from db.company_models import MaterialFile
from db.measurement_models import SurveyComment
from db.models import Case, OutboxLetter
from db.personal_models import Erasure
from domain import retention
from personal import CaseKeyError, ErasureRequestError, erase_case_key
from schemas.intake import case_workflow_id
from schemas.sealed import ERASED_PLACEHOLDER

if TYPE_CHECKING:
    from settings import Settings

log = structlog.get_logger(__name__)

RETENTION_ACTOR = "system:retention"
RETENTION_BATCH = 200


class ErasureError(Exception):
    """An erasure that cannot be done; *kind*: NoSuchCase, NotClosed or InvalidInput."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ErasureDone:
    reference: str
    erased_at: datetime
    erased_by: str
    reason: str
    already_erased: bool  # this request found it erased (a retry, or done before)


@dataclass(frozen=True)
class Retention:
    """What the company page says: kept until *erase_on*, or erased at *erased_at*."""

    closed_at: datetime | None
    erase_on: date | None
    erased_at: datetime | None


async def _closed_at(sessions: async_sessionmaker, case_id: str) -> tuple[bool, datetime | None]:
    async with sessions() as session:
        row = (await session.execute(select(Case.closed_at).where(Case.case_id == case_id))).first()
    return (row is not None, row[0] if row else None)


async def _erasure(sessions: async_sessionmaker, case_id: str) -> Erasure | None:
    async with sessions() as session:
        return await session.scalar(select(Erasure).where(Erasure.case_id == case_id))


async def erase_case(
    sessions: async_sessionmaker,
    settings: Settings,
    reference: str,
    erased_by: str,
    reason: str,
    *,
    client: Client | None = None,
) -> ErasureDone:
    """Erase the personal data of the closed case *reference* (see the module's text).

    With a Temporal *client* (the doors), a case whose workflow is still running its closing
    (the closing notice and the survey letter on their way) is refused as StillClosing: the
    company gets those letters first. The retention rule, long after closing, needs none."""
    case_id = case_workflow_id(reference)
    known, closed_at = await _closed_at(sessions, case_id)
    if not known:
        raise ErasureError(f"No case with reference {reference}.", "NoSuchCase")
    if closed_at is None:
        raise ErasureError(
            f"Case {reference} is not closed; only a closed case's personal data can be erased.",
            "NotClosed",
        )
    if client is not None and await _still_running(client, case_id):
        raise ErasureError(
            f"Case {reference} is closed but its last letters are still on their way; "
            "try again in a minute.",
            "StillClosing",
        )
    try:
        fresh = await erase_case_key(sessions, case_id, erased_by, reason)
    except (ErasureRequestError, CaseKeyError) as err:
        raise ErasureError(str(err), "InvalidInput") from None
    blanked = await _blank(sessions, settings, case_id)
    record = await _erasure(sessions, case_id)
    if record is None:  # pragma: no cover - erase_case_key wrote it
        raise ErasureError(f"The erasure of case {reference} was not recorded.", "NotRecorded")
    log.info(
        "personal data erased" if fresh else "personal data erased before; blanked again",
        case_id=case_id,
        erased_by=record.erased_by,
        **blanked,
    )
    return ErasureDone(reference, record.erased_at, record.erased_by, record.reason, not fresh)


async def _still_running(client: Client, case_id: str) -> bool:
    try:
        described = await client.get_workflow_handle(case_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:  # gone with the namespace's retention
            return False
        raise
    return described.status == WorkflowExecutionStatus.RUNNING


async def _blank(sessions: async_sessionmaker, settings: Settings, case_id: str) -> dict:
    """Blank what Postgres (and the upload folder) kept in the clear for *case_id*."""
    async with sessions.begin() as session:
        letters = await session.execute(
            update(OutboxLetter)
            .where(OutboxLetter.case_id == case_id)
            .values(recipients=[], body=ERASED_PLACEHOLDER, calendar=None)
        )
        stored = (
            await session.scalars(
                select(MaterialFile.stored_name).where(
                    MaterialFile.case_id == case_id, MaterialFile.stored_name.is_not(None)
                )
            )
        ).all()
        files = await session.execute(
            update(MaterialFile)
            .where(MaterialFile.case_id == case_id)
            .values(filename=ERASED_PLACEHOLDER, content=None, stored_name=None)
        )
        comments = await session.execute(
            update(SurveyComment)
            .where(SurveyComment.case_id == case_id)
            .values(text=ERASED_PLACEHOLDER)
        )
    for name in stored:  # after the commit: a file is never gone while its row points at it
        _remove(settings.upload_dir, name)
    return {
        "letters": letters.rowcount,
        "files": files.rowcount,
        "comments": comments.rowcount,
    }


def _remove(folder: Path | None, name: str) -> None:
    if folder is None:
        return
    path = (Path(folder) / name).resolve()
    if Path(folder).resolve() not in path.parents:  # a name that leaves the folder: never
        log.warning("upload path outside the upload folder not removed")
        return
    path.unlink(missing_ok=True)


async def retention_of(
    sessions: async_sessionmaker, settings: Settings, reference: str
) -> Retention:
    """For the company page: when the case's personal data goes, or when it went."""
    case_id = case_workflow_id(reference)
    _, closed_at = await _closed_at(sessions, case_id)
    erasure = await _erasure(sessions, case_id)
    return Retention(
        closed_at=closed_at,
        erase_on=retention.erase_on(closed_at, settings.retention_months) if closed_at else None,
        erased_at=erasure.erased_at if erasure else None,
    )


async def erase_expired(
    sessions: async_sessionmaker, settings: Settings, now: datetime
) -> list[str]:
    """Erase every case whose retention ran out at *now*; the case ids erased (the
    retention Schedule's activity calls this once a day; a rerun erases nothing twice)."""
    months = settings.retention_months
    bound = retention.candidates_until(now, months) + timedelta(days=1)
    until = datetime.combine(bound, datetime.min.time(), now.tzinfo)
    done: list[str] = []
    while True:
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(Case.case_id, Case.reference, Case.closed_at)
                    .outerjoin(Erasure, Erasure.case_id == Case.case_id)
                    .where(
                        Case.closed_at.is_not(None),
                        Case.closed_at < until,
                        Erasure.case_id.is_(None),
                    )
                    .order_by(Case.closed_at)
                    .limit(RETENTION_BATCH)
                )
            ).all()
        due = [r for r in rows if retention.is_due(r.closed_at, months, now)]
        for case_id, reference, _ in due:
            await erase_case(
                sessions,
                settings,
                reference,
                RETENTION_ACTOR,
                f"retention: {months} months after closing",
            )
            done.append(case_id)
        if len(rows) < RETENTION_BATCH or not due:
            return done

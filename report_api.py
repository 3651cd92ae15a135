"""The seam for the monthly report and the staff's measurement pages (issue 9, commitment 10):
what the web and the CLI call; neither door reads the tables behind it.

- `reports`, `report_of`: the stored monthly reports (public);
- `make_report`: run the report workflow for a month now (and wait for it);
- `comments`, `set_tags`: the survey's free text for signed-in staff, and its theme tags;
- `broken_promise_cases`, `set_causes`: the closed cases that broke a promise, and the
  recorded cause of each broken promise (`closed_cases.breach_causes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from activities.report_figures import PROMISE_TEXT, CaseFacts, broken_promises, month_label
from db.measurement_models import ClosedCase, MonthlyReport, SurveyComment
from domain.texts import CASE_TYPE_NAMES
from schemas.intake import CaseType
from schemas.report import TAGS, BreachCauses, CommentTags, ReportRequest, ReportResult, month_of
from workflows.report import MonthlyReportWorkflow

PAGE_LIMIT = 200


class ReportError(Exception):
    """The report could not be made (e.g. the month is not over); the message says why."""


@dataclass(frozen=True)
class ReportSummary:
    month: str
    label: str
    cases: int
    sent: bool


@dataclass(frozen=True)
class StoredReport:
    month: str
    figures: dict
    html: str
    pdf: bytes
    created_at: datetime
    sent_at: datetime | None


async def reports(sessions: async_sessionmaker) -> list[ReportSummary]:
    """Every stored report, newest month first."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    MonthlyReport.month, MonthlyReport.figures["cases"], MonthlyReport.sent_at
                ).order_by(MonthlyReport.month.desc())
            )
        ).all()
    return [
        ReportSummary(month_of(m), month_label(month_of(m)), int(cases or 0), sent is not None)
        for m, cases, sent in rows
    ]


async def report_of(sessions: async_sessionmaker, month: str) -> StoredReport | None:
    """The stored report of *month* ("YYYY-MM"), or None."""
    year, number = month.split("-")
    async with sessions() as session:
        row = await session.get(MonthlyReport, date(int(year), int(number), 1))
    if row is None:
        return None
    return StoredReport(month, row.figures, row.html, row.pdf, row.created_at, row.sent_at)


def report_workflow_id(month: str) -> str:
    return f"monthly-report-{month}"


async def make_report(
    client: Client, month: str, task_queue: str, request_id: str | None = None
) -> ReportResult:
    """Run the report workflow for *month* now and wait for it. Safe to repeat: the stored
    report is kept and nothing is sent twice. A run already going is joined."""
    request = ReportRequest.model_validate({"month": month})
    try:
        return await client.execute_workflow(
            MonthlyReportWorkflow.run,
            request,
            id=report_workflow_id(month),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            result_type=ReportResult,
        )
    except WorkflowFailureError as err:
        cause = err.cause
        message = getattr(cause, "message", None) or str(cause)
        raise ReportError(message) from None


# ------------------------------------------------------------------ staff: comments and tags
@dataclass(frozen=True)
class CommentRow:
    case_id: str
    reference: str
    case_type: str
    text: str
    tags: list[str]
    written_at: datetime


async def comments(sessions: async_sessionmaker, limit: int = PAGE_LIMIT) -> list[CommentRow]:
    """The survey's free-text comments, newest first (staff only)."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(SurveyComment, ClosedCase.reference, ClosedCase.case_type)
                .join(ClosedCase, ClosedCase.case_id == SurveyComment.case_id)
                .order_by(SurveyComment.written_at.desc(), SurveyComment.case_id)
                .limit(limit)
            )
        ).all()
    return [
        CommentRow(
            c.case_id,
            reference,
            CASE_TYPE_NAMES[CaseType(case_type)],
            c.text,
            [t for t in c.tags if t in TAGS],
            c.written_at,
        )
        for c, reference, case_type in rows
    ]


async def set_tags(sessions: async_sessionmaker, case_id: str, tags: CommentTags) -> bool:
    """Set a comment's tags (the whole list); False when there is no such comment."""
    ordered = [t for t in TAGS if t in set(tags.tags)]
    async with sessions.begin() as session:
        result = await session.execute(
            update(SurveyComment).where(SurveyComment.case_id == case_id).values(tags=ordered)
        )
    return result.rowcount == 1


# --------------------------------------------------------- staff: broken promises and causes
@dataclass(frozen=True)
class BrokenCase:
    case_id: str
    reference: str
    case_type: str
    closed_at: datetime
    promises: list[tuple[str, str, str]]  # (promise, its Danish text, recorded cause)


async def broken_promise_cases(
    sessions: async_sessionmaker, limit: int = PAGE_LIMIT
) -> list[BrokenCase]:
    """Closed cases that broke at least one promise, most recently closed first."""
    c = ClosedCase
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(c)
                .where(
                    or_(
                        c.contacted_within_deadline.is_(False),
                        c.decided_on_or_before_agreed_date.is_(False),
                        c.net_processing_days > c.kl_target_days,
                    )
                )
                .order_by(c.closed_at.desc(), c.case_id)
                .limit(limit)
            )
        ).all()
    found = []
    for row in rows:
        facts = _facts(row)
        causes = dict(row.breach_causes or {})
        found.append(
            BrokenCase(
                row.case_id,
                row.reference,
                CASE_TYPE_NAMES[CaseType(row.case_type)],
                row.closed_at,
                [(p, PROMISE_TEXT[p], str(causes.get(p, ""))) for p in broken_promises(facts)],
            )
        )
    return found


def _facts(row: ClosedCase) -> CaseFacts:
    return CaseFacts(
        case_id=row.case_id,
        case_type=row.case_type,
        departments=list(row.departments),
        closed_at=row.closed_at,
        survey_sent=row.survey_sent_at is not None,
        contacted_within_deadline=row.contacted_within_deadline,
        decided_on_or_before_agreed_date=row.decided_on_or_before_agreed_date,
        net_processing_days=row.net_processing_days,
        gross_days=row.gross_days,
        kl_target_days=row.kl_target_days,
    )


async def set_causes(sessions: async_sessionmaker, case_id: str, causes: BreachCauses) -> bool:
    """Record the causes of a closed case's broken promises (only for promises it broke; an
    empty field removes a cause). False when there is no such closed case."""
    async with sessions.begin() as session:
        row = await session.get(ClosedCase, case_id, with_for_update=True)
        if row is None:
            return False
        broken = set(broken_promises(_facts(row)))
        row.breach_causes = {k: v for k, v in causes.recorded().items() if k in broken}
    return True

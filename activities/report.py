"""The monthly report's activities (commitment 10): make the month's report once and store it,
then e-mail it to the business organisations exactly once.

`make_monthly_report` reads the cases closed within the month (and the month before, for the
change), their answers given by the month's end and the staff's tags on their free text (never
the text), renders HTML and PDF and inserts the `monthly_reports` row if there is none: the
first stored report of a month is THE report, a rerun finds it and changes nothing.

`send_monthly_report` follows the outbox pattern of `activities/letters.py`: the outbox row
keyed ("report-YYYY-MM", "report") is written first, then sent under its lock unless already
sent, with the stored PDF attached and a deterministic Message-ID.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import report_figures as rf
from activities.errors import refused_data_is_permanent
from activities.report_render import mail_text, render_html, render_pdf
from db.measurement_models import ClosedCase, MonthlyReport, SurveyAnswer, SurveyComment
from db.models import OutboxLetter
from domain.calendar import COPENHAGEN
from mail.channel import Attachment, LetterChannel, OutgoingLetter, RecipientRefused
from schemas.letters import LetterResult
from schemas.report import ReportMade, month_start, previous_month
from settings import Settings

SCORES = ("overall", "processing_time", "process", "guidance", "coordination", "pre_dialogue")
LETTER_KEY = "report"


def outbox_id(month: str) -> str:
    return f"report-{month}"


def pdf_name(month: str) -> str:
    return f"maanedsrapport-{month}.pdf"


def _instant(day) -> datetime:
    """Midnight at the start of *day*, Copenhagen time."""
    return datetime.combine(day, time(0), tzinfo=COPENHAGEN)


async def month_rows(sessions: async_sessionmaker, month: str):
    """(cases, answers, tag lists) of *month*: cases closed within it, their answers and free
    texts' tags as given by its end."""
    first, following = rf.month_bounds(month)
    start, end = _instant(first), _instant(following)
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(ClosedCase).where(ClosedCase.closed_at >= start, ClosedCase.closed_at < end)
            )
        ).all()
        ids = [r.case_id for r in rows]
        answers = (
            await session.scalars(
                select(SurveyAnswer).where(
                    SurveyAnswer.case_id.in_(ids), SurveyAnswer.answered_at < end
                )
            )
        ).all()
        tags = (
            await session.scalars(
                select(SurveyComment.tags).where(
                    SurveyComment.case_id.in_(ids), SurveyComment.written_at < end
                )
            )
        ).all()
    cases = [
        rf.CaseFacts(
            case_id=r.case_id,
            case_type=r.case_type,
            departments=list(r.departments),
            closed_at=r.closed_at,
            survey_sent=r.survey_sent_at is not None,
            contacted_within_deadline=r.contacted_within_deadline,
            decided_on_or_before_agreed_date=r.decided_on_or_before_agreed_date,
            net_processing_days=r.net_processing_days,
            gross_days=r.gross_days,
            kl_target_days=r.kl_target_days,
            breach_causes=dict(r.breach_causes or {}),
        )
        for r in rows
    ]
    scored = [rf.Answer(a.case_id, {k: getattr(a, k) for k in SCORES}) for a in answers]
    return cases, scored, [sorted(t or []) for t in tags]


async def compute_report_figures(sessions: async_sessionmaker, month: str) -> dict:
    """The report's figures for *month*, with the change since the month before."""
    cases, answers, tags = await month_rows(sessions, month)
    figures = rf.month_figures(month, cases, answers)
    figures["themes"] = rf.themes(tags)
    before = previous_month(month)
    old_cases, old_answers, _ = await month_rows(sessions, before)
    return rf.with_change(figures, rf.month_figures(before, old_cases, old_answers))


class ReportActivities:
    def __init__(self, sessions: async_sessionmaker, channel: LetterChannel, settings: Settings):
        self.sessions = sessions
        self.channel = channel
        self.settings = settings

    @activity.defn(name="make_monthly_report")
    async def make_monthly_report(self, month: str) -> ReportMade:
        first = month_start(month)
        async with self.sessions() as session:
            stored = await session.get(MonthlyReport, first)
        if stored is not None:
            activity.logger.info("monthly report already stored", extra={"month": month})
            return ReportMade(month=month, created=False, cases=stored.figures["cases"])
        figures = await compute_report_figures(self.sessions, month)
        name = self.settings.municipality_name
        html, pdf = render_html(figures, name), render_pdf(figures, name)
        with refused_data_is_permanent(f"monthly report {month}"):
            async with self.sessions.begin() as session:
                result = await session.execute(
                    insert(MonthlyReport)
                    .values(month=first, figures=figures, html=html, pdf=pdf)
                    .on_conflict_do_nothing(index_elements=[MonthlyReport.month])
                    .returning(MonthlyReport.month)
                )
                created = result.first() is not None
        activity.logger.info("monthly report stored", extra={"month": month, "new_report": created})
        return ReportMade(month=month, created=created, cases=figures["cases"])

    def page_url(self, month: str) -> str:
        return f"{self.settings.public_base_url.rstrip('/')}/figures/rapporter/{month}"

    @activity.defn(name="send_monthly_report")
    async def send_monthly_report(self, month: str) -> LetterResult:
        first = month_start(month)
        async with self.sessions() as session:
            report = await session.get(MonthlyReport, first)
        if report is None:
            raise ApplicationError(
                f"monthly report {month} is not stored", type="ReportMissing", non_retryable=True
            )
        subject, body = mail_text(
            report.figures, self.settings.municipality_name, self.page_url(month)
        )
        case_id = outbox_id(month)
        message_id = f"<{case_id}.{LETTER_KEY}@{self.settings.message_id_domain}>"
        recipients = [str(r) for r in self.settings.report_recipients]
        with refused_data_is_permanent(f"monthly report {month}"):
            async with self.sessions.begin() as session:
                await session.execute(
                    insert(OutboxLetter)
                    .values(
                        case_id=case_id,
                        letter_key=LETTER_KEY,
                        kind="monthly_report",
                        recipients=recipients,
                        subject=subject,
                        body=body,
                        message_id=message_id,
                        send_attempts=0,
                    )
                    .on_conflict_do_nothing(
                        index_elements=[OutboxLetter.case_id, OutboxLetter.letter_key]
                    )
                )
        key = (OutboxLetter.case_id == case_id) & (OutboxLetter.letter_key == LETTER_KEY)
        async with self.sessions.begin() as session:
            row = (await session.scalars(select(OutboxLetter).where(key).with_for_update())).one()
            log = {"month": month, "letter_key": LETTER_KEY}
            if row.sent_at is not None:
                activity.logger.info("monthly report already sent", extra=log)
                return LetterResult(message_id=row.message_id, already_sent=True)
            row.send_attempts += 1
            attachment = Attachment(pdf_name(month), "application/pdf", report.pdf)
            letter = OutgoingLetter(
                row.message_id, list(row.recipients), row.subject, row.body, (attachment,)
            )
            try:
                await self.channel.deliver(letter)
            except RecipientRefused as exc:
                raise ApplicationError(
                    f"monthly report {month} was refused by the mail server: {exc}",
                    type="RecipientRefused",
                    non_retryable=True,
                ) from exc
            row.sent_at = datetime.now(UTC)
            await session.execute(
                update(MonthlyReport)
                .where(MonthlyReport.month == first)
                .values(sent_at=row.sent_at)
            )
            activity.logger.info("monthly report sent", extra=log)
            return LetterResult(message_id=row.message_id, already_sent=False)

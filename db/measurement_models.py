"""Tables of the agreement's measurement loop (issue 9, migration 0006): the facts of every
closed case the figures need, the survey's answers (scores apart from free text), the figures
kept current, and the monthly reports. No personal data: see the migration."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import TS, Base


class ClosedCase(Base):
    """One closed case, written once when it closes: what the figures are computed from."""

    __tablename__ = "closed_cases"

    case_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    case_type: Mapped[str] = mapped_column(String(64))
    departments: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    industry_code: Mapped[str | None] = mapped_column(String(6))  # DB07
    closing_reason: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(TS)
    complete_at: Mapped[datetime | None] = mapped_column(TS)
    decided_at: Mapped[datetime | None] = mapped_column(TS)
    closed_at: Mapped[datetime] = mapped_column(TS, index=True)
    agreed_date: Mapped[date | None] = mapped_column(Date)
    contacted_within_deadline: Mapped[bool | None] = mapped_column(Boolean)
    decided_on_or_before_agreed_date: Mapped[bool | None] = mapped_column(Boolean)
    net_processing_days: Mapped[float | None] = mapped_column(Float)
    gross_days: Mapped[float | None] = mapped_column(Float)
    gross_working_days: Mapped[int | None] = mapped_column(Integer)
    kl_target_days: Mapped[int | None] = mapped_column(Integer)
    pre_dialogue_held: Mapped[bool] = mapped_column(Boolean, server_default=false())
    breach_causes: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    survey_sent_at: Mapped[datetime | None] = mapped_column(TS)
    survey_reminded_at: Mapped[datetime | None] = mapped_column(TS)
    survey_closes_at: Mapped[datetime | None] = mapped_column(TS)
    recorded_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class SurveyAnswer(Base):
    """The scores of a case's one answer: 1 (meget utilfreds) .. 5 (meget tilfreds), 0 "ved
    ikke", NULL not asked (the pre-dialogue question only where one was held)."""

    __tablename__ = "survey_answers"

    case_id: Mapped[str] = mapped_column(
        String(80), ForeignKey("closed_cases.case_id", ondelete="CASCADE"), primary_key=True
    )
    overall: Mapped[int | None] = mapped_column(SmallInteger)
    processing_time: Mapped[int | None] = mapped_column(SmallInteger)
    process: Mapped[int | None] = mapped_column(SmallInteger)
    guidance: Mapped[int | None] = mapped_column(SmallInteger)
    coordination: Mapped[int | None] = mapped_column(SmallInteger)
    pre_dialogue: Mapped[int | None] = mapped_column(SmallInteger)
    answered_at: Mapped[datetime] = mapped_column(TS)
    changed_at: Mapped[datetime | None] = mapped_column(TS)
    changes: Mapped[int] = mapped_column(Integer, server_default="0")


class SurveyComment(Base):
    """The answer's free text, apart from the scores; only signed-in staff see it."""

    __tablename__ = "survey_comments"

    case_id: Mapped[str] = mapped_column(
        String(80), ForeignKey("closed_cases.case_id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default="{}")
    written_at: Mapped[datetime] = mapped_column(TS)


class FigureSnapshot(Base):
    """The figures as last computed (when a case closed or an answer arrived)."""

    __tablename__ = "figure_snapshots"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    computed_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    body: Mapped[dict] = mapped_column(JSONB)  # the header (migration 0009): no rows, no cases


class FigureRow(Base):
    """One figure of a snapshot (docs/figures.md): the rows `domain.figures.figure_rows`
    defines, in its order (`position`)."""

    __tablename__ = "figure_rows"

    snapshot_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("figure_snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(16))
    period_type: Mapped[str] = mapped_column(String(16))
    dimension: Mapped[str] = mapped_column(String(32))
    group: Mapped[str] = mapped_column(String(64))
    indicator: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    met: Mapped[bool | None] = mapped_column(Boolean)
    n: Mapped[int] = mapped_column(Integer)
    suppressed: Mapped[bool] = mapped_column(Boolean)


class FigureState(Base):
    """One row: `requested` is bumped by every figures_api.request_refresh, `refreshed` is the
    value the newest snapshot covers; requested > refreshed means the figures are stale."""

    __tablename__ = "figure_state"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    requested: Mapped[int] = mapped_column(BigInteger)
    refreshed: Mapped[int] = mapped_column(BigInteger)


class MonthlyReport(Base):
    """The month's report for the business organisations, made once per month."""

    __tablename__ = "monthly_reports"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    figures: Mapped[dict] = mapped_column(JSONB)
    html: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sent_at: Mapped[datetime | None] = mapped_column(TS)

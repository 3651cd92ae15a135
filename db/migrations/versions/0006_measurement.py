"""The agreement's measurement loop (issue 9): the facts of every closed case the figures need,
the survey's answers (scores apart from free text), the figures kept current, and the monthly
reports.

No personal data: a case is known by its workflow id and reference; the answers hold scores,
and the free text is kept in its own table, shown only to staff.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # One row per closed case, written once when the case closes (by its survey workflow).
    op.create_table(
        "closed_cases",
        sa.Column("case_id", sa.String(80), primary_key=True),
        sa.Column("reference", sa.String(64), nullable=False, unique=True),
        sa.Column("case_type", sa.String(64), nullable=False),
        sa.Column("departments", postgresql.ARRAY(sa.String(32)), nullable=False),
        sa.Column("industry_code", sa.String(6), nullable=True),  # DB07, e.g. "412000"
        sa.Column("closing_reason", sa.String(32), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("complete_at", TS, nullable=True),  # "fuldt oplyst" (KL's clock starts)
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("closed_at", TS, nullable=False),
        sa.Column("agreed_date", sa.Date(), nullable=True),
        sa.Column("contacted_within_deadline", sa.Boolean(), nullable=True),
        sa.Column("decided_on_or_before_agreed_date", sa.Boolean(), nullable=True),
        sa.Column("net_processing_days", sa.Float(), nullable=True),  # KL clock, calendar days
        sa.Column("gross_days", sa.Float(), nullable=True),  # receipt -> closing, calendar days
        sa.Column("gross_working_days", sa.Integer(), nullable=True),
        sa.Column("kl_target_days", sa.Integer(), nullable=True),
        sa.Column("pre_dialogue_held", sa.Boolean(), nullable=False, server_default=sa.false()),
        # Why a promise was broken, as recorded by staff (a short code or sentence, no names).
        sa.Column("breach_causes", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("survey_sent_at", TS, nullable=True),
        sa.Column("survey_reminded_at", TS, nullable=True),
        sa.Column("survey_closes_at", TS, nullable=True),
        sa.Column("recorded_at", TS, server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_closed_cases_closed_at", "closed_cases", ["closed_at"])

    # One answer per case; a change overwrites the scores (answered_at stays the first time).
    # A score is 1 (meget utilfreds) .. 5 (meget tilfreds); 0 is "ved ikke"; NULL not asked.
    op.create_table(
        "survey_answers",
        sa.Column(
            "case_id",
            sa.String(80),
            sa.ForeignKey("closed_cases.case_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("overall", sa.SmallInteger(), nullable=True),
        sa.Column("processing_time", sa.SmallInteger(), nullable=True),
        sa.Column("process", sa.SmallInteger(), nullable=True),
        sa.Column("guidance", sa.SmallInteger(), nullable=True),
        sa.Column("coordination", sa.SmallInteger(), nullable=True),
        sa.Column("pre_dialogue", sa.SmallInteger(), nullable=True),
        sa.Column("answered_at", TS, nullable=False),
        sa.Column("changed_at", TS, nullable=True),
        sa.Column("changes", sa.Integer(), nullable=False, server_default="0"),
    )
    # The free text, apart from the scores: shown only to signed-in staff; tags by staff.
    op.create_table(
        "survey_comments",
        sa.Column(
            "case_id",
            sa.String(80),
            sa.ForeignKey("closed_cases.case_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.String(40)), nullable=False, server_default="{}"),
        sa.Column("written_at", TS, nullable=False),
    )
    # The figures, kept current: recomputed when a case closes or an answer arrives (never per
    # page view); the newest row is what the pages, CSV and JSON show.
    op.create_table(
        "figure_snapshots",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("computed_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("body", postgresql.JSONB(), nullable=False),
    )
    # The monthly report for the business organisations (commitment 10): one per month.
    op.create_table(
        "monthly_reports",
        sa.Column("month", sa.Date(), primary_key=True),  # the first day of the month
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("figures", postgresql.JSONB(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("sent_at", TS, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("monthly_reports")
    op.drop_table("figure_snapshots")
    op.drop_table("survey_comments")
    op.drop_table("survey_answers")
    op.drop_index("ix_closed_cases_closed_at", "closed_cases")
    op.drop_table("closed_cases")

"""The case's life: material, clock ledger, agreed date, pre-dialogue, reviews, closing figures.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
EMPTY_JSON = sa.text("'[]'::jsonb")


def upgrade() -> None:
    add = lambda *args, **kw: op.add_column("cases", sa.Column(*args, **kw))
    add("sustainability_level", sa.Integer(), nullable=True)
    add("missing_material", postgresql.ARRAY(sa.String(80)), nullable=False, server_default="{}")
    add("complete_at", TS, nullable=True)
    add("agreed_date", sa.Date(), nullable=True)
    add("clock", postgresql.JSONB(), nullable=False, server_default=EMPTY_JSON)
    add("pre_dialogues", postgresql.JSONB(), nullable=False, server_default=EMPTY_JSON)
    add("nbe_offer_sent", sa.Boolean(), nullable=False, server_default=sa.false())
    add("nbe_accepted", sa.Boolean(), nullable=True)
    add("reviews", postgresql.JSONB(), nullable=False, server_default=EMPTY_JSON)
    add("late_reviews", sa.Integer(), nullable=False, server_default="0")
    add("decided_at", TS, nullable=True)
    add("decided_on_time", sa.Boolean(), nullable=True)
    add("closing_reason", sa.String(40), nullable=True)
    add("closed_at", TS, nullable=True)
    add("gross_working_days", sa.Integer(), nullable=True)
    add("net_processing_days", sa.Float(), nullable=True)
    add("waiting_days", sa.Float(), nullable=True)
    add("survey_sent", sa.Boolean(), nullable=False, server_default=sa.false())
    op.create_index("ix_cases_closing_reason", "cases", ["closing_reason"])
    op.create_index("ix_cases_history", "cases", ["case_type", "closed_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_history", "cases")
    op.drop_index("ix_cases_closing_reason", "cases")
    for column in (
        "survey_sent",
        "waiting_days",
        "net_processing_days",
        "gross_working_days",
        "closed_at",
        "closing_reason",
        "decided_on_time",
        "decided_at",
        "late_reviews",
        "reviews",
        "nbe_accepted",
        "nbe_offer_sent",
        "pre_dialogues",
        "clock",
        "agreed_date",
        "complete_at",
        "missing_material",
        "sustainability_level",
    ):
        op.drop_column("cases", column)

"""Foundation: case projection, audit trail, letter outbox, caseworker directory.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(80), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False, unique=True),
        sa.Column("case_type", sa.String(40), nullable=False),
        sa.Column("departments", postgresql.ARRAY(sa.String(20)), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("company_cvr", sa.String(8), nullable=False),
        sa.Column("company_name", sa.String(200), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("contact_deadline", TS, nullable=False),
        sa.Column("caseworker_id", sa.String(16), nullable=True),
        sa.Column("contacted_at", TS, nullable=True),
        sa.Column("contact_breached", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_cases_case_type", "cases", ["case_type"])
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_index("ix_cases_company_cvr", "cases", ["company_cvr"])

    op.create_table(
        "case_events",
        sa.Column("case_id", sa.String(80), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.Column("recorded_at", TS, server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_case_events_kind", "case_events", ["kind"])

    op.create_table(
        "outbox",
        sa.Column("case_id", sa.String(80), primary_key=True),
        sa.Column("letter_key", sa.String(80), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("recipients", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(250), nullable=False, unique=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("send_attempts", sa.Integer(), nullable=False),
    )

    op.create_table(
        "caseworkers",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("departments", postgresql.ARRAY(sa.String(20)), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("caseworkers")
    op.drop_table("outbox")
    op.drop_table("case_events")
    op.drop_table("cases")

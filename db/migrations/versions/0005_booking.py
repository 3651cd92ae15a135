"""The web entry's booking tables (issue 8): pre-dialogue bookings before any application,
the caseworkers' offered hours, and a calendar invitation beside a letter in the outbox.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pre_dialogue_bookings",
        sa.Column("booking_id", sa.String(16), primary_key=True),
        sa.Column("request_id", sa.String(80), nullable=False, unique=True),
        sa.Column("caseworker_id", sa.String(16), nullable=False),
        sa.Column("caseworker_name", sa.String(200), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("place", sa.Text, nullable=False),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("departments", postgresql.ARRAY(sa.String(20)), nullable=False),
        sa.Column("company_cvr", sa.String(8), nullable=False),
        sa.Column("company_name", sa.String(200), nullable=False),
        sa.Column("contact_name", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(320), nullable=False),
        sa.Column("contact_phone", sa.String(40), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("sequence", sa.Integer, nullable=False, server_default="0"),
        sa.Column("case_reference", sa.String(64)),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("cancelled_at", TS),
        sa.Column("held_at", TS),
    )
    for column in ("caseworker_id", "company_cvr"):
        op.create_index(f"ix_pre_dialogue_bookings_{column}", "pre_dialogue_bookings", [column])
    op.create_index(
        "uq_pre_dialogue_bookings_active_slot",
        "pre_dialogue_bookings",
        ["caseworker_id", "starts_at"],
        unique=True,
        postgresql_where=sa.text("cancelled_at IS NULL"),
    )
    op.add_column(
        "caseworkers",
        sa.Column(
            "offered_hours", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'")
        ),
    )
    op.add_column("outbox", sa.Column("calendar", sa.Text))


def downgrade() -> None:
    op.drop_column("outbox", "calendar")
    op.drop_column("caseworkers", "offered_hours")
    op.drop_index("uq_pre_dialogue_bookings_active_slot", table_name="pre_dialogue_bookings")
    op.drop_table("pre_dialogue_bookings")

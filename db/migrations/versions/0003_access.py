"""Access for case systems: API keys (stored hashed), the idempotency store of case starts,
and who started each case.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
    )
    # At most one active key per case system; revoked keys stay as rows.
    op.create_index(
        "uq_api_keys_active_name",
        "api_keys",
        ["name"],
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
    )

    op.create_table(
        "case_requests",
        sa.Column("caller", sa.String(64), primary_key=True),
        sa.Column("idempotency_key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_case_requests_reference", "case_requests", ["reference"])

    op.create_table(
        "case_owners",
        sa.Column("reference", sa.String(64), primary_key=True),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("started_at", TS, server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_case_owners_caller", "case_owners", ["caller"])


def downgrade() -> None:
    op.drop_table("case_owners")
    op.drop_table("case_requests")
    op.drop_index("uq_api_keys_active_name", "api_keys")
    op.drop_table("api_keys")

"""The web entry's company tables (issue 8): the case page's signed links, uploaded material
files and the page's audit trail.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "company_links",
        sa.Column("link_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(80), nullable=False),
        sa.Column("letter_key", sa.String(80), nullable=False),
        sa.Column("issued_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
    )
    op.create_index("ix_company_links_case_id", "company_links", ["case_id"])

    op.create_table(
        "material_files",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("case_id", sa.String(80), nullable=False),
        sa.Column("material_code", sa.String(80), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(80), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("stored_name", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(80), nullable=False, unique=True),
        sa.Column("uploaded_at", TS, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "(content IS NULL) <> (stored_name IS NULL)", name="ck_material_files_one_store"
        ),
    )
    op.create_index("ix_material_files_case_id", "material_files", ["case_id"])

    op.create_table(
        "web_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("data", JSONB(), nullable=False),
    )
    op.create_index("ix_web_audit_case_id", "web_audit", ["case_id"])


def downgrade() -> None:
    op.drop_table("web_audit")
    op.drop_table("material_files")
    op.drop_table("company_links")

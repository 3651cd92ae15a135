"""Erasure by crypto-shredding, the groundwork (issue 10, item 3): each case's data key,
wrapped by the payload keyring, and the audit of erasures (db/personal_models.py).

No personal data: a wrapped key is ciphertext (nonce || sealed 32-byte key, 60 bytes; empty
once erased), an erasure holds the case id, who erased it and a short reason.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_data_keys",
        sa.Column("case_id", sa.String(80), primary_key=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("kek_id", sa.String(64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(erased_at IS NULL AND length(wrapped_key) = 60)"
            " OR (erased_at IS NOT NULL AND length(wrapped_key) = 0)",
            name="ck_case_data_keys_key_or_erased",
        ),
    )
    op.create_table(
        "erasures",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("case_id", sa.String(80), nullable=False, unique=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erasures")
    op.drop_table("case_data_keys")

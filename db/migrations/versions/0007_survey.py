"""The survey's answer requests (issue 9): each posted answer's request id, so a form sent
twice (a double click, a reload) is one answer and not a counted change.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_answer_requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column(
            "case_id",
            sa.String(80),
            sa.ForeignKey("closed_cases.case_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("survey_answer_requests")

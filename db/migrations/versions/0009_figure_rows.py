"""The figures at scale (issue 11, M5/M6): a snapshot's rows in their own table
(`figure_rows`, the body keeps only the header) and the one-row `figure_state` whose counter
marks the figures stale, so refreshes are coalesced (figures_api.request_refresh).

Old snapshots (their rows and every published case inside the JSONB body) are deleted here,
and the figures are marked stale: the next closing, answer or `figures_api.refresh` writes a
new snapshot (until then /figures says there are no figures yet). No personal data.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM figure_snapshots")
    op.create_table(
        "figure_rows",
        sa.Column(
            "snapshot_id",
            sa.BigInteger(),
            sa.ForeignKey("figure_snapshots.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), primary_key=True),  # the order figure_rows gives
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("period_type", sa.String(16), nullable=False),
        sa.Column("dimension", sa.String(32), nullable=False),
        sa.Column("group", sa.String(64), nullable=False),
        sa.Column("indicator", sa.String(64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("met", sa.Boolean(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_figure_rows_period", "figure_rows", ["snapshot_id", "period"])
    op.create_index(
        "ix_figure_rows_type_dimension",
        "figure_rows",
        ["snapshot_id", "period_type", "dimension"],
    )
    op.create_table(
        "figure_state",
        sa.Column("id", sa.SmallInteger(), primary_key=True),
        sa.Column("requested", sa.BigInteger(), nullable=False),  # bumped by every request
        sa.Column("refreshed", sa.BigInteger(), nullable=False),  # the mark the newest covers
        sa.CheckConstraint("id = 1", name="ck_figure_state_one_row"),
    )
    op.execute("INSERT INTO figure_state (id, requested, refreshed) VALUES (1, 1, 0)")


def downgrade() -> None:
    op.drop_table("figure_state")
    op.drop_index("ix_figure_rows_type_dimension", "figure_rows")
    op.drop_index("ix_figure_rows_period", "figure_rows")
    op.drop_table("figure_rows")
    op.execute("DELETE FROM figure_snapshots")  # the old code reads rows from the body

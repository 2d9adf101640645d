"""qualifier: when each published lead view falls due with no new event, and where in the log the
changelog's sweep looked at a lead (so a replay looks at the same point)

Revision ID: q0010
Revises: q0009
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "q0010"
down_revision = "q0009"
branch_labels = None
depends_on = None

S = "qualifier"


def upgrade() -> None:
    op.add_column("lead_changelog", sa.Column("due_at", sa.DateTime(timezone=True)), schema=S)
    op.create_index(
        "lead_changelog_due",
        "lead_changelog",
        ["due_at"],
        schema=S,
        postgresql_where=sa.text("due_at IS NOT NULL"),
    )
    # `seq` is drawn from the event log's own sequence: the replay merges both in one order
    op.create_table(
        "sweeps",
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("lead_id", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("sweeps", schema=S)
    op.drop_index("lead_changelog_due", table_name="lead_changelog", schema=S)
    op.drop_column("lead_changelog", "due_at", schema=S)

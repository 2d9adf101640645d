"""qualifier: when each published lead view falls due with no new event, and how far each partition's
due views were swept (the lead-state changelog's decay sweep)

Revision ID: q0010
Revises: q0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "q0010"
down_revision = "q0008"
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
    op.add_column("offsets", sa.Column("swept_until", sa.DateTime(timezone=True)), schema=S)


def downgrade() -> None:
    op.drop_column("offsets", "swept_until", schema=S)
    op.drop_index("lead_changelog_due", table_name="lead_changelog", schema=S)
    op.drop_column("lead_changelog", "due_at", schema=S)

"""qualifier: the view last published on lead.state per lead (the lead-state changelog)

Revision ID: q0008
Revises: q0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "q0008"
down_revision = "q0007"
branch_labels = None
depends_on = None

S = "qualifier"


def upgrade() -> None:
    op.create_table(
        "lead_changelog",
        sa.Column("lead_id", sa.Text, primary_key=True),
        sa.Column("view", JSONB, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("lead_changelog", schema=S)

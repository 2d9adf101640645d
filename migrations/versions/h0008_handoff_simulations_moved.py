"""handoff: policy simulations moved to the qualifier (qualifier.jobs); the handoff's table goes

Revision ID: h0008
Revises: h0007
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "h0008"
down_revision = "h0007"
branch_labels = None
depends_on = None

S = "handoff"


def upgrade() -> None:
    # The lab runs in the qualifier, which owns the event log it replays: /v1/policy/simulations on the
    # handoff forwards there. A job's report is a view of the history, posted again in seconds: not kept.
    op.drop_table("simulations", schema=S)


def downgrade() -> None:
    op.create_table(
        "simulations",
        sa.Column("simulation_id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("candidate_version", sa.Text, nullable=False),
        sa.Column("baseline_version", sa.Text, nullable=False),
        sa.Column("candidate", sa.Text, nullable=False),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("report", JSONB),
        sa.Column("error", sa.Text),
        schema=S,
    )

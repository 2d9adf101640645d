"""handoff: policy simulations (the policy lab's jobs and their reports)

Revision ID: h0003
Revises: h0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "h0003"
down_revision = "h0002"
branch_labels = None
depends_on = None

S = "handoff"


def upgrade() -> None:
    # One row per POST /v1/policy/simulations; the report is written once, when the job is done.
    op.create_table(
        "simulations",
        sa.Column("simulation_id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),  # queued | running | done | failed
        sa.Column("candidate_version", sa.Text, nullable=False),
        sa.Column("baseline_version", sa.Text, nullable=False),
        sa.Column("candidate", sa.Text, nullable=False),  # the YAML as posted
        sa.Column("requested_by", sa.Text, nullable=False),  # hash of the API key
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("report", JSONB),
        sa.Column("error", sa.Text),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("simulations", schema=S)

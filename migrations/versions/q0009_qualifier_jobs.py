"""qualifier: background jobs of its HTTP API (policy simulations; one table for every kind of job)

Revision ID: q0009
Revises: q0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "q0009"
down_revision = "q0008"
branch_labels = None
depends_on = None

S = "qualifier"


def upgrade() -> None:
    # One row per accepted job; `result` is written once, when it is done. What a kind needs to run
    # (a candidate policy's YAML, its version) is in `params`, so a new kind needs no new table.
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),  # simulation | …
        sa.Column("status", sa.Text, nullable=False),  # queued | running | done | failed
        sa.Column("params", JSONB, nullable=False),
        sa.Column("requested_by", sa.Text, nullable=False),  # hash of the API key
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("result", JSONB),
        sa.Column("error", sa.Text),
        schema=S,
    )
    op.create_index("jobs_kind_created", "jobs", ["kind", "created_at"], schema=S)


def downgrade() -> None:
    op.drop_table("jobs", schema=S)

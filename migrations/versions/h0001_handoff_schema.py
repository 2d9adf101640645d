"""handoff schema: MQL projection, decisions, outbox, processed events

Revision ID: h0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from services.common.tables import create_common_tables

revision = "h0001"
down_revision = None
branch_labels = ("handoff",)
depends_on = None

S = "handoff"


def upgrade() -> None:
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {S}")
    op.create_table(
        "mqls",
        sa.Column("mql_id", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, nullable=False, unique=True),
        sa.Column("lead_id", sa.Text, nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("policy_version", sa.Text, nullable=False),
        sa.Column("qualified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("projected_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.create_index("ix_mqls_lead", "mqls", ["lead_id"], schema=S)
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.Text, primary_key=True),
        sa.Column("mql_id", sa.Text, nullable=False, unique=True),
        sa.Column("lead_id", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("reason_code", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", JSONB, nullable=False),
        schema=S,
    )
    create_common_tables(S)


def downgrade() -> None:
    op.execute(f"DROP SCHEMA IF EXISTS {S} CASCADE")

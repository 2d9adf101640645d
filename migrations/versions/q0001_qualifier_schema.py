"""qualifier schema: event log, leads, identities, outbox, processed events

Revision ID: q0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from services.common.tables import create_common_tables

revision = "q0001"
down_revision = None
branch_labels = ("qualifier",)
depends_on = None

S = "qualifier"


def upgrade() -> None:
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {S}")
    op.create_table(
        "leads",
        sa.Column("lead_id", sa.Text, primary_key=True),
        sa.Column("stage", sa.Text, nullable=False, server_default="anonymous"),
        sa.Column("episode", sa.Integer, nullable=False, server_default="0"),
        sa.Column("user_id", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("merged_into", sa.Text),
        sa.Column("state", JSONB, nullable=False, server_default="{}"),
        sa.Column("last_activity_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.create_table(
        "identities",
        sa.Column("identity", sa.Text, primary_key=True),
        sa.Column("lead_id", sa.Text, nullable=False),
        schema=S,
    )
    op.create_index("ix_identities_lead", "identities", ["lead_id"], schema=S)
    op.create_table(
        "events",
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("lead_id", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("user_id", sa.Text),
        sa.Column("anonymous_id", sa.Text),
        sa.Column("data", JSONB, nullable=False),
        schema=S,
    )
    op.create_index("ix_events_lead_time", "events", ["lead_id", "occurred_at"], schema=S)
    create_common_tables(S)


def downgrade() -> None:
    op.execute(f"DROP SCHEMA IF EXISTS {S} CASCADE")

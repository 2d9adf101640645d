"""handoff: indexes for the retention pruning (processed envelope ids by consumer and time, Idempotency-Key
answers by time), so the hourly delete reads only the expired rows instead of the whole table

Revision ID: h0007
Revises: h0004
Create Date: 2026-12-02
"""

from alembic import op

revision = "h0007"
down_revision = "h0004"
branch_labels = None
depends_on = None

S = "handoff"


def upgrade() -> None:
    op.create_index(
        "processed_events_consumer_processed_at",
        "processed_events",
        ["consumer", "processed_at"],
        schema=S,
        if_not_exists=True,
    )
    op.create_index(
        "idempotency_keys_created_at", "idempotency_keys", ["created_at"], schema=S, if_not_exists=True
    )


def downgrade() -> None:
    op.drop_index("idempotency_keys_created_at", table_name="idempotency_keys", schema=S)
    op.drop_index("processed_events_consumer_processed_at", table_name="processed_events", schema=S)

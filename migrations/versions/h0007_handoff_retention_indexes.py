"""handoff: indexes for the retention pruning (processed envelope ids by consumer and time, Idempotency-Key
answers by time), so the hourly delete reads only the expired rows instead of the whole table

Revision ID: h0007
Revises: h0005
Create Date: 2026-12-02
"""

from alembic import op

from services.common.tables import create_processed_retention_index, drop_processed_retention_index

revision = "h0007"
down_revision = "h0005"
branch_labels = None
depends_on = None

S = "handoff"


def upgrade() -> None:
    create_processed_retention_index(S)
    op.create_index(
        "idempotency_keys_created_at", "idempotency_keys", ["created_at"], schema=S, if_not_exists=True
    )


def downgrade() -> None:
    op.drop_index("idempotency_keys_created_at", table_name="idempotency_keys", schema=S)
    drop_processed_retention_index(S)

"""qualifier: an index for the retention pruning of processed envelope ids (by consumer and time), so the
hourly delete reads only the expired rows instead of the whole table

Revision ID: q0007
Revises: q0003
Create Date: 2026-12-02
"""

from alembic import op

revision = "q0007"
down_revision = "q0003"
branch_labels = None
depends_on = None

S = "qualifier"


def upgrade() -> None:
    op.create_index(
        "processed_events_consumer_processed_at",
        "processed_events",
        ["consumer", "processed_at"],
        schema=S,
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("processed_events_consumer_processed_at", table_name="processed_events", schema=S)

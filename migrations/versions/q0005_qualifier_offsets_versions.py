"""qualifier: consumed offsets stored with the state, a version per lead, the partition that owns it

`offsets`: the next offset to read per (group, topic, partition), written in the transaction that
applied the records before it; a member seeks to it on assignment, and a write that does not find the
offset the member started from is refused (a zombie member, or one whose partition moved meanwhile).
`leads.version`: drawn from a sequence on every write; a member writes a cached lead only where the
version is still the one it read, so a stale cache never overwrites newer state. `leads.partition`: the
`lead.events` partition whose event last touched the lead, for loading a partition's leads in bulk.

Revision ID: q0005
Revises: q0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "q0005"
down_revision = "q0003"
branch_labels = None
depends_on = None

S = "qualifier"


def upgrade() -> None:
    op.create_table(
        "offsets",
        sa.Column("group_id", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("group_id", "topic", "partition"),
        schema=S,
    )
    op.execute(f"CREATE SEQUENCE {S}.lead_versions")
    op.add_column(
        "leads",
        sa.Column(
            "version",
            sa.BigInteger,
            nullable=False,
            server_default=sa.text(f"nextval('{S}.lead_versions')"),
        ),
        schema=S,
    )
    op.add_column("leads", sa.Column("partition", sa.Integer), schema=S)
    op.create_index("ix_leads_partition", "leads", ["partition"], schema=S)


def downgrade() -> None:
    op.drop_index("ix_leads_partition", table_name="leads", schema=S)
    op.drop_column("leads", "partition", schema=S)
    op.drop_column("leads", "version", schema=S)
    op.execute(f"DROP SEQUENCE {S}.lead_versions")
    op.drop_table("offsets", schema=S)

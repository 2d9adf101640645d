"""qualifier: accounts (buying groups), their members and the MQA register (issue 18)

Revision ID: q0011
Revises: q0010
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "q0011"
down_revision = "q0010"
branch_labels = None
depends_on = None

S = "qualifier"


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("mqa_at", sa.DateTime(timezone=True)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("attributes", JSONB, nullable=False, server_default="{}"),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        schema=S,
    )
    # one row per lead that belongs to an account: a lead is in at most one
    op.create_table(
        "account_members",
        sa.Column("lead_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("member", JSONB, nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index(
        "account_members_recent", "account_members", ["account_id", sa.text("last_activity_at DESC")], schema=S
    )
    # (account_id, episode) is unique: an account episode can never fire twice
    op.create_table(
        "mqas",
        sa.Column("mqa_id", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("policy_version", sa.Text, nullable=False),
        sa.Column("qualified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.UniqueConstraint("account_id", "episode"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("mqas", schema=S)
    op.drop_index("account_members_recent", "account_members", schema=S)
    op.drop_table("account_members", schema=S)
    op.drop_table("accounts", schema=S)

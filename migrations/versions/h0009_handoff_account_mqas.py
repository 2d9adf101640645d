"""handoff: the MQA inbox (account qualifications projected from lead.mql), decisions on MQAs, and the
account of each person MQL (issue 18)

Revision ID: h0009
Revises: h0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "h0009"
down_revision = "h0008"
branch_labels = None
depends_on = None

S = "handoff"


def upgrade() -> None:
    op.create_table(
        "mqas",
        sa.Column("mqa_id", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, nullable=False, unique=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("policy_version", sa.Text, nullable=False),
        sa.Column("qualified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("projected_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("topics", ARRAY(sa.Text), nullable=False),
        sa.Column("decision_id", sa.Text),  # NULL: open, in the MQA inbox
        schema=S,
    )
    op.create_index("mqas_open", "mqas", ["qualified_at", "mqa_id"], schema=S, postgresql_where="decision_id IS NULL")
    op.create_index("mqas_account", "mqas", ["account_id", "episode"], schema=S)
    op.create_table(
        "account_decisions",
        sa.Column("decision_id", sa.Text, primary_key=True),
        sa.Column("mqa_id", sa.Text, sa.ForeignKey(f"{S}.mqas.mqa_id"), nullable=False, unique=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("reason_code", sa.Text, nullable=False),
        sa.Column("reason_label", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("time_to_decision_s", sa.Float, nullable=False),
        sa.Column("data", JSONB, nullable=False),
        schema=S,
    )
    op.create_index("account_decisions_account", "account_decisions", ["account_id"], schema=S)
    op.add_column("mqls", sa.Column("account_id", sa.Text), schema=S)
    op.create_index("mqls_account", "mqls", ["account_id"], schema=S)


def downgrade() -> None:
    op.drop_index("mqls_account", "mqls", schema=S)
    op.drop_column("mqls", "account_id", schema=S)
    op.drop_table("account_decisions", schema=S)
    op.drop_table("mqas", schema=S)

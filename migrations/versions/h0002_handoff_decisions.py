"""handoff: inbox columns on mqls, decision details for the funnel, idempotency keys

Revision ID: h0002
Revises: h0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "h0002"
down_revision = "h0001"
branch_labels = None
depends_on = None

S = "handoff"


def upgrade() -> None:
    # The MQL's top interest (for group_by=topic) and all its interest topics (for the inbox filter).
    op.add_column("mqls", sa.Column("topic", sa.Text), schema=S)
    op.add_column("mqls", sa.Column("topics", ARRAY(sa.Text), nullable=False, server_default="{}"), schema=S)
    # Set in the decision's transaction; NULL means the MQL is open (in the inbox).
    op.add_column("mqls", sa.Column("decision_id", sa.Text), schema=S)
    op.create_index(
        "ix_mqls_open",
        "mqls",
        ["qualified_at", "mql_id"],
        schema=S,
        postgresql_where=sa.text("decision_id IS NULL"),
    )
    op.create_index("ix_mqls_lead_episode", "mqls", ["lead_id", "episode"], schema=S)
    op.create_index("ix_mqls_qualified", "mqls", ["qualified_at"], schema=S)

    op.add_column("decisions", sa.Column("episode", sa.Integer, nullable=False, server_default="1"), schema=S)
    op.add_column(
        "decisions", sa.Column("reason_label", sa.Text, nullable=False, server_default=""), schema=S
    )
    op.add_column(
        "decisions", sa.Column("time_to_decision_s", sa.Float, nullable=False, server_default="0"), schema=S
    )
    op.create_foreign_key(
        "fk_decisions_mql", "decisions", "mqls", ["mql_id"], ["mql_id"], source_schema=S, referent_schema=S
    )
    op.create_index("ix_decisions_lead", "decisions", ["lead_id"], schema=S)

    # Idempotency-Key answers, per API key (stored hashed), written in the decision's transaction.
    op.create_table(
        "idempotency_keys",
        sa.Column("key_hash", sa.Text, primary_key=True),
        sa.Column("request_hash", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("response", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys", schema=S)
    op.drop_index("ix_decisions_lead", "decisions", schema=S)
    op.drop_constraint("fk_decisions_mql", "decisions", schema=S)
    for column in ("time_to_decision_s", "reason_label", "episode"):
        op.drop_column("decisions", column, schema=S)
    for index in ("ix_mqls_qualified", "ix_mqls_lead_episode", "ix_mqls_open"):
        op.drop_index(index, "mqls", schema=S)
    for column in ("decision_id", "topics", "topic"):
        op.drop_column("mqls", column, schema=S)

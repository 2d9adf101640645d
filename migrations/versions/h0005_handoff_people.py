"""handoff: personal accounts, server-side console sessions, login failures, the audit trail, key usage

Revision ID: h0005
Revises: h0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "h0005"
down_revision = "h0004"
branch_labels = None
depends_on = None

S = "handoff"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("email", sa.Text, nullable=False, unique=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("set_password_hash", sa.Text),  # sha256 of the one-time link's token
        sa.Column("set_password_until", TS),
        sa.Column("disabled_at", TS),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        schema=S,
    )
    op.create_table(
        "console_sessions",
        sa.Column("session_hash", sa.Text, primary_key=True),  # sha256 of the id in the cookie
        sa.Column("user_id", sa.Text, sa.ForeignKey(f"{S}.users.user_id"), nullable=False, index=True),
        sa.Column("address", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
        schema=S,
    )
    op.create_table(
        "login_failures",
        sa.Column("failure_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("email", sa.Text, nullable=False, index=True),
        sa.Column("address", sa.Text, nullable=False, index=True),
        sa.Column("at", TS, nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.create_table(
        "audit",
        sa.Column("audit_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("address", sa.Text),
        sa.Column("detail", JSONB, nullable=False),
        schema=S,
    )
    op.create_index("audit_at", "audit", ["at"], schema=S)
    # Append-only: a row is never changed; only the retention's DELETE of old rows removes any.
    op.execute(
        f"CREATE FUNCTION {S}.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'handoff.audit is append-only'; END $$"
    )
    op.execute(
        f"CREATE TRIGGER audit_append_only BEFORE UPDATE OR TRUNCATE ON {S}.audit "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {S}.audit_append_only()"
    )
    op.create_table(
        "key_usage",
        sa.Column("key_id", sa.Text, primary_key=True),  # sha256 of the API key
        sa.Column("last_used_at", TS, nullable=False),
        sa.Column("last_address", sa.Text),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("key_usage", schema=S)
    op.execute(f"DROP TRIGGER audit_append_only ON {S}.audit")
    op.execute(f"DROP FUNCTION {S}.audit_append_only()")
    op.drop_table("audit", schema=S)
    op.drop_table("login_failures", schema=S)
    op.drop_table("console_sessions", schema=S)
    op.drop_table("users", schema=S)

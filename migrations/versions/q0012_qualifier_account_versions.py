"""qualifier: a version per account and per account member, for the members' account caches

`accounts.version`: drawn from a sequence on every write of the account or of one of its members; a
member uses its cached copy of an account only where the version it locks is still the one it cached,
so a stale cache (another member wrote the account through a lead on its own partition) never decides
nor overwrites anything. `account_members.version`: the account's version when the member row was
written, so a stale copy is brought up to date by reading only the members written since.

Revision ID: q0012
Revises: q0011
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "q0012"
down_revision = "q0011"
branch_labels = None
depends_on = None

S = "qualifier"


def upgrade() -> None:
    op.execute(f"CREATE SEQUENCE {S}.account_versions")
    for table in ("accounts", "account_members"):
        op.add_column(
            table,
            sa.Column(
                "version",
                sa.BigInteger,
                nullable=False,
                server_default=sa.text(f"nextval('{S}.account_versions')"),
            ),
            schema=S,
        )


def downgrade() -> None:
    for table in ("account_members", "accounts"):
        op.drop_column(table, "version", schema=S)
    op.execute(f"DROP SEQUENCE {S}.account_versions")

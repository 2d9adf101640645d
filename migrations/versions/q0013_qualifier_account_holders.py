"""qualifier: each account's company holders, so a large account is read to its most active members only

`accounts.holders`: per company attribute group (group, company, industry, company_size), the lead whose
traits describe the account (`describe_company` in the policy core). With them and the most recently
active members (those the account rules read), a transaction loads a few hundred members of an account
of thousands and still computes what the whole account would (services/qualifier/account_store.py).
NULL (accounts written before this revision): unknown, the account is read whole once and they are set.

Revision ID: q0013
Revises: q0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "q0013"
down_revision = "q0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("holders", JSONB), schema="qualifier")


def downgrade() -> None:
    op.drop_column("accounts", "holders", schema="qualifier")

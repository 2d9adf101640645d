"""The qualifier's tables (schema `qualifier`), mapped for queries; migrations create them."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from services.common.tables import outbox_table, processed_table

SCHEMA = "qualifier"
metadata = MetaData(schema=SCHEMA)

leads = Table(
    "leads",
    metadata,
    Column("lead_id", Text, primary_key=True),
    Column("stage", Text, nullable=False),
    Column("episode", Integer, nullable=False),
    Column("user_id", Text),
    Column("email", Text),
    Column("merged_into", Text),
    Column("state", JSON, nullable=False),  # json, not jsonb: written and read whole (q0003)
    Column("last_activity_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
    Column("version", BigInteger),  # drawn from qualifier.lead_versions on every write (q0005)
    Column("partition", Integer),  # the lead.events partition that last touched it
)

identities = Table(
    "identities",
    metadata,
    Column("identity", Text, primary_key=True),
    Column("lead_id", Text, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("lead_id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("name", Text),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("stored_at", DateTime(timezone=True)),
    Column("user_id", Text),
    Column("anonymous_id", Text),
    Column("data", JSON, nullable=False),
    Column("seq", BigInteger),  # the order the worker applied events in (generated); replay follows it
)

# One row per MQL ever emitted: (lead_id, episode) is unique, so an episode can never fire twice.
mqls = Table(
    "mqls",
    metadata,
    Column("mql_id", Text, primary_key=True),
    Column("lead_id", Text, nullable=False),
    Column("episode", Integer, nullable=False),
    Column("rule", Text, nullable=False),
    Column("policy_version", Text, nullable=False),
    Column("qualified_at", DateTime(timezone=True), nullable=False),
    Column("data", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True)),
)

# The view last published on lead.state per lead (services/qualifier/changelog.py): what the next
# change is compared with, and when, in event time.
lead_changelog = Table(
    "lead_changelog",
    metadata,
    Column("lead_id", Text, primary_key=True),
    Column("view", JSONB, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True)),  # when to look again with no new event (decay.py)
)

# where each partition's consumption stands: written with the state it produced (q0005)
offsets = Table(
    "offsets",
    metadata,
    Column("group_id", Text, primary_key=True),
    Column("topic", Text, primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True)),
)

# where the changelog's sweep looked at a lead's due view (sweep.py): `seq` from the event log's sequence,
# so `leadstate replay` looks at the same point of the log (q0010)
sweeps = Table(
    "sweeps",
    metadata,
    Column("seq", BigInteger, primary_key=True),
    Column("lead_id", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

outbox = outbox_table(metadata, SCHEMA)
processed = processed_table(metadata, SCHEMA)

# The HTTP API's background jobs (services/qualifier/jobs.py): one row per accepted job of any kind.
jobs = Table(
    "jobs",
    metadata,
    Column("job_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("params", JSONB, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("result", JSONB),
    Column("error", Text),
    Index("jobs_kind_created", "kind", "created_at"),
)

# Accounts (buying groups, services/qualifier/buying_groups.py): each account's MQA episode and stage,
# its members (a lead in at most one account), and one row per MQA ever emitted (q0011).
accounts = Table(
    "accounts",
    metadata,
    Column("account_id", Text, primary_key=True),
    Column("stage", Text, nullable=False),
    Column("episode", Integer, nullable=False),
    Column("mqa_at", DateTime(timezone=True)),
    Column("decided_at", DateTime(timezone=True)),
    Column("attributes", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True)),
    Column("version", BigInteger),  # from qualifier.account_versions on every write (q0012)
    Column("holders", JSONB),  # attribute group -> the member whose traits describe the company (q0013)
)

account_members = Table(
    "account_members",
    metadata,
    Column("lead_id", Text, primary_key=True),
    Column("account_id", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("member", JSONB, nullable=False),
    Column("last_activity_at", DateTime(timezone=True)),
    Column("version", BigInteger),  # the account's version when this row was written (q0012)
)

mqas = Table(
    "mqas",
    metadata,
    Column("mqa_id", Text, primary_key=True),
    Column("account_id", Text, nullable=False),
    Column("episode", Integer, nullable=False),
    Column("rule", Text, nullable=False),
    Column("policy_version", Text, nullable=False),
    Column("qualified_at", DateTime(timezone=True), nullable=False),
    Column("data", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True)),
)

"""The handoff's tables (schema `handoff`), mapped for queries; migrations create them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Float, ForeignKey, Integer, MetaData, Table, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from services.common.tables import outbox_table, processed_table

SCHEMA = "handoff"
metadata = MetaData(schema=SCHEMA)

mqls = Table(
    "mqls",
    metadata,
    Column("mql_id", Text, primary_key=True),
    Column("event_id", Text, nullable=False, unique=True),
    Column("lead_id", Text, nullable=False),
    Column("episode", Integer, nullable=False),
    Column("rule", Text, nullable=False),
    Column("policy_version", Text, nullable=False),
    Column("qualified_at", DateTime(timezone=True), nullable=False),
    Column("data", JSONB, nullable=False),
    Column("projected_at", DateTime(timezone=True)),
    Column("topic", Text),  # the top interest
    Column("topics", ARRAY(Text), nullable=False),
    Column("decision_id", Text),  # NULL: open, in the inbox
    Column("account_id", Text),  # the lead's account (buying group), from the MQL event (h0009)
)

decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", Text, primary_key=True),
    Column("mql_id", Text, ForeignKey(mqls.c.mql_id), nullable=False, unique=True),
    Column("lead_id", Text, nullable=False),
    Column("episode", Integer, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("reason_code", Text, nullable=False),
    Column("reason_label", Text, nullable=False),
    Column("note", Text),
    Column("decided_by", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("time_to_decision_s", Float, nullable=False),
    Column("data", JSONB, nullable=False),  # the decision event's data, as published
)

# Account qualifications (h0009): the MQA inbox and the decisions on MQAs, as `mqls` and `decisions`
mqas = Table(
    "mqas",
    metadata,
    Column("mqa_id", Text, primary_key=True),
    Column("event_id", Text, nullable=False, unique=True),
    Column("account_id", Text, nullable=False),
    Column("episode", Integer, nullable=False),
    Column("rule", Text, nullable=False),
    Column("policy_version", Text, nullable=False),
    Column("qualified_at", DateTime(timezone=True), nullable=False),
    Column("data", JSONB, nullable=False),
    Column("projected_at", DateTime(timezone=True)),
    Column("topics", ARRAY(Text), nullable=False),
    Column("decision_id", Text),  # NULL: open, in the MQA inbox
)

account_decisions = Table(
    "account_decisions",
    metadata,
    Column("decision_id", Text, primary_key=True),
    Column("mqa_id", Text, ForeignKey(mqas.c.mqa_id), nullable=False, unique=True),
    Column("account_id", Text, nullable=False),
    Column("episode", Integer, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("reason_code", Text, nullable=False),
    Column("reason_label", Text, nullable=False),
    Column("note", Text),
    Column("decided_by", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("time_to_decision_s", Float, nullable=False),
    Column("data", JSONB, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key_hash", Text, primary_key=True),
    Column("request_hash", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("response", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True)),
)

outbox = outbox_table(metadata, SCHEMA)
processed = processed_table(metadata, SCHEMA)

# People (migration h0005): personal accounts, their console sessions, failed logins, the audit trail
users = Table(
    "users",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("email", Text, nullable=False, unique=True),
    Column("role", Text, nullable=False),
    Column("password_hash", Text),
    Column("set_password_hash", Text),
    Column("set_password_until", DateTime(timezone=True)),
    Column("disabled_at", DateTime(timezone=True)),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("session_hash", Text, primary_key=True),
    Column("user_id", Text, ForeignKey(users.c.user_id), nullable=False),
    Column("address", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("failure_id", BigInteger, primary_key=True),
    Column("email", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

audit = Table(
    "audit",
    metadata,
    Column("audit_id", BigInteger, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("subject", Text),
    Column("address", Text),
    Column("detail", JSONB, nullable=False),
)

key_usage = Table(
    "key_usage",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("last_used_at", DateTime(timezone=True), nullable=False),
    Column("last_address", Text),
)

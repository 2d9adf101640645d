"""The handoff's tables (schema `handoff`), mapped for queries; migrations create them."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, ForeignKey, Integer, MetaData, Table, Text
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

"""The webhook tables (schema `handoff`): endpoints and one delivery row per (endpoint, event)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from ..tables import metadata

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("endpoint_id", Text, primary_key=True),
    Column("url", Text, nullable=False),
    Column("format", Text, nullable=False),  # standard | slack
    Column("events", ARRAY(Text), nullable=False),
    Column("description", Text),
    Column("enabled", Boolean, nullable=False),
    # Signing secrets: the previous one keeps signing until previous_until (rotation grace period).
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text),
    Column("previous_until", DateTime(timezone=True)),
    Column("failing_since", DateTime(timezone=True)),  # first failed attempt since the last success
    Column("disabled_reason", Text),  # set when the dispatcher disabled it; cleared by enabling it
    Column("created_by", Text, nullable=False),  # hash of the API key
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # seq orders the deliveries of one lead to one endpoint: the head of each (endpoint, lead) goes first.
    Column("seq", BigInteger, primary_key=True, autoincrement=True),
    Column(
        "endpoint_id",
        Text,
        ForeignKey(webhook_endpoints.c.endpoint_id, ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_id", Text, nullable=False),  # the envelope id: the webhook-id header
    Column("event_type", Text, nullable=False),  # lead.mql, lead.decision, webhook.test
    Column("lead_id", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),  # the body, exactly as it is sent
    Column("status", Text, nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("leased_until", DateTime(timezone=True)),  # an attempt is in flight until then
    Column("give_up_at", DateTime(timezone=True), nullable=False),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("last_latency_ms", Float),
    Column("last_attempt_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
    Index(
        "ix_webhook_deliveries_pending",
        "endpoint_id",
        "lead_id",
        "seq",
        postgresql_where=text("status = 'pending'"),
    ),
    Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        "seq",
        postgresql_where=text("status = 'pending'"),
    ),
)

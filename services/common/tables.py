"""Tables every owning service has in its own schema: the outbox and the processed-event keys."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)


def outbox_table(metadata: MetaData, schema: str) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("topic", Text, nullable=False),
        Column("key", Text),
        Column("event_id", Text, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True)),
        Index(f"ix_{schema}_outbox_unsent", "id", postgresql_where=text("sent_at IS NULL")),
        schema=schema,
    )


def processed_table(metadata: MetaData, schema: str) -> Table:
    return Table(
        "processed_events",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
        schema=schema,
    )


def create_common_tables(schema: str) -> None:
    """For a service's first migration: its outbox and processed-events tables, as defined here."""
    from alembic import op

    metadata = MetaData()
    outbox_table(metadata, schema)
    processed_table(metadata, schema)
    metadata.create_all(op.get_bind())


PROCESSED_RETENTION_INDEX = "processed_events_consumer_processed_at"


def create_processed_retention_index(schema: str) -> None:
    """For a migration: the index the retention pass deletes processed envelope ids by (consumer, time)."""
    from alembic import op

    op.create_index(
        PROCESSED_RETENTION_INDEX,
        "processed_events",
        ["consumer", "processed_at"],
        schema=schema,
        if_not_exists=True,
    )


def drop_processed_retention_index(schema: str) -> None:
    from alembic import op

    op.drop_index(PROCESSED_RETENTION_INDEX, table_name="processed_events", schema=schema)

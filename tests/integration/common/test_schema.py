"""The tables the code maps are the tables the migrations make: same columns, same types."""

from __future__ import annotations

from sqlalchemy import MetaData, inspect
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from services.common.db import create_engine
from services.handoff import tables as handoff_tables
from services.handoff.webhooks import tables as _webhook_tables  # noqa: F401  (maps onto handoff metadata)
from services.qualifier import tables as qualifier_tables

DIALECT = postgresql.dialect()
SYNONYMS = {"FLOAT": "DOUBLE PRECISION"}  # PostgreSQL's float is double precision


def _type(sql_type: object) -> str:
    compiled = sql_type.compile(DIALECT)  # type: ignore[attr-defined]
    return SYNONYMS.get(compiled, compiled)


def _mapped() -> dict[tuple[str, str], dict[str, str]]:
    out: dict[tuple[str, str], dict[str, str]] = {}
    metadatas: list[MetaData] = [qualifier_tables.metadata, handoff_tables.metadata]
    for metadata in metadatas:
        for table in metadata.tables.values():
            out[(str(table.schema), table.name)] = {c.name: _type(c.type) for c in table.columns}
    return out


def _reflected(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    inspector = inspect(conn)
    return {
        (schema, name): {c["name"]: _type(c["type"]) for c in inspector.get_columns(name, schema)}
        for schema, name in keys
    }


async def test_every_mapped_table_matches_the_migrated_database(database_url: str) -> None:
    mapped = _mapped()
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            reflected = await conn.run_sync(_reflected, sorted(mapped))
    finally:
        await engine.dispose()
    differences = [
        f"{schema}.{name}.{column}: mapped {mapped[(schema, name)].get(column)}, "
        f"database {reflected[(schema, name)].get(column)}"
        for schema, name in sorted(mapped)
        for column in sorted(mapped[(schema, name)].keys() | reflected[(schema, name)].keys())
        if mapped[(schema, name)].get(column) != reflected[(schema, name)].get(column)
    ]
    assert not differences, "\n".join(differences)


# What each service's hourly retention pass deletes by (services/common/retention.py): consumer and time
# for the processed envelope ids, time for the Idempotency-Key answers.
PRUNED = {
    ("qualifier", "processed_events"): ["consumer", "processed_at"],
    ("handoff", "processed_events"): ["consumer", "processed_at"],
    ("handoff", "idempotency_keys"): ["created_at"],
}


def _indexes(conn: Connection) -> dict[tuple[str, str], list[list[str]]]:
    inspector = inspect(conn)
    return {
        key: [list(index["column_names"]) for index in inspector.get_indexes(key[1], key[0])]
        for key in PRUNED
    }


async def test_the_pruned_columns_are_indexed(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            indexes = await conn.run_sync(_indexes)
    finally:
        await engine.dispose()
    missing = [
        f"{s}.{t}({', '.join(cols)})" for (s, t), cols in PRUNED.items() if cols not in indexes[(s, t)]
    ]
    assert not missing, f"no index for the retention's delete on {missing}"

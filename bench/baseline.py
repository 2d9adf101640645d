"""Baseline: what the broker and the database do on this machine with nothing of leadstate in the
way. Raw aiokafka produce of 1 KB messages (acks=all, batched, as fast as one client goes) and raw
asyncpg batched inserts of rows shaped like `qualifier.events`, one transaction per batch, as the
qualifier's consumer writes them (plus COPY, the database's own ceiling, for reference)."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaProducer

from services.common.db import connect
from services.common.kafka_security import PLAINTEXT, KafkaSecurity
from services.qualifier.demo import generate_audience

from .infra import PARTITIONS, Infra
from .report import Outcome, table

INSERT_BATCH = 2000
TABLE = """CREATE TABLE bench_events (
    event_id text PRIMARY KEY, lead_id text NOT NULL, type text NOT NULL, name text,
    occurred_at timestamptz NOT NULL, data json NOT NULL)"""
INSERT = """INSERT INTO bench_events SELECT * FROM unnest(
    $1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::json[])
    ON CONFLICT DO NOTHING"""


async def produce_rate(
    bootstrap: str, topic: str, count: int, size: int = 1024, security: KafkaSecurity = PLAINTEXT
) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        **security,
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        max_batch_size=1024 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    await producer.start()
    try:
        payload = os.urandom(size // 2).hex().encode()
        keys = [f"lead-{i}".encode() for i in range(1000)]
        await (await producer.send(topic, payload, key=keys[0]))  # metadata and connections first
        started = time.perf_counter()
        window: list[asyncio.Future[object]] = []
        for i in range(count):
            window.append(await producer.send(topic, payload, key=keys[i % len(keys)]))
            if len(window) >= 20_000:
                await asyncio.gather(*window)
                window.clear()
        await asyncio.gather(*window)
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()


def event_rows(count: int) -> list[tuple[str, str, str, str | None, datetime, str]]:
    messages = generate_audience(count // 9 + 1, seed=11, start=datetime(2025, 1, 6, tzinfo=UTC))[:count]
    return [
        (
            m["messageId"],
            m.get("userId") or m["anonymousId"],
            m["type"],
            m.get("event") or m.get("name"),
            datetime.fromisoformat(m["timestamp"]),
            orjson.dumps(m).decode(),
        )
        for m in messages
    ]


async def insert_rates(database_url: str, rows: list[tuple]) -> tuple[float, float]:
    """(batched INSERT rows/s, COPY rows/s) on one connection, each into a fresh table."""
    conn = await connect(database_url)
    try:
        await conn.execute(TABLE)
        columns = list(zip(*rows, strict=True))
        started = time.perf_counter()
        for start in range(0, len(rows), INSERT_BATCH):
            async with conn.transaction():
                await conn.execute(INSERT, *(list(c[start : start + INSERT_BATCH]) for c in columns))
        insert_rate = len(rows) / (time.perf_counter() - started)
        await conn.execute("TRUNCATE bench_events")
        started = time.perf_counter()
        for start in range(0, len(rows), INSERT_BATCH):
            await conn.copy_records_to_table("bench_events", records=rows[start : start + INSERT_BATCH])
        copy_rate = len(rows) / (time.perf_counter() - started)
        return insert_rate, copy_rate
    finally:
        await conn.close()


TRIES = 3  # a ceiling is the best of a few runs: the machine is shared, noise only ever slows


def best_produce(infra: Infra, count: int) -> float:
    return max(
        asyncio.run(
            produce_rate(infra.bootstrap, infra.fresh_topics("raw").events, count, security=infra.security)
        )
        for _ in range(TRIES)
    )


def best_inserts(infra: Infra, rows: list[tuple]) -> tuple[float, float]:
    runs = [asyncio.run(insert_rates(infra.fresh_database(), rows)) for _ in range(TRIES)]
    return max(r[0] for r in runs), max(r[1] for r in runs)


def run(infra: Infra, *, quick: bool, profile: bool) -> Outcome:
    messages = 30_000 if quick else 200_000
    rows_n = 30_000 if quick else 200_000
    produce = best_produce(infra, messages)
    rows = event_rows(rows_n)
    avg_row = sum(len(r[5]) for r in rows) / len(rows)
    insert, copy = best_inserts(infra, rows)
    print(
        table(
            [
                (
                    f"aiokafka produce, 1 KB, acks=all, {PARTITIONS} partitions",
                    messages,
                    produce,
                    "messages/s",
                ),
                (
                    f"asyncpg INSERT … unnest, {INSERT_BATCH}/txn, ~{avg_row:.0f} B json",
                    rows_n,
                    insert,
                    "rows/s",
                ),
                (f"asyncpg COPY, {INSERT_BATCH}/call (reference)", rows_n, copy, "rows/s"),
            ],
            (f"baseline (best of {TRIES})", "count", "rate", "unit"),
        )
    )
    return Outcome(
        "baseline",
        metrics={
            "produce_msgs_per_s": produce,
            "insert_rows_per_s": insert,
            "copy_rows_per_s": copy,
            "messages": messages,
            "rows": rows_n,
            "row_json_bytes": avg_row,
        },
    )

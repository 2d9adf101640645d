"""Transactional outbox: rows written in the same transaction as the state change, published by a relay.

Delivery is at least once (a crash between the broker's ack and marking the row sent repeats it);
consumers de-duplicate by envelope id. Rows are marked sent rather than tracked by `id > last_sent`,
so a row whose transaction committed after a higher id is still published. One relay per schema
publishes at a time (a transaction-scoped advisory lock), which keeps each lead's events in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlalchemy import Table, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from .broker import Guard, unguarded
from .envelope import Envelope
from .metrics import OUTBOX_PENDING, OUTBOX_PUBLISHED

log = logging.getLogger(__name__)
# Sent rows are kept a while for inspection, then deleted, so the outbox does not grow without bound.
KEEP_SENT_DAYS = 7
PRUNE_EVERY_S = 3600.0


class Outbox:
    def __init__(self, table: Table) -> None:
        self.table = table
        self.name = f"{table.schema}.{table.name}"
        self._lock_key = zlib.crc32(self.name.encode())
        self.added = 0  # rows added by this process (committed or not): tells the relay when to look
        self._insert_bytes = (
            f"INSERT INTO {self.name} (topic, key, event_id, payload) SELECT $1, k, e, p "
            "FROM unnest($2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY AS r(k, e, p, i) ORDER BY i"
        )

    async def add(self, session: AsyncSession, topic: str, envelopes: list[Envelope]) -> None:
        if envelopes:
            self.added += len(envelopes)
            await session.execute(
                insert(self.table),
                [
                    {"topic": topic, "key": e.subject, "event_id": e.id, "payload": e.to_bytes()}
                    for e in envelopes
                ],
            )

    async def add_bytes(
        self, db: asyncpg.Connection, topic: str, rows: list[tuple[str | None, str, bytes]]
    ) -> None:
        """`add` for envelopes already serialised ((key, event id, payload) each), in one statement on
        the session's raw asyncpg connection (inside its transaction); ids follow the rows' order."""
        if rows:
            self.added += len(rows)
            await db.execute(self._insert_bytes, topic, *map(list, zip(*rows, strict=True)))

    async def publish_pending(
        self,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        *,
        limit: int = 2000,
        guard: Guard = unguarded,
    ) -> int:
        """Publish one page of unsent rows in id order and mark them sent; returns how many. `guard`
        may refuse the write (raising), and then nothing is marked sent."""
        t = self.table
        async with engine.begin() as conn:
            got = await conn.scalar(select(func.pg_try_advisory_xact_lock(self._lock_key)))
            if not got:
                return 0
            rows = (
                await conn.execute(
                    select(t.c.id, t.c.topic, t.c.key, t.c.payload)
                    .where(t.c.sent_at.is_(None))
                    .order_by(t.c.id)
                    .limit(limit)
                )
            ).all()
            OUTBOX_PENDING.labels(self.name).set(len(rows))
            if not rows:
                return 0
            async with guard({r.topic for r in rows}):
                futures = [
                    await producer.send(r.topic, value=r.payload, key=r.key.encode() if r.key else None)
                    for r in rows
                ]
                await asyncio.gather(*futures)
            await conn.execute(update(t).where(t.c.id.in_([r.id for r in rows])).values(sent_at=func.now()))
        OUTBOX_PUBLISHED.labels(self.name).inc(len(rows))
        return len(rows)

    async def prune(self, engine: AsyncEngine, *, keep_days: int = 7) -> None:
        async with engine.begin() as conn:
            await conn.execute(
                self.table.delete().where(
                    self.table.c.sent_at < func.now() - text(f"interval '{int(keep_days)} days'")
                )
            )


class OutboxRelay:
    """Runs beside the writer: woken right after a commit that added rows, and polls for leftovers."""

    def __init__(
        self,
        outbox: Outbox,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        *,
        poll_s: float,
        guard: Guard = unguarded,
    ) -> None:
        self.outbox, self.engine, self.producer, self.poll_s = outbox, engine, producer, poll_s
        self.guard = guard
        self._wake = asyncio.Event()
        self._stopping = False
        self._added_seen = 0
        self.passes = 0  # publishing passes completed: what a test waits on instead of sleeping

    def wake(self) -> None:
        self._wake.set()

    def wake_if_added(self) -> bool:
        """After a consumer's commit: only a batch that added rows is worth a publishing round (four
        statements), the poll finds anything else. True when it woke the relay."""
        if self.outbox.added == self._added_seen:
            return False
        self._added_seen = self.outbox.added
        self._wake.set()
        return True

    async def run(self) -> None:
        backoff = 0.2
        next_prune = time.monotonic() + PRUNE_EVERY_S
        while not self._stopping:
            try:
                while await self.outbox.publish_pending(self.engine, self.producer, guard=self.guard):
                    pass
                backoff = 0.2
                self.passes += 1
                if time.monotonic() >= next_prune:
                    await self.outbox.prune(self.engine, keep_days=KEEP_SENT_DAYS)
                    next_prune = time.monotonic() + PRUNE_EVERY_S
            except (KafkaError, OSError, OperationalError, DBAPIError, TimeoutError) as exc:
                log.warning("outbox relay could not publish; will retry", extra={"error": str(exc)[:200]})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            except TimeoutError:
                pass
            self._wake.clear()

    async def stop(self) -> None:
        """Publish what is pending (best effort) and stop."""
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(
                self.outbox.publish_pending(self.engine, self.producer, guard=self.guard), 5
            )
        except Exception as exc:  # shutdown must go on; unsent rows stay for the next start
            log.warning("outbox not drained at shutdown", extra={"error": str(exc)[:200]})

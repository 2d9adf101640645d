"""A batch consumer whose unit of work is one database transaction per batch.

For each batch: invalid messages go to the dead-letter topic (with the reason and offset); the rest are
claimed in the processed-events table (a duplicate key means "already applied") and handed to the
service's handler in the same transaction; after the commit, the Kafka offsets are committed. A crash
anywhere before the offset commit redelivers the batch, and the claims make the replay a no-op.
Infrastructure errors (database or broker down) retry the same batch with backoff and never skip it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import orjson
from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from sqlalchemy import Table, Text, bindparam, func, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .broker import Guard, unguarded
from .envelope import Envelope, EnvelopeError, parse_envelope
from .metrics import BATCH_RETRIES, BATCH_SECONDS, CONSUMED, DEAD_LETTERS, DUPLICATES

log = logging.getLogger(__name__)

INFRA_ERRORS = (OperationalError, InterfaceError, OSError, KafkaError, TimeoutError, ConnectionError)
# Deadlocks and serialization failures between two group members are transient: retry the batch.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def is_transient(exc: BaseException) -> bool:
    """Errors of the infrastructure, not of a message: the batch is retried, never dead-lettered."""
    if isinstance(exc, INFRA_ERRORS) or getattr(exc, "connection_invalidated", False):
        return True
    orig = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps driver errors; raw asyncpg ones are bare
    if isinstance(orig, asyncpg.InterfaceError | asyncpg.PostgresConnectionError):
        return True  # e.g. the connection was closed under us when PostgreSQL restarted
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or ""
    # 08: connection exceptions; 57P: admin/crash shutdown, cannot connect now
    return state in RETRYABLE_SQLSTATES or state.startswith(("08", "57P"))


@dataclass(frozen=True, kw_only=True)
class Delivered:
    """An envelope with where it came from."""

    envelope: Envelope
    topic: str
    partition: int
    offset: int


BatchHandler = Callable[[AsyncSession, list[Delivered]], Awaitable[None]]
# Checks an envelope's `data` against its event contract; raises ValueError (e.g. a pydantic
# ValidationError) saying why, and the message goes to the dead-letter topic instead of the handler.
DataValidator = Callable[[Envelope], None]


@dataclass(frozen=True, kw_only=True)
class ConsumerConfig:
    name: str
    topics: tuple[str, ...]
    group_id: str
    dead_letter_topic: str
    expected_types: dict[str, frozenset[str]]
    max_records: int = 2000
    max_handler_attempts: int = 3
    data_validators: Mapping[str, DataValidator] = field(default_factory=dict)  # by topic
    # False for a second group on topics whose owner already dead-letters what is not an envelope:
    # such a message is skipped (logged), not dead-lettered twice
    dead_letter_invalid: bool = True


async def claim_new(session: AsyncSession, processed: Table, consumer: str, ids: Sequence[str]) -> set[str]:
    """Record the ids as processed; returns those that were not processed before."""
    if not ids:
        return set()
    # one array parameter: a statement of the same shape every batch (compiled once, not per row)
    stmt = (
        pg_insert(processed)
        .from_select(
            ["consumer", "event_id"],
            select(literal(consumer, Text), func.unnest(bindparam("ids", type_=ARRAY(Text)))),
        )
        .on_conflict_do_nothing()
        .returning(processed.c.event_id)
    )
    return set((await session.execute(stmt, {"ids": list(dict.fromkeys(ids))})).scalars())


class DeadLetters:
    def __init__(
        self, producer: AIOKafkaProducer, topic: str, consumer: str, *, guard: Guard = unguarded
    ) -> None:
        self.producer, self.topic, self.consumer, self.guard = producer, topic, consumer, guard

    async def send(self, record: ConsumerRecord, reason: str) -> None:
        doc = {
            "reason": reason,
            "consumer": self.consumer,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key.decode(errors="replace") if record.key else None,
            "value": record.value.decode(errors="replace") if record.value is not None else None,
            "failed_at": datetime.now(UTC).isoformat(),
        }
        async with self.guard((self.topic,)):
            await (await self.producer.send(self.topic, value=orjson.dumps(doc), key=record.key))
        DEAD_LETTERS.labels(self.consumer, record.topic).inc()
        log.warning(
            "message sent to dead-letter topic",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason,
            },
        )


class BatchConsumer:
    def __init__(
        self,
        config: ConsumerConfig,
        *,
        consumer: AIOKafkaConsumer,
        sessions: async_sessionmaker[AsyncSession],
        processed: Table,
        handler: BatchHandler,
        dead_letters: DeadLetters,
        after_commit: Callable[[], object] | None = None,
    ) -> None:
        self.config, self.consumer, self.sessions = config, consumer, sessions
        self.processed, self.handler, self.dead_letters = processed, handler, dead_letters
        self.after_commit = after_commit or (lambda: None)
        self.healthy = True
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True

    def listener(self) -> ConsumerRebalanceListener | None:
        """A subclass that must know of rebalances (to seek, to drop state) returns its listener."""
        return None

    async def run(self) -> None:
        while not self._stopping:
            try:
                batch = await self.consumer.getmany(timeout_ms=200, max_records=self.config.max_records)
            except (KafkaError, IllegalStateError) as exc:
                self.healthy = False
                log.warning("fetch failed; retrying", extra={"error": str(exc)[:200]})
                await asyncio.sleep(0.5)
                continue
            records = [r for rs in batch.values() for r in rs]
            if records and await self._process_until_done(records):
                await self._commit(batch)

    async def _process_until_done(self, records: list[ConsumerRecord]) -> bool:
        """True once the batch is applied; False if asked to stop while retrying (nothing is committed,
        so the batch is redelivered to whoever consumes the partition next)."""
        delay = 0.2
        while not self._stopping:
            started = time.perf_counter()
            try:
                await self._process(records)
                self.healthy = True
                BATCH_SECONDS.labels(self.config.name).observe(time.perf_counter() - started)
                self.after_commit()
                return True
            except Exception as exc:
                if not is_transient(exc):
                    raise
                self.healthy = False
                BATCH_RETRIES.labels(self.config.name).inc()
                log.warning("batch failed on infrastructure; retrying", extra={"error": str(exc)[:300]})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        return False

    async def _process(self, records: list[ConsumerRecord]) -> None:
        delivered: list[Delivered] = []
        rejected: list[tuple[ConsumerRecord, str]] = []
        for record in records:
            try:
                envelope = parse_envelope(
                    record.value, expected_types=self.config.expected_types.get(record.topic)
                )
            except EnvelopeError as exc:
                rejected.append((record, str(exc)))
                continue
            validate = self.config.data_validators.get(record.topic)
            if validate is not None:
                try:
                    validate(envelope)
                except ValueError as exc:
                    rejected.append((record, f"invalid {envelope.type} data: {exc}"[:2000]))
                    continue
            delivered.append(
                Delivered(
                    envelope=envelope, topic=record.topic, partition=record.partition, offset=record.offset
                )
            )
        for record, reason in rejected:
            if self.config.dead_letter_invalid:
                await self.dead_letters.send(record, reason)
            else:
                log.info(
                    "invalid message skipped (its topic's owner dead-letters it)",
                    extra={"topic": record.topic, "offset": record.offset, "reason": reason[:200]},
                )
        try:
            await self._apply(delivered)
        except Exception as exc:
            if is_transient(exc):
                raise
            # a bug or a message the handler cannot apply: isolate it
            await self._raise_if_database_down(exc)
            log.exception("batch handler failed; applying one by one", extra={"error": str(exc)[:300]})
            await self._apply_one_by_one(delivered, records)

    async def _apply(self, delivered: list[Delivered]) -> None:
        async with self.sessions() as session, session.begin():
            fresh_ids = await claim_new(
                session, self.processed, self.config.name, [d.envelope.id for d in delivered]
            )
            fresh: list[Delivered] = []
            for d in delivered:
                if d.envelope.id in fresh_ids:
                    fresh.append(d)
                    fresh_ids.discard(d.envelope.id)
            if len(fresh) < len(delivered):
                DUPLICATES.labels(self.config.name).inc(len(delivered) - len(fresh))
            if fresh:
                await self.handler(session, fresh)
        for d in fresh:
            CONSUMED.labels(self.config.name, d.topic).inc()

    async def _apply_one_by_one(self, delivered: list[Delivered], records: list[ConsumerRecord]) -> None:
        by_offset = {(r.topic, r.partition, r.offset): r for r in records}
        for d in delivered:
            for attempt in range(self.config.max_handler_attempts):
                try:
                    await self._apply([d])
                    break
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    await self._raise_if_database_down(exc)
                    if attempt + 1 == self.config.max_handler_attempts:
                        reason = (
                            f"processing failed after {attempt + 1} attempts: {type(exc).__name__}: {exc}"
                        )
                        await self.dead_letters.send(
                            by_offset[(d.topic, d.partition, d.offset)], reason[:2000]
                        )

    async def _raise_if_database_down(self, exc: Exception) -> None:
        """Driver errors do not always say "connection"; ask the database before blaming a message."""
        try:
            async with self.sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception as probe:
            raise OperationalError("database unreachable", None, probe) from exc

    async def _commit(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        offsets = {tp: records[-1].offset + 1 for tp, records in batch.items() if records}
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            # A rebalance took the partition away: the next owner redelivers, and the claims de-duplicate.
            log.info("offset commit skipped", extra={"error": str(exc)[:200]})

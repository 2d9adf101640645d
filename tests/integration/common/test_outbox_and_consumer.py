"""The platform's delivery machinery against the real database and broker: the outbox relay publishes in
order and marks rows sent; the batch consumer de-duplicates by envelope id, dead-letters what is not an
envelope, and commits offsets only after its transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.consumer import BatchConsumer, ConsumerConfig, DeadLetters, Delivered
from services.common.db import Database
from services.common.envelope import new_envelope
from services.common.kafka import make_consumer, make_producer
from services.common.outbox import Outbox, OutboxRelay
from services.qualifier.tables import outbox as qualifier_outbox
from services.qualifier.tables import processed
from tests.conftest import Topics
from tests.support import publish, read_envelopes, read_topic, wait_until

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _envelopes(n: int, subject: str = "lead-1") -> list:
    return [
        new_envelope("leadstate.test.v1", {"n": i}, source="test", subject=subject, time=T0, id_=f"ev-{i}")
        for i in range(n)
    ]


async def test_relay_publishes_in_order_and_marks_sent(
    database_url: str, kafka_bootstrap: str, topics: Topics
) -> None:
    database = Database.connect(database_url)
    outbox = Outbox(qualifier_outbox)
    async with database.sessions() as session, session.begin():
        await outbox.add(session, topics.mql, _envelopes(50))
    producer = make_producer(kafka_bootstrap)
    await producer.start()
    relay = OutboxRelay(outbox, database.engine, producer, poll_s=0.1)
    task = asyncio.create_task(relay.run())
    try:
        received = await read_envelopes(kafka_bootstrap, topics.mql, expect=50)
        assert [e.data["n"] for e in received] == list(range(50))  # one key, one partition: in order
        async with database.engine.connect() as conn:
            unsent = await conn.scalar(
                select(func.count()).select_from(qualifier_outbox).where(qualifier_outbox.c.sent_at.is_(None))
            )
        assert unsent == 0
        # nothing is published twice by later passes (two more complete ones, counted, not slept for)
        later = relay.passes + 2
        await wait_until(lambda: asyncio.sleep(0, relay.passes >= later), what="two more relay passes")
        assert len(await read_topic(kafka_bootstrap, topics.mql, expect=50)) == 50
    finally:
        await relay.stop()
        task.cancel()
        await producer.stop()
        await database.close()


async def test_a_commit_wakes_the_relay_only_when_it_added_rows(
    database_url: str, kafka_bootstrap: str, topics: Topics
) -> None:
    """With a long poll, rows this process added are published at once after the commit; a commit that
    added none starts no publishing round (rows someone else wrote wait for the poll or a wake)."""
    database = Database.connect(database_url)
    outbox, elsewhere = Outbox(qualifier_outbox), Outbox(qualifier_outbox)
    producer = make_producer(kafka_bootstrap)
    await producer.start()
    relay = OutboxRelay(outbox, database.engine, producer, poll_s=300)
    task = asyncio.create_task(relay.run())
    try:
        # the first pass (nothing pending) is over; from now on only wakes or the 300 s poll
        await wait_until(lambda: asyncio.sleep(0, relay.passes >= 1), what="the first relay pass")
        async with database.sessions() as session, session.begin():
            await outbox.add(session, topics.mql, _envelopes(3))
        assert relay.wake_if_added()
        await read_envelopes(kafka_bootstrap, topics.mql, expect=3, timeout_s=10)
        await wait_until(lambda: asyncio.sleep(0, relay.passes >= 2), what="the woken pass to end")
        passes = relay.passes

        async with database.sessions() as session, session.begin():
            await elsewhere.add(session, topics.mql, _envelopes(2, subject="lead-2"))
        assert not relay.wake_if_added()  # this process's outbox added nothing since: no pass
        assert relay.passes == passes
        assert len(await read_topic(kafka_bootstrap, topics.mql, expect=3)) == 3
        assert relay.passes == passes  # still none: the two rows wait for the poll or a wake
        relay.wake()
        assert len(await read_topic(kafka_bootstrap, topics.mql, expect=5)) == 5
    finally:
        await relay.stop()
        task.cancel()
        await producer.stop()
        await database.close()


async def test_consumer_deduplicates_dead_letters_and_commits(
    database_url: str, kafka_bootstrap: str, topics: Topics
) -> None:
    seen: list[str] = []

    async def handler(session: AsyncSession, batch: list[Delivered]) -> None:
        seen.extend(d.envelope.id for d in batch)

    valid = _envelopes(3)
    await publish(
        kafka_bootstrap,
        topics.events,
        [valid[0], b"not json", valid[1], valid[0], b'{"json": "but no envelope"}', valid[2], valid[1]],
        raw_key=b"lead-1",  # same partition as the envelopes, so offsets are known
    )
    database = Database.connect(database_url)
    producer = make_producer(kafka_bootstrap)
    await producer.start()
    config = ConsumerConfig(
        name="test",
        topics=(topics.events,),
        group_id=f"g-{topics.events}",
        dead_letter_topic=topics.dead_letter,
        expected_types={topics.events: frozenset({"leadstate.test.v1"})},
    )

    async def run_once() -> None:
        kafka = make_consumer(kafka_bootstrap, config.topics, group_id=config.group_id, client_id="t")
        await kafka.start()
        consumer = BatchConsumer(
            config,
            consumer=kafka,
            sessions=database.sessions,
            processed=processed,
            handler=handler,
            dead_letters=DeadLetters(producer, topics.dead_letter, "test"),
        )
        task = asyncio.create_task(consumer.run())
        await wait_until(lambda: asyncio.sleep(0, len(seen) >= 3), what="three envelopes")
        await asyncio.sleep(0.5)
        consumer.stop()
        await task
        await kafka.stop()

    try:
        await run_once()
        assert seen == ["ev-0", "ev-1", "ev-2"]  # duplicates skipped, order kept
        dead = [orjson.loads(v) for v in await read_topic(kafka_bootstrap, topics.dead_letter, expect=2)]
        assert len(dead) == 2
        assert (
            "not JSON" in dead[0]["reason"] and dead[0]["offset"] == 1 and dead[0]["topic"] == topics.events
        )
        assert "not a CloudEvents envelope" in dead[1]["reason"] and dead[1]["offset"] == 4

        # A redelivery (same envelopes again) changes nothing; committed offsets are not re-read either.
        await publish(kafka_bootstrap, topics.events, [valid[2], *_envelopes(4)[3:]])
        await run_once()
        assert seen == ["ev-0", "ev-1", "ev-2", "ev-3"]
        async with database.engine.connect() as conn:
            claimed = await conn.scalar(select(func.count()).select_from(processed))
        assert claimed == 4
    finally:
        await producer.stop()
        await database.close()


async def test_prune_deletes_only_rows_sent_long_ago(database_url: str, topics: Topics) -> None:
    database = Database.connect(database_url)
    outbox = Outbox(qualifier_outbox)
    t = qualifier_outbox
    try:
        async with database.sessions() as session, session.begin():
            await outbox.add(session, topics.mql, _envelopes(3))
        async with database.engine.begin() as conn:
            ids = sorted((await conn.execute(select(t.c.id))).scalars())
            old = datetime.now(UTC) - timedelta(days=8)
            await conn.execute(update(t).where(t.c.id == ids[0]).values(sent_at=old))
            await conn.execute(update(t).where(t.c.id == ids[1]).values(sent_at=datetime.now(UTC)))
        await outbox.prune(database.engine, keep_days=7)
        async with database.engine.connect() as conn:
            left = sorted((await conn.execute(select(t.c.id))).scalars())
        assert left == ids[1:]  # the recently sent row and the unsent one stay
    finally:
        await database.close()

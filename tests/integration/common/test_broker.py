"""A guarded write counts as stored only if the broker cannot have lost it (a real Tansu restarting empty).
Apache Kafka keeps its log across restarts: there BrokerLink is idempotent and unguarded (the last test)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from aiokafka.errors import KafkaError

from services.common.broker import BrokerLink
from services.common.embedded import Broker
from services.common.kafka import TopicsMissing, ensure_topics, missing_topics
from tests.support import read_topic, wait_until


@pytest.fixture
async def broker(broker_factory: Callable[[], Broker]) -> AsyncIterator[Broker]:
    own = broker_factory()
    own.start()
    yield own


async def _link(bootstrap: str) -> BrokerLink:
    link = BrokerLink(bootstrap, request_timeout_s=2.0, topic_partitions=1)
    link.start()
    await link.connected.wait()
    return link


async def _write(link: BrokerLink, topic: str, value: bytes) -> None:
    async with link.guarded_write((topic,)):
        await (await link.producer.send(topic, value))


async def test_a_write_on_a_listed_topic_is_stored(broker: Broker) -> None:
    topic = f"guard-{uuid.uuid4().hex[:8]}"
    await ensure_topics(broker.bootstrap, [topic], partitions=1)
    link = await _link(broker.bootstrap)
    try:
        await _write(link, topic, b"one")
        await _write(link, topic, b"two")
    finally:
        await link.close()
    assert await read_topic(broker.bootstrap, topic, expect=2) == [b"one", b"two"]


@pytest.mark.brokers("tansu")
async def test_a_topic_lost_in_an_empty_restart_refuses_writes_until_recreated(
    broker: Broker,
) -> None:
    topic = f"guard-{uuid.uuid4().hex[:8]}"
    await ensure_topics(broker.bootstrap, [topic], partitions=1)
    link = await _link(broker.bootstrap)
    try:
        await _write(link, topic, b"before")
        broker.stop()
        broker.start()  # empty: the topic is gone

        async def refused() -> bool:
            try:
                await _write(link, topic, b"lost?")
            except TopicsMissing:
                return True
            except Exception:  # reconnecting: not an answer yet
                return False
            raise AssertionError("a write to a topic the broker lost was accepted")

        await wait_until(refused, timeout_s=30, what="the write to a lost topic to be refused")

        async def accepted() -> bool:  # a client retrying; each refusal re-creates what is missing
            try:
                await _write(link, topic, b"after")
            except KafkaError:  # TopicsMissing, or the broker still settling: a 503 to a client
                return False
            return True

        await wait_until(accepted, timeout_s=30, what="a write once the topic is re-created")
        assert not await missing_topics(link.producer, [topic])
    finally:
        await link.close()
    # a refused write promises nothing either way (a 503 may follow a partial write): only "after" counts
    stored = await read_topic(broker.bootstrap, topic, expect=1)
    if b"after" not in stored:
        stored = await read_topic(broker.bootstrap, topic, expect=len(stored) + 1)
    assert b"after" in stored and b"before" not in stored


@pytest.mark.brokers("tansu")
async def test_a_restart_during_the_write_refuses_it_even_when_the_topic_is_back(
    broker: Broker,
) -> None:
    """The race a check after the acknowledgement alone misses: the write reaches the restarted broker
    before the topic exists, then someone else re-creates the topic before the check looks."""
    topic = f"guard-{uuid.uuid4().hex[:8]}"
    await ensure_topics(broker.bootstrap, [topic], partitions=1)
    link = await _link(broker.bootstrap)
    try:
        await _write(link, topic, b"before")  # confirms the topic on the current connections
        with pytest.raises(TopicsMissing):
            async with link.guarded_write((topic,)):
                broker.stop()
                broker.start()
                await ensure_topics(broker.bootstrap, [topic], partitions=1)  # another process's doing
                await (await link.producer.send(topic, b"during"))
    finally:
        await link.close()


async def test_the_link_knows_its_broker(broker: Broker) -> None:
    """Idempotent and unguarded on Kafka (its log survives restarts); guarded on Tansu."""
    link = await _link(broker.bootstrap)
    try:
        assert link.durable is (broker.kind == "kafka")
        assert link.producer._txn_manager is not None if link.durable else link.producer._txn_manager is None
    finally:
        await link.close()

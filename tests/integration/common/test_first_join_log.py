"""The first consumer group on a fresh Apache Kafka logs no ERROR: aiokafka's "Group Coordinator
Request failed" while the broker creates `__consumer_offsets` is transient and lowered to INFO."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import pytest

from services.common.embedded import Broker
from services.common.kafka import ensure_topics, make_consumer, make_producer

pytestmark = pytest.mark.brokers("kafka")


async def test_the_first_group_join_on_fresh_kafka_logs_no_error(
    broker_factory: Callable[[], Broker], caplog: pytest.LogCaptureFixture
) -> None:
    broker = broker_factory()
    broker.start()
    topic = f"first-join-{uuid.uuid4().hex[:8]}"
    await ensure_topics(broker.bootstrap, [topic], partitions=1)
    producer = make_producer(broker.bootstrap)
    await producer.start()
    try:
        await (await producer.send(topic, b"hello"))
    finally:
        await producer.stop()

    caplog.set_level(logging.INFO, logger="aiokafka")
    consumer = make_consumer(broker.bootstrap, [topic], group_id="first-group", client_id="first")
    await consumer.start()
    try:
        got = await consumer.getmany(timeout_ms=30_000)
        assert [r.value for rs in got.values() for r in rs] == [b"hello"]  # joined and consumed
    finally:
        await consumer.stop()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    lowered = [r for r in caplog.records if r.getMessage().startswith("Group Coordinator Request failed")]
    assert all(r.levelname == "INFO" for r in lowered)

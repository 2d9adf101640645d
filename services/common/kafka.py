"""aiokafka helpers: producer and consumer factories, topic creation, a broker probe.

Tansu (the fallback embedded broker) has no idempotent producer and no transactions, so the producer
asks for idempotence only where the broker offers it (Apache Kafka: see offers_idempotence); delivery
guarantees still come from the outbox and from de-duplication by envelope id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka import errors as Errors
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from aiokafka.protocol.transaction import InitProducerIdRequest

from .kafka_security import PLAINTEXT, KafkaSecurity
from .metrics import ASSIGNED_PARTITIONS, REBALANCES

log = logging.getLogger(__name__)


def make_producer(
    bootstrap: str,
    *,
    request_timeout_s: float = 10.0,
    linger_ms: int = 2,
    idempotent: bool = False,
    security: KafkaSecurity = PLAINTEXT,
) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        **security,
        acks="all",
        enable_idempotence=idempotent,
        linger_ms=linger_ms,
        max_batch_size=1024 * 1024,
        max_request_size=4 * 1024 * 1024,
        request_timeout_ms=int(request_timeout_s * 1000),
        retry_backoff_ms=100,
        compression_type=None,
    )


class RebalanceLog(ConsumerRebalanceListener):
    """Makes a group's rebalances visible: a log line and leadstate_consumer_rebalances_total."""

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer

    def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        pass

    def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        REBALANCES.labels(consumer=self.consumer).inc()
        ASSIGNED_PARTITIONS.labels(consumer=self.consumer).set(len(assigned))
        log.info("partitions assigned after a rebalance", extra={"partitions": len(assigned)})


class FirstJoinNoise(logging.Filter):
    """aiokafka logs "Group Coordinator Request failed: [Error 15] GroupCoordinatorNotAvailableError" as
    ERROR when a group first looks up its coordinator on a fresh Apache Kafka: the broker is still
    creating `__consumer_offsets`, and aiokafka retries until it is there. That transient answer is
    lowered to INFO, and dropped where the logger does not log INFO (the services log aiokafka from
    WARNING up); any other lookup failure stays an ERROR."""

    TRANSIENT = (Errors.CoordinatorNotAvailableError, Errors.CoordinatorLoadInProgressError)

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno == logging.ERROR
            and isinstance(record.msg, str)
            and record.msg.startswith("Group Coordinator Request failed")
            and isinstance(record.args, tuple)
            and any(isinstance(a, self.TRANSIENT) for a in record.args)
        ):
            record.levelno, record.levelname = logging.INFO, "INFO"
            return GROUP_COORDINATOR_LOG.isEnabledFor(logging.INFO)
        return True


GROUP_COORDINATOR_LOG = logging.getLogger("aiokafka.consumer.group_coordinator")


def quiet_first_join() -> None:
    """Install FirstJoinNoise once (idempotent); every consumer-group member is made by make_consumer."""
    if not any(isinstance(f, FirstJoinNoise) for f in GROUP_COORDINATOR_LOG.filters):
        GROUP_COORDINATOR_LOG.addFilter(FirstJoinNoise())


def make_consumer(
    bootstrap: str,
    topics: Iterable[str],
    *,
    group_id: str,
    client_id: str,
    security: KafkaSecurity = PLAINTEXT,
) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        **security,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_wait_ms=50,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
        rebalance_timeout_ms=10_000,
        metadata_max_age_ms=5_000,
    )
    consumer.subscribe(list(topics), listener=RebalanceLog(client_id))
    quiet_first_join()
    return consumer


# A compacted topic keeps at least the latest message per key (Kafka; Tansu ignores topic configs).
COMPACTED = {"cleanup.policy": "compact"}


async def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    *,
    partitions: int,
    security: KafkaSecurity = PLAINTEXT,
    compacted: Collection[str] = (),
) -> list[str]:
    """Create the topics that do not exist yet (those named in `compacted` compacted); returns the
    names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000, **security)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [n for n in dict.fromkeys(names) if n not in existing]
        if wanted:
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            n,
                            num_partitions=partitions,
                            replication_factor=1,
                            topic_configs=COMPACTED if n in compacted else {},
                        )
                        for n in wanted
                    ]
                )
            except TopicAlreadyExistsError:
                pass
        return wanted
    finally:
        await admin.close()


# Why the broker cannot be used right now (kafka_security.connection_problem), None when it can.
Preflight = Callable[[], Awaitable[str | None]]
T = TypeVar("T")


async def start_with_retry(
    client: AIOKafkaProducer | AIOKafkaConsumer,
    *,
    what: str,
    attempts: int = 0,
    preflight: Preflight | None = None,
) -> None:
    """Start an aiokafka client, waiting for the broker; attempts=0 waits forever (services self-heal)."""
    await until_answered(client.start, what=what, attempts=attempts, preflight=preflight)


async def until_answered(
    ask: Callable[[], Awaitable[T]],
    *,
    what: str,
    attempts: int = 0,
    preflight: Preflight | None = None,
    errors: tuple[type[BaseException], ...] = (KafkaError, OSError),
) -> T:
    """`ask()`'s answer, retried (backing off to 5 s) while the broker does not answer; attempts=0 retries
    forever (services wait for the broker), else the last error is raised after that many tries.

    With a `preflight`, `ask` runs only once the broker accepts a connection (TLS, credentials): its reason
    for refusing is logged once, and again only when it changes, instead of aiokafka's error line per
    attempt, and a wrong password or certificate costs one line, not a crash or a log flood."""
    delay = 0.2
    tries = 0
    said: str | None = None
    while True:
        tries += 1
        try:
            problem = await preflight() if preflight else None
            if problem is None:
                answer = await ask()
                if said is not None:
                    log.info("connected to the broker for %s", what)
                return answer
        except errors as exc:
            if attempts and tries >= attempts:
                raise
            problem = f"{type(exc).__name__}: {exc}"
        if attempts and tries >= attempts:
            raise KafkaConnectionError(problem)
        if problem != said:
            log.warning("cannot use the broker for %s, retrying: %s", what, problem)
            said = problem
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


async def probe_broker(producer: AIOKafkaProducer, *, timeout_s: float = 2.0) -> None:
    """Raise unless the broker answers a metadata request now."""
    await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout_s)


# InitProducerId answers from a broker that has a producer-id manager, even one still loading
_KAFKA_INIT_PID_CODES = {
    0,
    Errors.CoordinatorLoadInProgressError.errno,
    Errors.CoordinatorNotAvailableError.errno,
    Errors.NotCoordinatorError.errno,
}


async def offers_idempotence(bootstrap: str, security: KafkaSecurity = PLAINTEXT) -> bool:
    """Whether the broker grants producer ids (Apache Kafka does; Tansu answers UNKNOWN_SERVER_ERROR):
    one InitProducerId request, no transaction. Raises KafkaError/OSError when it cannot be asked."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=5_000, **security)
    try:
        await client.bootstrap()
        node = next(iter(client.cluster.brokers())).nodeId
        answer = await client.send(
            node, InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60_000)
        )
        return answer.error_code in _KAFKA_INIT_PID_CODES
    finally:
        await client.close()


class TopicsMissing(KafkaError):
    """The broker no longer lists a topic we wrote to: the write may be lost, so it is not acknowledged."""

    retriable = True


async def missing_topics(
    producer: AIOKafkaProducer, topics: Iterable[str], *, timeout_s: float = 5.0
) -> set[str]:
    """The topics the broker does not list right now (fresh metadata, no auto-creation)."""
    cluster = await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout_s)
    return set(topics) - cluster.topics()

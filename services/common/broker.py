"""The producer side of a service: a link that connects in the background and writes that count as
stored only when the broker cannot have lost them.

On Apache Kafka (found by asking for a producer id: offers_idempotence) the producer is idempotent and
a write is stored once acknowledged (acks=all): the broker keeps its log across restarts. Nothing below
runs there.

Tansu, the memory-only fallback, keeps topics in memory. After it restarts empty it still acknowledges
writes to topics it no longer has, and loses them. So a write is guarded: before it is sent, a metadata
request issued on the connections that will carry it must list its topics; after its acknowledgements,
every one of those connections must still be open (a restarted broker closes them) and no write in
between may have found a topic missing. Checking only after the acknowledgement is not enough: a topic
re-created between a lost write and the check (by this process, another one, or the broker's auto-creation)
would pass it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from .kafka import (
    TopicsMissing,
    ensure_topics,
    make_producer,
    missing_topics,
    offers_idempotence,
    probe_broker,
    start_with_retry,
    until_answered,
)
from .kafka_security import PLAINTEXT, KafkaSecurity, connection_problem

log = logging.getLogger(__name__)
CONFIRM_ATTEMPTS = 3
# Wraps a write (send, await the acks); raises when the broker may have lost it.
Guard = Callable[[Collection[str]], AbstractAsyncContextManager[None]]


@contextlib.asynccontextmanager
async def unguarded(topics: Collection[str]) -> AsyncIterator[None]:
    """The Guard of a producer without a BrokerLink (tests, tools): the acknowledgement is all."""
    yield


@dataclass(frozen=True)
class _Confirmation:
    connections: frozenset[object]
    generation: int


class BrokerLink:
    """A producer that connects in the background; not ready until then, nor while the broker is down."""

    def __init__(
        self,
        bootstrap: str,
        *,
        request_timeout_s: float = 10.0,
        topic_partitions: int = 6,
        security: KafkaSecurity = PLAINTEXT,
    ) -> None:
        self.bootstrap, self.request_timeout_s, self.security = bootstrap, request_timeout_s, security
        self.problem: str | None = None  # why the broker refuses us, while it does (shown by /readyz)
        self.topic_partitions = topic_partitions
        self._recreating: asyncio.Task[list[str]] | None = None
        self._confirmed_topics: set[str] = set()
        self._confirmed_connections: frozenset[object] = frozenset()
        self._generation = 0  # bumped whenever a topic is found missing
        self.connected = asyncio.Event()
        self.durable = False  # Apache Kafka: idempotent producer, no guard needed (known once connected)
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("BrokerLink.start() was not called")
        return self._producer

    def start(self) -> None:
        """Call inside the running loop (aiokafka binds to it). The producer exists once `connected`."""
        self._task = asyncio.create_task(self._connect(), name="broker-connect")

    async def _connect(self) -> None:
        # Whether the broker offers idempotence decides the producer's settings: ask until it answers.
        self.durable = await until_answered(
            lambda: offers_idempotence(self.bootstrap, self.security),
            what="producer",
            preflight=self.preflight,
            errors=(KafkaError, OSError, StopIteration),
        )
        self._producer = make_producer(
            self.bootstrap,
            request_timeout_s=self.request_timeout_s,
            idempotent=self.durable,
            security=self.security,
        )
        await start_with_retry(self.producer, what="producer", preflight=self.preflight)
        log.info("producer connected", extra={"idempotent": self.durable})
        self.connected.set()

    async def preflight(self) -> str | None:
        self.problem = await connection_problem(self.bootstrap, self.security)
        return self.problem

    async def check(self) -> None:
        if not self.connected.is_set():
            raise ConnectionError(f"broker not connected: {self.problem or 'connecting'}")
        await probe_broker(self.producer)

    @contextlib.asynccontextmanager
    async def guarded_write(self, topics: Collection[str], *, timeout_s: float = 5.0) -> AsyncIterator[None]:
        """Send and await the acknowledgements inside; raises TopicsMissing (before or after) when the
        write may be lost, TimeoutError when the check before it takes longer than `timeout_s`. Missing
        topics are re-created (configured partitions) for the retry. On Kafka the acknowledgement is all."""
        if self.durable:
            yield
            return
        confirmation = await asyncio.wait_for(self._confirm(set(topics)), timeout_s)
        yield
        if confirmation.generation != self._generation or not (
            confirmation.connections <= self._open_connections()
        ):
            raise TopicsMissing("the broker connection changed during the write (restarted?)")

    async def _confirm(self, wanted: set[str]) -> _Confirmation:
        """A metadata request lists `wanted` on connections that are all still open. Cached while every
        connection that existed at the last confirmation stays open: a fresh request per write would
        cost a round trip each."""
        if wanted <= self._confirmed_topics and self._confirmed_still_open():
            return _Confirmation(self._confirmed_connections, self._generation)
        for _ in range(CONFIRM_ATTEMPTS):
            before = self._open_connections()
            missing = await missing_topics(self.producer, wanted)
            if missing:
                raise self._lost(missing)
            after = self._open_connections()
            if after and after == before:
                if after != self._confirmed_connections:
                    self._confirmed_topics = set()
                self._confirmed_connections = after
                self._confirmed_topics |= wanted
                return _Confirmation(after, self._generation)
        raise TopicsMissing("the broker connections kept changing while its topics were checked")

    def _lost(self, missing: set[str]) -> TopicsMissing:
        """Forget every confirmation, re-create the topics in the background; the error to raise."""
        self._generation += 1
        self._confirmed_topics = set()
        self._confirmed_connections = frozenset()
        if self._recreating is None or self._recreating.done():
            self._recreating = asyncio.create_task(
                ensure_topics(
                    self.bootstrap, sorted(missing), partitions=self.topic_partitions, security=self.security
                )
            )
            self._recreating.add_done_callback(_log_failure)  # the next refused write tries again
        log.warning("broker lost topics; writes are not acknowledged", extra={"topics": sorted(missing)})
        return TopicsMissing(f"the broker does not list {', '.join(sorted(missing))} (restarted empty?)")

    def _open_connections(self) -> frozenset[object]:
        conns = getattr(self.producer.client, "_conns", None) or {}  # aiokafka's live broker connections
        return frozenset(c for c in conns.values() if c.connected())

    def _confirmed_still_open(self) -> bool:
        confirmed = self._confirmed_connections
        return bool(confirmed) and confirmed <= self._open_connections()

    async def close(self) -> None:
        if self._recreating is not None and not self._recreating.done():
            self._recreating.cancel()
        if self._task and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.connected.is_set():
            await self.producer.stop()


def _log_failure(task: asyncio.Task[list[str]]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("could not re-create the lost topics", extra={"error": f"{type(exc).__name__}: {exc}"})

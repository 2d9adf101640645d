"""What a service process needs at run time: a broker link that heals itself, a database, a worker
that runs a batch consumer and an outbox relay, and a uvicorn runner with a clear port-in-use error."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field

import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from .consumer import BatchConsumer, BatchHandler, ConsumerConfig, DeadLetters
from .db import create_engine, ping, session_factory
from .health import Readiness
from .kafka import (
    TopicsMissing,
    ensure_topics,
    make_consumer,
    make_producer,
    missing_topics,
    probe_broker,
    start_with_retry,
)
from .outbox import Outbox, OutboxRelay

log = logging.getLogger(__name__)


class BrokerLink:
    """A producer that connects in the background; not ready until then, nor while the broker is down."""

    def __init__(self, bootstrap: str, *, request_timeout_s: float = 10.0, topic_partitions: int = 6) -> None:
        self.bootstrap, self.request_timeout_s = bootstrap, request_timeout_s
        self.topic_partitions = topic_partitions
        self._recreating: asyncio.Task[list[str]] | None = None
        self._confirmed_topics: set[str] = set()
        self._confirmed_connections: frozenset[object] = frozenset()
        self.connected = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("BrokerLink.start() was not called")
        return self._producer

    def start(self) -> None:
        """Call inside the running loop (aiokafka binds to it)."""
        self._producer = make_producer(self.bootstrap, request_timeout_s=self.request_timeout_s)
        self._task = asyncio.create_task(self._connect(), name="broker-connect")

    async def _connect(self) -> None:
        await start_with_retry(self.producer, what="producer")
        self.connected.set()

    async def check(self) -> None:
        if not self.connected.is_set():
            raise ConnectionError("broker not connected yet")
        await probe_broker(self.producer)

    async def confirm_topics(self, topics: Collection[str]) -> None:
        """Raise TopicsMissing unless the broker still lists every topic, after writing to them.

        A broker that restarted empty (the memory-only embedded one) acknowledges writes to topics it no
        longer has and then loses them; so a write counts as stored only if its topic is still listed
        after the acknowledgement. Missing topics are re-created (configured partitions) for the retry.
        A fresh metadata request per write would cost a round trip each, so it is skipped while every
        connection that existed at the last confirmation is still open: a restarted broker would have
        closed them.
        """
        wanted = set(topics)
        if wanted <= self._confirmed_topics and self._same_connections():
            return
        connections = self._open_connections()
        missing = await missing_topics(self.producer, wanted)
        if not missing:
            if connections and connections == self._open_connections():
                self._confirmed_connections = connections
                self._confirmed_topics |= wanted
            return
        self._confirmed_topics = set()
        if self._recreating is None or self._recreating.done():
            self._recreating = asyncio.create_task(
                ensure_topics(self.bootstrap, sorted(missing), partitions=self.topic_partitions)
            )
        log.warning("broker lost topics; writes are not acknowledged", extra={"topics": sorted(missing)})
        raise TopicsMissing(f"the broker does not list {', '.join(sorted(missing))} (restarted empty?)")

    def _open_connections(self) -> frozenset[object]:
        conns = getattr(self.producer.client, "_conns", None) or {}  # aiokafka's live broker connections
        return frozenset(c for c in conns.values() if c.connected())

    def _same_connections(self) -> bool:
        confirmed = self._confirmed_connections
        return bool(confirmed) and confirmed == self._open_connections()

    async def close(self) -> None:
        if self._recreating is not None and not self._recreating.done():
            self._recreating.cancel()
        if self._task and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.connected.is_set():
            await self.producer.stop()


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(cls, url: str, *, pool_size: int = 5) -> Database:
        engine = create_engine(url, pool_size=pool_size)
        return cls(engine, session_factory(engine))

    async def check(self) -> None:
        await ping(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()


@dataclass(kw_only=True)
class Worker:
    """One consumer group member plus the relay of its service's outbox, run inside the app's lifespan."""

    config: ConsumerConfig
    bootstrap: str
    database: Database
    broker: BrokerLink
    processed: Table
    handler: BatchHandler
    outbox: Outbox | None = None
    poll_s: float = 1.0
    relay: OutboxRelay | None = field(init=False, default=None)
    _consumer: BatchConsumer | None = field(init=False, default=None)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)

    def start(self) -> None:
        if self.outbox is not None:
            self.relay = OutboxRelay(
                self.outbox,
                self.database.engine,
                self.broker.producer,
                poll_s=self.poll_s,
                confirm=self.broker.confirm_topics,
            )
        self._tasks.append(asyncio.create_task(self._run(), name=f"{self.config.name}-consumer"))

    async def _run(self) -> None:
        await self.broker.connected.wait()
        if self.relay is not None:
            self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.config.name}-relay"))
        kafka = make_consumer(
            self.bootstrap, self.config.topics, group_id=self.config.group_id, client_id=self.config.name
        )
        await start_with_retry(kafka, what=f"{self.config.name} consumer")
        self._consumer = BatchConsumer(
            self.config,
            consumer=kafka,
            sessions=self.database.sessions,
            processed=self.processed,
            handler=self.handler,
            dead_letters=DeadLetters(self.broker.producer, self.config.dead_letter_topic, self.config.name),
            after_commit=self.relay.wake if self.relay else None,
        )
        try:
            await self._consumer.run()
        finally:
            await kafka.stop()

    async def check(self) -> None:
        if self._consumer is None:
            raise ConnectionError("consumer not started yet")
        if not self._consumer.healthy:
            raise ConnectionError("consumer is retrying a batch")

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the batch in hand (its transaction and offset commit), then drain the outbox."""
        consumer_task = self._tasks[0] if self._tasks else None
        if self._consumer is None and consumer_task is not None:
            consumer_task.cancel()  # still connecting or joining the group: nothing processed to finish
        elif self._consumer is not None:
            self._consumer.stop()
        if consumer_task is not None and not consumer_task.done():
            try:
                await asyncio.wait_for(asyncio.shield(consumer_task), timeout_s)
            except TimeoutError:
                consumer_task.cancel()
        if self.relay is not None:
            await self.relay.stop()
        for task in self._tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class PortInUse(Exception):
    pass


def ensure_port_free(host: str, port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(f"port {port} on {host} ({what}) is already in use") from None
            raise PortInUse(f"cannot listen on {host}:{port} ({what}): {exc.strerror}") from None


def serve(app: FastAPI, *, host: str, port: int, what: str) -> None:
    ensure_port_free(host, port, what)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=15,
        server_header=False,
    )
    # uvicorn shuts down gracefully, then re-raises the signal to the handler it found: make that a
    # clean exit, so a SIGTERM'd service reports success after finishing its work.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    uvicorn.Server(config).run()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


@dataclass(kw_only=True)
class ConsumingService:
    """The parts of a service that consumes a topic and relays an outbox (the qualifier and the handoff):
    its database, broker link and worker, their readiness checks, and the order they start and stop in."""

    database: Database
    broker: BrokerLink
    worker: Worker
    readiness: Readiness

    @classmethod
    def build(
        cls,
        *,
        database_url: str,
        bootstrap: str,
        config: ConsumerConfig,
        processed: Table,
        handler: BatchHandler,
        outbox: Outbox,
        poll_s: float,
        topic_partitions: int = 6,
    ) -> ConsumingService:
        database = Database.connect(database_url)
        broker = BrokerLink(bootstrap, topic_partitions=topic_partitions)
        worker = Worker(
            config=config,
            bootstrap=bootstrap,
            database=database,
            broker=broker,
            processed=processed,
            handler=handler,
            outbox=outbox,
            poll_s=poll_s,
        )
        readiness = Readiness()
        readiness.add("database", database.check)
        readiness.add("broker", broker.check)
        readiness.add("consumer", worker.check)
        return cls(database=database, broker=broker, worker=worker, readiness=readiness)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self.broker.start()
        self.worker.start()
        try:
            yield
        finally:
            await self.worker.stop()
            await self.broker.close()
            await self.database.close()

"""What a service process needs at run time: a worker
that runs a batch consumer and an outbox relay, and a uvicorn runner with a clear port-in-use error."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Table

from .broker import BrokerLink
from .consumer import BatchConsumer, BatchHandler, ConsumerConfig, DeadLetters
from .db import Database
from .frozen import end_frozen_blockers_periodically
from .health import Readiness
from .kafka import make_consumer, start_with_retry
from .kafka_security import PLAINTEXT, KafkaSecurity
from .outbox import Outbox, OutboxRelay
from .retention import Retention, prune_periodically

log = logging.getLogger(__name__)

# A group member frozen mid-transaction (SIGSTOP, a paused VM) holds its row locks, and the partitions'
# next owner would wait on them: PostgreSQL ends such a session after this long (the group itself evicts
# a silent member after its 10 s session timeout). No transaction of a consuming service waits on its
# client that long.
FROZEN_MEMBER_S = 15.0
# ... but not one frozen in the middle of sending a statement: the members end those (frozen.py).
FROZEN_LOOK_EVERY_S = 5.0


def session_name(service: str) -> str:
    """The application_name of a consuming service's database sessions."""
    return f"leadstate-{service}"


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
    after_commit: Callable[[], None] | None = None  # for a worker without an outbox: told of each commit
    # Its own processed envelope ids are deleted once older than this (None: kept), and the rows of
    # `prune_also` by their own retention, every `prune_every_s` (services/common/retention.py).
    processed_keep: timedelta | None = None
    prune_also: Sequence[Retention] = ()
    prune_every_s: float = 3600.0
    # what runs the consumer loop: BatchConsumer, or a subclass that keeps its offsets with its state
    consumer_factory: Callable[..., BatchConsumer] = BatchConsumer
    relay: OutboxRelay | None = field(init=False, default=None)
    _consumer: BatchConsumer | None = field(init=False, default=None)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._run(), name=f"{self.config.name}-consumer"))
        if self.retentions:  # after the consumer's task: stop() finds that one first
            pruning = prune_periodically(self.database.engine, self.retentions, self.prune_every_s)
            self._tasks.append(asyncio.create_task(pruning, name=f"{self.config.name}-pruning"))
        breaker = end_frozen_blockers_periodically(
            self.database.engine, session_name(self.config.name), FROZEN_MEMBER_S, FROZEN_LOOK_EVERY_S
        )
        self._tasks.append(asyncio.create_task(breaker, name=f"{self.config.name}-frozen-members"))

    @property
    def retentions(self) -> list[Retention]:
        own = []
        if self.processed_keep is not None:
            mine = self.processed.c.consumer == self.config.name  # a schema's consumers share the table
            own.append(Retention(self.processed, "processed_at", self.processed_keep, where=mine))
        return [*own, *self.prune_also]

    async def _run(self) -> None:
        await self.broker.connected.wait()  # the producer exists (idempotent or not) from here on
        if self.outbox is not None:
            self.relay = OutboxRelay(
                self.outbox,
                self.database.engine,
                self.broker.producer,
                poll_s=self.poll_s,
                guard=self.broker.guarded_write,
            )
            self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.config.name}-relay"))
        kafka = make_consumer(
            self.bootstrap,
            self.config.topics,
            group_id=self.config.group_id,
            client_id=self.config.name,
            security=self.broker.security,
        )
        self._consumer = self.consumer_factory(
            self.config,
            consumer=kafka,
            sessions=self.database.sessions,
            processed=self.processed,
            handler=self.handler,
            dead_letters=DeadLetters(
                self.broker.producer,
                self.config.dead_letter_topic,
                self.config.name,
                guard=self.broker.guarded_write,
            ),
            after_commit=self.relay.wake_if_added if self.relay else self.after_commit,
        )
        listener = self._consumer.listener()
        if listener is not None:
            kafka.subscribe(list(self.config.topics), listener=listener)
        await start_with_retry(kafka, what=f"{self.config.name} consumer", preflight=self.broker.preflight)
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
            except asyncio.CancelledError:
                if not consumer_task.cancelled():  # our own cancellation, not the one asked for above
                    raise
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


# Set by devstack.spawn_service to the pid of the process that started this service.
PARENT_PID_ENV = "LEADSTATE_PARENT_PID"


def watch_parent(interval_s: float = 1.0) -> None:
    """Stop this service (as SIGTERM would: finish the work in hand) once the process that started it is
    gone, so a SIGKILLed `leadstate dev`, test or benchmark leaves no service holding its port. A thread
    polling the parent pid rather than prctl(PR_SET_PDEATHSIG): that signal fires when the parent's
    *thread* that forked us ends, which for a parent spawning from a worker thread is far too early."""
    raw = os.environ.get(PARENT_PID_ENV, "")
    if not raw.isdigit():
        return
    parent = int(raw)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        log.warning("the process that started this service (pid %s) is gone; stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


# How long an idle keep-alive connection stays open: longer than the idle timeouts of the proxies in
# front (AWS ALB 60 s, nginx upstream keepalive 60 s), so a proxy or client never sends a request on a
# connection the service is closing at that moment (uvicorn's 5 s default made such requests fail).
KEEP_ALIVE_S = 75


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
        timeout_keep_alive=KEEP_ALIVE_S,
        server_header=False,
        proxy_headers=False,  # services/common/proxy.py decides whose X-Forwarded-* to believe
    )
    # uvicorn shuts down gracefully, then re-raises the signal to the handler it found: make that a
    # clean exit, so a SIGTERM'd service reports success after finishing its work.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    watch_parent()
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
        security: KafkaSecurity = PLAINTEXT,
        processed_keep: timedelta | None = None,
        prune_also: Sequence[Retention] = (),
        prune_every_s: float = 3600.0,
        consumer_factory: Callable[..., BatchConsumer] = BatchConsumer,
    ) -> ConsumingService:
        database = Database.connect(
            database_url, idle_in_transaction_s=FROZEN_MEMBER_S, application_name=session_name(config.name)
        )
        broker = BrokerLink(bootstrap, topic_partitions=topic_partitions, security=security)
        worker = Worker(
            config=config,
            bootstrap=bootstrap,
            database=database,
            broker=broker,
            processed=processed,
            handler=handler,
            outbox=outbox,
            poll_s=poll_s,
            processed_keep=processed_keep,
            prune_also=prune_also,
            prune_every_s=prune_every_s,
            consumer_factory=consumer_factory,
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

"""Fault-injection machinery: the three services as processes that can be SIGKILLed and restarted on the
same port, a client that streams demo events and retries what was not acknowledged, and readers that
take whole topics and tables for the final audit.

Nothing here judges: the audit (audit.py) compares what was acknowledged with what was stored and
published.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.common import db
from services.qualifier.demo import generate_audience
from tests.conftest import API_KEY_ALL, WRITE_KEY
from tests.support import ServiceProcess, free_port, wait_ready

FULL = os.environ.get("LEADSTATE_CHAOS_FULL") == "1"
SERVICES = ("ingest", "qualifier", "handoff")
DEMO_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.example")  # the generator's identify traits


def scale(short: int, full: int) -> int:
    """`make test` runs the short version, `make chaos` (LEADSTATE_CHAOS_FULL=1) the full one."""
    return full if FULL else short


def demo_messages(n: int, *, seed: int) -> list[dict[str, Any]]:
    """The first n messages of a synthetic audience over the last 14 days (the qualifier's generator)."""
    start = datetime.now(UTC) - timedelta(days=14)
    leads = max(10, n // 8)
    while True:
        messages = generate_audience(leads, seed=seed, start=start)
        if len(messages) >= n:
            return messages[:n]
        leads *= 2


class Stack:
    """ingest, qualifier and handoff as `leadstate <service>` processes with fixed ports."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.ports = {name: free_port() for name in SERVICES}
        self.env = {**env, **{f"LEADSTATE_{n.upper()}_PORT": str(p) for n, p in self.ports.items()}}
        self.log_dir = log_dir
        self.processes = {name: ServiceProcess(name, self.env, log_dir) for name in SERVICES}
        self.kills: dict[str, int] = dict.fromkeys(SERVICES, 0)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    async def start(self, *names: str) -> None:
        for name in names or SERVICES:
            self.processes[name].start()
        for name in names or SERVICES:
            await wait_ready(self.url(name), timeout_s=60)

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown code runs, whatever was in flight is cut."""
        process = self.processes[name].process
        assert process is not None and process.poll() is None, f"{name} is not running: {self.log(name)}"
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.kills[name] += 1

    def restart(self, name: str) -> None:
        self.processes[name].start()

    def stop(self) -> dict[str, int | None]:
        return {
            name: (p.stop(signal.SIGTERM) if p.process is not None else None)
            for name, p in self.processes.items()
        }

    def assert_logs_clean(self) -> None:
        """No key and no demo email (personal data from identify traits) in what the services logged."""
        for name, process in self.processes.items():
            log = process.log_path.read_text(errors="replace") if process.log_path.exists() else ""
            for secret in (WRITE_KEY, API_KEY_ALL):
                assert secret not in log, f"{name} logged a key"
            emails = DEMO_EMAIL.findall(log)
            assert not emails, f"{name} logged personal data: {emails[:3]}"

    def log(self, name: str) -> str:
        path = self.processes[name].log_path
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@dataclass
class Tally:
    """What the clients saw."""

    sent: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    answers: dict[int, int] = field(default_factory=dict)
    connection_errors: int = 0
    retries: int = 0

    def count(self, status: int) -> None:
        self.answers[status] = self.answers.get(status, 0) + 1


async def post_until_acknowledged(
    client: httpx.AsyncClient,
    path: str,
    tally: Tally,
    *,
    retry_on: frozenset[int] = frozenset({503}),
    **kw: Any,
) -> httpx.Response:
    """Post, and post the same request again after a refused connection, a cut answer or a `retry_on`
    status, as a careful client does (Segment's SDKs retry with the same messageId)."""
    while True:
        try:
            answer = await client.post(path, **kw)
        except httpx.TransportError:
            tally.connection_errors += 1
            tally.retries += 1
            await asyncio.sleep(0.2)
            continue
        tally.count(answer.status_code)
        if answer.status_code in retry_on:
            tally.retries += 1
            await asyncio.sleep(min(float(answer.headers.get("Retry-After", "1")), 1.0))
            continue
        return answer


async def stream_events(
    base_url: str,
    messages: list[dict[str, Any]],
    tally: Tally,
    *,
    batch: int = 50,
    clients: int = 4,
    on_ack: Callable[[int], None] = lambda acknowledged: None,
) -> None:
    """Post the messages through /v1/batch from `clients` concurrent senders until each is acknowledged."""
    chunks = [messages[i : i + batch] for i in range(0, len(messages), batch)]
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for chunk in chunks:
        queue.put_nowait(chunk)

    async def sender() -> None:
        async with httpx.AsyncClient(base_url=base_url, auth=(WRITE_KEY, ""), timeout=30) as client:
            while not queue.empty():
                chunk = queue.get_nowait()
                ids = [m["messageId"] for m in chunk]
                tally.sent.update(ids)
                answer = await post_until_acknowledged(client, "/v1/batch", tally, json={"batch": chunk})
                assert answer.status_code == 200, f"ingest answered {answer.status_code}: {answer.text[:500]}"
                tally.acknowledged.update(ids)
                on_ack(len(tally.acknowledged))

    await asyncio.gather(*(sender() for _ in range(clients)))


class Killer:
    """SIGKILLs a service and restarts it (same port) each time progress passes the next of `kills`
    evenly spaced marks of `total`: every kill lands while the service has work in hand."""

    def __init__(self, stack: Stack, name: str, *, kills: int, total: int) -> None:
        self.stack, self.name = stack, name
        self.marks = [total * (i + 1) // (kills + 1) for i in range(kills)]

    def progressed(self, done: int) -> None:
        while self.marks and done >= self.marks[0]:
            self.marks.pop(0)
            self.stack.kill(self.name)
            self.stack.restart(self.name)

    async def watch(self, progress: Callable[[], Awaitable[int]]) -> None:
        """For a service whose progress the test can only observe (the qualifier's stored events)."""
        while self.marks:
            self.progressed(await progress())
            await asyncio.sleep(0.05)


async def connect(database_url: str) -> asyncpg.Connection:
    return await db.connect(database_url)


async def read_all(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes]]:
    """Every (key, value) on the topic now, from the beginning to each partition's end offset."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        # a metadata request for every topic. Read its answer, not the client's cluster view: Apache
        # Kafka's bootstrap metadata lists no topics (Tansu's lists all), and topics() does not store it.
        cluster = await consumer._client.fetch_all_metadata()
        numbers = cluster.partitions_for_topic(topic) or set()
        assert numbers, f"topic {topic} does not exist"
        partitions = [TopicPartition(topic, p) for p in sorted(numbers)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[tuple[bytes | None, bytes]] = []

        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in partitions])

        while await behind():
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            found.extend((r.key, r.value) for rs in batch.values() for r in rs)
        return found
    finally:
        await consumer.stop()

"""Durable means durable, on the embedded Apache Kafka (a broker of the test's own, its log directory kept
across restarts):

- everything SIGKILLed at once (the broker and ingest) right after ingest acknowledged events that no
  qualifier has consumed yet: the broker restarted on the same log directory, the services started,
  every acknowledged event is applied;
- the broker SIGKILLed under load and restarted while clients keep streaming: ingest answers 503 while
  it is down (never 200 for what it could not store), every acknowledged event is applied after the
  restart, and no service process is restarted.

Tansu keeps its topics in memory: its version of the second run is test_outages.py (restarted empty).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from services.common.embedded import Broker
from services.common.kafka import ensure_topics
from tests.chaos.audit import SUMMARY, Audit, audit, pending_outbox, record, stored_count, unprojected
from tests.chaos.harness import Stack, Tally, connect, demo_messages, scale, stream_events
from tests.conftest import WRITE_KEY, Topics
from tests.support import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.chaos, pytest.mark.brokers("kafka")]

EVENTS = scale(1_000, 20_000)
OUTAGE_S = scale(3, 10)  # how long the broker stays down (a fault's length, not a check)


async def _own_broker(broker_factory: Callable[[], Broker], topics: Topics, env: dict[str, str]) -> Broker:
    broker = broker_factory()
    await asyncio.to_thread(broker.start)
    await ensure_topics(broker.bootstrap, topics.all(), partitions=3)
    env["LEADSTATE_KAFKA_BOOTSTRAP"] = broker.bootstrap
    return broker


async def _applied(database_url: str, stack: Stack, env: dict[str, str], tally: Tally) -> Audit:
    """Wait until every acknowledged event is stored, both outboxes drained and the handoff has every MQL
    (its consumer may rejoin its group after the broker's restart later than the outbox drains)."""
    db = await connect(database_url)
    try:
        seen: dict[str, int] = {}

        async def quiet() -> bool:
            seen["missing"] = len(tally.acknowledged) - await stored_count(db, tally.acknowledged)
            seen["outbox"] = await pending_outbox(db)
            seen["unprojected"] = await unprojected(db)
            return not any(seen.values())

        try:
            await wait_until(quiet, timeout_s=scale(120, 900), what="every acknowledged event applied")
        except AssertionError as timeout:  # say which part stalled, and what the services said
            logs = "\n".join(f"--- {name} ---\n{stack.log(name)}" for name in stack.processes)
            raise AssertionError(f"{timeout}: {seen}\n{logs}") from None
        return await audit(
            db, database_url, env["LEADSTATE_KAFKA_BOOTSTRAP"], env, acknowledged=tally.acknowledged
        )
    finally:
        await db.close()


async def test_sigkill_of_everything_loses_no_acknowledged_event(
    env: dict[str, str],
    topics: Topics,
    database_url: str,
    broker_factory: Callable[[], Broker],
    tmp_path: Path,
) -> None:
    env = dict(env)
    broker = await _own_broker(broker_factory, topics, env)
    stack = Stack(env, tmp_path)
    tally = Tally()
    try:
        await stack.start("ingest")  # no qualifier yet: the acknowledged events live in the broker only
        await stream_events(stack.url("ingest"), demo_messages(EVENTS, seed=31), tally)
        db = await connect(database_url)
        try:
            assert await stored_count(db, tally.acknowledged) == 0, "the qualifier is not running"
        finally:
            await db.close()
        stack.kill("ingest")
        broker.kill()  # SIGKILL: no flush, no clean shutdown, as a power-cut of the process
        SUMMARY["kills"] += 2

        await asyncio.to_thread(broker.start)  # the same log directory
        stack.restart("ingest")
        await stack.start("qualifier", "handoff")
        result = await _applied(database_url, stack, env, tally)
    finally:
        codes = stack.stop()
    record(result, events_sent=len(tally.sent))
    assert len(tally.acknowledged) == EVENTS
    result.assert_sound()
    assert set(codes.values()) == {0}, {name: stack.log(name) for name in codes}


async def test_broker_sigkilled_under_load_then_restarted(
    env: dict[str, str],
    topics: Topics,
    database_url: str,
    broker_factory: Callable[[], Broker],
    tmp_path: Path,
) -> None:
    env = {**env, "LEADSTATE_PRODUCE_TIMEOUT_S": "1"}
    broker = await _own_broker(broker_factory, topics, env)
    stack = Stack(env, tmp_path)
    tally = Tally()
    under_load = asyncio.Event()
    refused: list[int] = []

    async def outage() -> None:
        await under_load.wait()
        broker.kill()
        SUMMARY["kills"] += 1
        async with httpx.AsyncClient(timeout=30) as client:
            for attempt in range(3):  # down: never a 200 for what the broker did not take
                answer = await client.post(
                    f"{stack.url('ingest')}/v1/track",
                    auth=(WRITE_KEY, ""),
                    json={"userId": "outage", "event": "Page Seen", "messageId": f"kafka-down-{attempt}"},
                )
                refused.append(answer.status_code)
        await asyncio.sleep(OUTAGE_S)
        await asyncio.to_thread(broker.start)
        SUMMARY["outages"] += 1

    def progressed(acknowledged: int) -> None:
        if acknowledged >= EVENTS // 3:
            under_load.set()

    try:
        await stack.start()
        pids = {name: p.process.pid for name, p in stack.processes.items() if p.process}
        await asyncio.gather(
            stream_events(stack.url("ingest"), demo_messages(EVENTS, seed=32), tally, on_ack=progressed),
            outage(),
        )
        result = await _applied(database_url, stack, env, tally)
        assert {name: p.process.pid for name, p in stack.processes.items() if p.process} == pids
    finally:
        codes = stack.stop()
    record(result, events_sent=len(tally.sent))
    print(f"\nkafka outage: {tally.answers} answers, {len(tally.acknowledged)} acknowledged, {result}")
    assert refused == [503, 503, 503], refused
    assert tally.answers.keys() <= {200, 503}, tally.answers
    assert len(tally.acknowledged) == EVENTS
    result.assert_sound()
    stack.assert_logs_clean()
    assert set(codes.values()) == {0}, {name: stack.log(name) for name in codes}

"""SIGTERM under load: ingest finishes the request in flight (here one whose body is still arriving) and
exits 0; the qualifier finishes its batch, commits the offsets of what it applied and exits 0, so its
successor redelivers nothing it already applied; nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.chaos.audit import audit, pending_outbox, record, stored_count, unprojected
from tests.chaos.harness import Stack, Tally, connect, demo_messages, scale, stream_events
from tests.conftest import WRITE_KEY
from tests.support import wait_ready, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

EVENTS = scale(1_500, 30_000)
TERMS = scale(1, 5)  # SIGTERMs of the qualifier


async def _post_slowly(port: int, body: bytes, halfway: asyncio.Event, finish: asyncio.Event) -> bytes:
    """A request whose body arrives in two parts: in flight from the first byte to the answer."""
    import base64

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    head = (
        f"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body[: len(body) // 2])
    await writer.drain()
    halfway.set()
    await finish.wait()
    writer.write(body[len(body) // 2 :])
    await writer.drain()
    answer = await reader.read()  # until the server closes: it is shutting down
    writer.close()
    return answer


async def _assert_nothing_redelivered(stack: Stack) -> None:
    """Each qualifier process skipped no envelope as already applied: its predecessor, stopped by SIGTERM,
    committed the offsets of every batch it had applied (the stream has no client retries here)."""
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"{stack.url('qualifier')}/metrics")).text
    assert _duplicates_skipped(metrics) == 0


def _duplicates_skipped(metrics: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(metrics)
        if family.name == "leadstate_duplicates"
        for s in family.samples
        if s.name == "leadstate_duplicates_total" and s.labels.get("consumer") == "qualifier"
    )


async def test_sigterm_under_load_finishes_work_and_loses_nothing(
    env: dict[str, str], database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    env = {**env, "LEADSTATE_CONSUMER_BATCH_MAX": "200"}
    stack = Stack(env, tmp_path)
    db = await connect(database_url)
    tally = Tally()
    try:
        await stack.start()
        ingest = stack.processes["ingest"]

        # ingest: SIGTERM while a request's body is still arriving
        slow = [{"type": "track", "userId": "slow-client", "event": "Page Seen", "messageId": "in-flight-1"}]
        halfway, finish = asyncio.Event(), asyncio.Event()
        in_flight = asyncio.create_task(
            _post_slowly(stack.ports["ingest"], orjson.dumps({"batch": slow}), halfway, finish)
        )
        await halfway.wait()
        await asyncio.sleep(0.3)  # let the server read the head: the request is now in its hands
        assert ingest.process is not None
        ingest.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)  # shutdown under way: it no longer accepts connections
        finish.set()
        answer = await in_flight
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
        assert b'{"success":true}' in answer
        assert await asyncio.to_thread(ingest.process.wait, 20) == 0, stack.log("ingest")
        tally.acknowledged.add("in-flight-1")
        stack.restart("ingest")
        await wait_ready(stack.url("ingest"))

        # qualifier: SIGTERM (twice) while it works through the stream
        messages = demo_messages(EVENTS, seed=31)
        stream = asyncio.create_task(stream_events(stack.url("ingest"), messages, tally))
        qualifier = stack.processes["qualifier"]
        for i in range(TERMS):
            mark = EVENTS * (i + 1) // (TERMS + 1)
            await wait_until(
                lambda mark=mark: _stored_at_least(db, mark), timeout_s=120, what=f"{mark} events stored"
            )
            await _assert_nothing_redelivered(stack)
            assert qualifier.stop(signal.SIGTERM) == 0, stack.log("qualifier")
            stack.restart("qualifier")
            await wait_ready(stack.url("qualifier"), timeout_s=60)
        await stream
        await wait_until(
            lambda: _all_stored(db, tally.acknowledged), timeout_s=scale(120, 900), what="everything stored"
        )
        await _assert_nothing_redelivered(stack)
        result = await audit(db, database_url, kafka_bootstrap, env, acknowledged=tally.acknowledged)
    finally:
        codes = stack.stop()
        await db.close()
    record(result, events_sent=len(tally.sent) + 1)
    result.assert_sound()
    stack.assert_logs_clean()
    assert set(codes.values()) == {0}, {name: stack.log(name) for name in codes}


async def _stored_at_least(db, n: int) -> bool:  # type: ignore[no-untyped-def]
    return int(await db.fetchval("SELECT count(*) FROM qualifier.events")) >= n


async def _all_stored(db, acknowledged: set[str]) -> bool:  # type: ignore[no-untyped-def]
    """Every acknowledged event stored, the outboxes drained, every MQL in the handoff's inbox."""
    return (
        await stored_count(db, acknowledged) == len(acknowledged)
        and await pending_outbox(db) == 0
        and await unprojected(db) == 0
    )

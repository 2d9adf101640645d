"""A zombie qualifier: q1 is frozen (SIGSTOP) while events stream in and it holds partitions, state in
its cache and records in hand; the group moves its partitions to q2, which applies more events to the
same leads; then q1 wakes (SIGCONT) still believing in its cache and its positions. The stored offsets
fence it and the lead versions refuse its stale writes: the audit finds the MQLs, decisions and lead
states equal to an offline replay, nothing lost, nothing applied twice.
"""

from __future__ import annotations

import signal
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.chaos.audit import SUMMARY, audit, pending_outbox, record, stored_count
from tests.chaos.harness import FULL, Tally, connect, demo_messages, scale, stream_events
from tests.chaos.test_scale_out import Fleet, fresh_topics
from tests.support import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.chaos, *([] if FULL else [pytest.mark.kafka_first])]

EVENTS = scale(3_000, 30_000)
PARTITIONS = 6
DRAIN_S = scale(180, 1_200)


async def _assigned(url: str) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{url}/metrics")).text
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("leadstate_consumer_assigned_partitions{")
    ]
    return max(values, default=0.0)


async def test_a_frozen_member_that_wakes_after_its_partitions_moved_changes_nothing(
    env: dict[str, str], database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    env = await fresh_topics(env, kafka_bootstrap, "zombie", PARTITIONS, batch_max=100)
    fleet = Fleet(env, tmp_path)
    events = Tally()
    messages = demo_messages(EVENTS, seed=43)
    thirds = [messages[: EVENTS // 3], messages[EVENTS // 3 : 2 * EVENTS // 3], messages[2 * EVENTS // 3 :]]
    db = await connect(database_url)
    try:
        for name, command in (
            ("ingest", "ingest"),
            ("q1", "qualifier"),
            ("q2", "qualifier"),
            ("h1", "handoff"),
        ):
            fleet.add(name, command)
        await fleet.ready()

        async def shared() -> bool:  # both members own partitions of lead.events and lead.decisions
            return min(await _assigned(fleet.url("q1")), await _assigned(fleet.url("q2"))) > 0

        await wait_until(shared, timeout_s=60, what="q1 and q2 sharing the partitions")
        q1 = fleet.members["q1"][0].process
        assert q1 is not None

        def freeze(acknowledged: int) -> None:
            if acknowledged >= EVENTS // 6 and q1.returncode is None and not frozen:
                q1.send_signal(signal.SIGSTOP)
                frozen.append(acknowledged)

        frozen: list[int] = []
        await stream_events(fleet.url("ingest"), thirds[0], events, on_ack=freeze)
        assert frozen, "q1 was frozen while events streamed in"

        async def moved() -> bool:  # the group evicted q1 (session timeout): q2 owns every partition
            return await _assigned(fleet.url("q2")) == 2 * PARTITIONS

        await wait_until(moved, timeout_s=60, what="q1's partitions moved to q2")
        await stream_events(fleet.url("ingest"), thirds[1], events)  # q2 alone, the same leads
        try:
            await wait_until(
                lambda: _all_stored(db, events.acknowledged), timeout_s=DRAIN_S, what="q2 applied them"
            )
        except AssertionError as exc:  # say who waits on whom: a frozen member must not hold q2 up
            sessions = await _sessions(db)
            raise AssertionError(f"{exc}\nsessions: {sessions}\nq2: {fleet.log('q2')[-3000:]}") from None
        q1.send_signal(signal.SIGCONT)  # wakes with its old cache, positions and fetched records
        await stream_events(fleet.url("ingest"), thirds[2], events)
        await fleet.ready()

        async def quiet() -> bool:
            return await _all_stored(db, events.acknowledged) and await pending_outbox(db) == 0

        await wait_until(quiet, timeout_s=DRAIN_S, what="every acknowledged event stored, outbox drained")
        mqls = int(await db.fetchval("SELECT count(*) FROM qualifier.mqls"))

        async def projected() -> bool:
            return int(await db.fetchval("SELECT count(*) FROM handoff.mqls")) >= mqls

        await wait_until(projected, timeout_s=DRAIN_S, what=f"{mqls} MQLs projected by the handoff")
        result = await audit(db, database_url, kafka_bootstrap, env, acknowledged=events.acknowledged)
        log_q1 = fleet.log("q1")
    finally:
        q1_process = fleet.members.get("q1", (None, 0))[0]
        if q1_process is not None and q1_process.process is not None:
            q1_process.process.send_signal(signal.SIGCONT)  # never leave a stopped process behind
        codes = fleet.stop()
        await db.close()
    record(result, events_sent=len(events.sent))
    print(f"\nzombie: {len(events.acknowledged)} acknowledged, frozen at {frozen}, {result}")
    assert len(events.acknowledged) == EVENTS
    result.assert_sound()
    assert result.mqls_replayed >= 10, "too few MQLs for the run to mean anything"
    assert "partitions assigned after a rebalance" in log_q1, log_q1[-2000:]
    assert set(codes.values()) == {0}, {name: fleet.log(name)[-2000:] for name in codes}
    SUMMARY["zombies woken"] += 1


async def _all_stored(db: asyncpg.Connection, ids: set[str]) -> bool:
    return await stored_count(db, ids) == len(ids)


async def _sessions(db: asyncpg.Connection) -> list[dict[str, object]]:
    rows = await db.fetch(
        "SELECT pid, state, wait_event_type, wait_event, pg_blocking_pids(pid) AS blockers,"
        " now() - xact_start AS in_transaction, left(query, 160) AS query"
        " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return [dict(row) for row in rows]

"""SIGKILL, Jepsen style: stream demo events through ingest while the qualifier is killed and restarted,
post sales decisions while the handoff is killed, stream more while ingest is killed under retrying
clients. Then audit: nothing acknowledged is lost, nothing is applied twice, and the MQLs on lead.mql are
exactly what a replay of the qualifier's event log computes with the worker's own code.

`make test` streams 2,000 + 1,000 events with 3 kills per service; `make chaos` 100,000 + 20,000 with a
kill every ~5,000 events (every few seconds at the qualifier's pace on 2 cores).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.chaos.audit import Audit, audit, pending_outbox, record, stored_count
from tests.chaos.harness import (
    Killer,
    Stack,
    Tally,
    connect,
    demo_messages,
    post_until_acknowledged,
    scale,
    stream_events,
)
from tests.conftest import API_KEY_ALL
from tests.support import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

EVENTS = scale(2_000, 100_000)
MORE_EVENTS = scale(1_000, 20_000)
KILLS = scale(3, 20)
# each qualifier restart waits for the group to evict the killed member (session timeout, 10 s)
QUALIFIER_KILLS = scale(2, 20)
DECISIONS = scale(60, 1_000)
DRAIN_S = scale(120, 1_800)


async def _quiet(db: asyncpg.Connection, acknowledged: set[str], decisions: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """Until every acknowledged event and decision is in the qualifier's log and both outboxes are drained."""

    async def done() -> bool:
        return (
            await stored_count(db, acknowledged | decisions) == len(acknowledged | decisions)
            and await pending_outbox(db) == 0
        )

    await wait_until(done, timeout_s=DRAIN_S, what="every acknowledged event stored and the outboxes drained")


async def _projected(db: asyncpg.Connection, mqls: int) -> None:
    async def all_in() -> bool:
        return int(await db.fetchval("SELECT count(*) FROM handoff.mqls")) >= mqls

    await wait_until(all_in, timeout_s=DRAIN_S, what=f"{mqls} MQLs projected by the handoff")


async def _decide(stack: Stack, db: asyncpg.Connection, tally: Tally, killer: Killer) -> dict[str, str]:
    """Decide open MQLs from 4 concurrent sales clients, each request with an Idempotency-Key (retried
    with the same key after a cut connection or a 503); returns decision_id -> mql_id of the 201s."""
    open_mqls = await db.fetch(
        "SELECT mql_id, lead_id FROM handoff.mqls WHERE decision_id IS NULL ORDER BY mql_id LIMIT $1",
        DECISIONS,
    )
    queue: asyncio.Queue[tuple[int, asyncpg.Record]] = asyncio.Queue()
    for item in enumerate(open_mqls):
        queue.put_nowait(item)
    decided: dict[str, str] = {}

    async def sales() -> None:
        headers = {"Authorization": f"Bearer {API_KEY_ALL}"}
        async with httpx.AsyncClient(base_url=stack.url("handoff"), headers=headers, timeout=30) as client:
            while not queue.empty():
                i, row = queue.get_nowait()
                body = (
                    {"outcome": "sql", "reason": "problem_confirmed", "decided_by": "chaos@sales"}
                    if i % 2 == 0
                    else {"outcome": "rejected", "reason": "no_budget", "decided_by": "chaos@sales"}
                )
                answer = await post_until_acknowledged(
                    client,
                    f"/v1/leads/{row['lead_id']}/decisions",
                    tally,
                    json=body,
                    headers={"Idempotency-Key": f"chaos-{row['mql_id']}"},
                )
                assert answer.status_code == 201, f"{answer.status_code}: {answer.text[:300]}"
                assert answer.json()["mql_id"] == row["mql_id"]
                decided[answer.json()["decision_id"]] = row["mql_id"]
                killer.progressed(len(decided))

    await asyncio.gather(*(sales() for _ in range(4)))
    assert len(decided) == len(open_mqls)
    return decided


async def test_sigkill_loses_nothing_and_doubles_nothing(
    env: dict[str, str], database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    # small batches: the qualifier commits often, so a kill lands between and inside transactions
    env = {**env, "LEADSTATE_CONSUMER_BATCH_MAX": "200"}
    stack = Stack(env, tmp_path)
    db = await connect(database_url)
    events, decisions = Tally(), Tally()
    try:
        started = time.monotonic()
        await stack.start()
        phases = {"start": time.monotonic() - started}

        # 1. the qualifier is killed while it folds the stream
        async def stored() -> int:
            return int(await db.fetchval("SELECT count(*) FROM qualifier.events"))

        await asyncio.gather(
            stream_events(stack.url("ingest"), demo_messages(EVENTS, seed=7), events),
            Killer(stack, "qualifier", kills=QUALIFIER_KILLS, total=EVENTS).watch(stored),
        )
        await _quiet(db, events.acknowledged)
        mqls = int(await db.fetchval("SELECT count(*) FROM qualifier.mqls"))
        await _projected(db, mqls)
        assert mqls >= 10, "too few MQLs to decide on"
        phases["qualifier kills"] = time.monotonic() - started - sum(phases.values())

        # 2. the handoff is killed while sales post decisions
        handoff_killer = Killer(stack, "handoff", kills=KILLS, total=min(DECISIONS, mqls))
        decided = await _decide(stack, db, decisions, handoff_killer)
        phases["handoff kills"] = time.monotonic() - started - sum(phases.values())

        # 3. ingest is killed while clients stream and retry
        ingest_killer = Killer(stack, "ingest", kills=KILLS, total=MORE_EVENTS)
        await stream_events(
            stack.url("ingest"),
            demo_messages(MORE_EVENTS, seed=8),
            events,
            on_ack=lambda n: ingest_killer.progressed(n - EVENTS),
        )
        await _quiet(db, events.acknowledged, set(decided))
        await _projected(db, int(await db.fetchval("SELECT count(*) FROM qualifier.mqls")))
        phases["ingest kills"] = time.monotonic() - started - sum(phases.values())
        result: Audit = await audit(
            db, database_url, kafka_bootstrap, env, acknowledged=events.acknowledged, decisions=decided
        )
    finally:
        codes = stack.stop()
        await db.close()
    record(result, events_sent=len(events.sent), kills=sum(stack.kills.values()))
    print(
        f"\ncrash run: {len(events.sent)} events sent, {result.acknowledged_events} acknowledged, "
        f"{result.stored_events} stored, {result.mqls_on_topic} MQLs (replay: {result.mqls_replayed}), "
        f"{len(decided)} decisions, kills {stack.kills}, "
        f"client retries {events.retries + decisions.retries}, "
        f"redelivered {result.redelivered}, doubled {len(result.doubled)}, "
        f"lost {len(result.lost_events) + len(result.lost_decisions)}; "
        f"seconds: {', '.join(f'{k} {v:.0f}' for k, v in phases.items())}"
    )
    assert events.answers.keys() <= {200, 503}, events.answers
    assert decisions.answers.keys() <= {201, 503}, decisions.answers
    assert len(events.acknowledged) == EVENTS + MORE_EVENTS
    assert stack.kills == {"ingest": KILLS, "qualifier": QUALIFIER_KILLS, "handoff": KILLS}
    result.assert_sound()
    stack.assert_logs_clean()
    assert set(codes.values()) == {0}, {name: stack.log(name) for name in codes}

"""Scale-out under faults: three qualifier and two handoff instances in their consumer groups on 12
partitions; while events stream in, qualifier and handoff members are SIGKILLed and restarted and a
fourth qualifier joins; then sales decide MQLs through both handoffs while one is killed. The audit: the
MQL and decision sets equal an offline replay of the qualifier's log, nothing is applied twice, nothing
acknowledged is lost, and the rebalances show in the members' logs.

`make test` streams 3,000 events; `make chaos` (LEADSTATE_CHAOS_FULL=1) 50,000.
"""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.common.kafka import ensure_topics
from services.common.topics import Topics
from tests.chaos.audit import SUMMARY, audit, pending_outbox, record, stored_count
from tests.chaos.harness import (
    FULL,
    Tally,
    connect,
    demo_messages,
    post_until_acknowledged,
    scale,
    stream_events,
)
from tests.conftest import API_KEY_ALL
from tests.support import ServiceProcess, free_port, wait_ready, wait_until

# `make test`: on Kafka (Tansu where Kafka cannot run); `make chaos`: on both
pytestmark = [pytest.mark.e2e, pytest.mark.chaos, *([] if FULL else [pytest.mark.kafka_first])]

EVENTS = scale(3_000, 50_000)
DECISIONS = scale(40, 1_000)
PARTITIONS = 12
DRAIN_S = scale(180, 1_800)


async def fresh_topics(
    env: dict[str, str], bootstrap: str, label: str, partitions: int, *, batch_max: int
) -> dict[str, str]:
    """The services' environment on topics of their own, created with `partitions` partitions."""
    topics = Topics.suffixed(f"{label}{uuid.uuid4().hex[:6]}")
    await ensure_topics(bootstrap, topics.all(), partitions=partitions)
    return {
        **env,
        "LEADSTATE_TOPIC_EVENTS": topics.events,
        "LEADSTATE_TOPIC_MQL": topics.mql,
        "LEADSTATE_TOPIC_DECISIONS": topics.decisions,
        "LEADSTATE_TOPIC_DEAD_LETTER": topics.dead_letter,
        "LEADSTATE_TOPIC_PARTITIONS": str(partitions),
        "LEADSTATE_CONSUMER_BATCH_MAX": str(batch_max),
    }


class Fleet:
    """Named instances of the services (q1, q2 … h1 …), each `leadstate <service>` on its own port."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env, self.log_dir = env, log_dir
        self.members: dict[str, tuple[ServiceProcess, int]] = {}
        self.kills = 0

    def add(self, name: str, command: str) -> None:
        port = free_port()
        own = {**self.env, f"LEADSTATE_{command.upper()}_PORT": str(port)}
        (self.log_dir / name).mkdir()
        self.members[name] = (ServiceProcess(command, own, self.log_dir / name).start(), port)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.members[name][1]}"

    async def ready(self) -> None:
        for name in self.members:
            await wait_ready(self.url(name), timeout_s=90)

    def kill_and_restart(self, name: str) -> None:
        process = self.members[name][0]
        assert process.process is not None and process.process.poll() is None, process.log()[-2000:]
        process.process.send_signal(signal.SIGKILL)
        process.process.wait()
        self.kills += 1
        process.start()

    def log(self, name: str) -> str:
        return self.members[name][0].log()

    def stop(self) -> dict[str, int]:
        return {name: process.stop(signal.SIGTERM) for name, (process, _) in self.members.items()}


class Faults:
    """The membership changes, each once the acknowledged count passes its mark."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.plan = [
            (EVENTS // 5, lambda: fleet.kill_and_restart("q1")),
            (2 * EVENTS // 5, lambda: fleet.add("q4", "qualifier")),
            (3 * EVENTS // 5, lambda: fleet.kill_and_restart("h1")),
            (4 * EVENTS // 5, lambda: fleet.kill_and_restart("q2")),
        ]

    def progressed(self, acknowledged: int) -> None:
        while self.plan and acknowledged >= self.plan[0][0]:
            self.plan.pop(0)[1]()


async def test_members_killed_restarted_and_added_on_twelve_partitions(
    env: dict[str, str], database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    env = await fresh_topics(env, kafka_bootstrap, "scale", PARTITIONS, batch_max=200)
    fleet = Fleet(env, tmp_path)
    events, decisions = Tally(), Tally()
    db = await connect(database_url)
    try:
        fleet.add("ingest", "ingest")
        for name in ("q1", "q2", "q3"):
            fleet.add(name, "qualifier")
        for name in ("h1", "h2"):
            fleet.add(name, "handoff")
        await fleet.ready()
        faults = Faults(fleet)
        await stream_events(
            fleet.url("ingest"), demo_messages(EVENTS, seed=41), events, on_ack=faults.progressed
        )
        assert not faults.plan, "every fault happened while events streamed in"
        await fleet.ready()

        async def quiet() -> bool:
            stored = await stored_count(db, events.acknowledged)
            return stored == len(events.acknowledged) and await pending_outbox(db) == 0

        await wait_until(quiet, timeout_s=DRAIN_S, what="every acknowledged event stored, outboxes drained")
        mqls = int(await db.fetchval("SELECT count(*) FROM qualifier.mqls"))

        async def projected() -> bool:
            return int(await db.fetchval("SELECT count(*) FROM handoff.mqls")) >= mqls

        await wait_until(projected, timeout_s=DRAIN_S, what=f"{mqls} MQLs projected by the handoffs")
        decided = await _decide(fleet, db, decisions)

        async def decisions_logged() -> bool:
            everything = events.acknowledged | set(decided)
            return await stored_count(db, everything) == len(everything) and await pending_outbox(db) == 0

        await wait_until(decisions_logged, timeout_s=DRAIN_S, what="every decision in the qualifier's log")
        result = await audit(
            db, database_url, kafka_bootstrap, env, acknowledged=events.acknowledged, decisions=decided
        )
        async with httpx.AsyncClient() as client:  # q3 was never killed: it saw every rebalance
            metrics = (await client.get(f"{fleet.url('q3')}/metrics")).text
    finally:
        codes = fleet.stop()
        await db.close()
    record(result, events_sent=len(events.sent), kills=fleet.kills)
    print(f"\nscale-out: {len(events.acknowledged)} acknowledged, {len(decided)} decisions, {result}")
    assert events.answers.keys() <= {200, 503}, events.answers
    assert len(events.acknowledged) == EVENTS and len(decided) >= min(DECISIONS, 10)
    result.assert_sound()
    assert result.mqls_replayed >= 10, "too few MQLs for the run to mean anything"
    # the group moved partitions between members: visible in a survivor's log and metrics
    assert "partitions assigned after a rebalance" in fleet.log("q3"), fleet.log("q3")[-2000:]
    rebalances = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("leadstate_consumer_rebalances_total{")
    ]
    assert rebalances and max(rebalances) >= 2, rebalances
    # what q3 caches is on its /metrics, within its budget (the test's default: 512 MB)
    cache = {
        line.split(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("leadstate_qualifier_cache_")
    }
    assert cache['leadstate_qualifier_cache_entries{kind="leads"}'] >= 0, cache
    assert 0 <= cache['leadstate_qualifier_cache_bytes{kind="leads"}'] <= 512 * 2**20, cache
    assert set(codes.values()) == {0}, {name: fleet.log(name)[-2000:] for name in codes}
    SUMMARY["members added"] += 1


async def _decide(fleet: Fleet, db: asyncpg.Connection, tally: Tally) -> dict[str, str]:
    """Decide open MQLs through both handoffs (alternately), h2 killed and restarted halfway."""
    open_mqls = await db.fetch(
        "SELECT mql_id, lead_id FROM handoff.mqls WHERE decision_id IS NULL ORDER BY mql_id LIMIT $1",
        DECISIONS,
    )
    decided: dict[str, str] = {}
    headers = {"Authorization": f"Bearer {API_KEY_ALL}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        for i, row in enumerate(open_mqls):
            if i == len(open_mqls) // 2:
                fleet.kill_and_restart("h2")
            handoff = fleet.url("h1" if i % 2 else "h2")
            answer = await post_until_acknowledged(
                client,
                f"{handoff}/v1/leads/{row['lead_id']}/decisions",
                tally,
                json={"outcome": "sql", "reason": "problem_confirmed", "decided_by": "scale@sales"},
                headers={"Idempotency-Key": f"scale-{row['mql_id']}"},
            )
            assert answer.status_code == 201, f"{answer.status_code}: {answer.text[:300]}"
            decided[answer.json()["decision_id"]] = row["mql_id"]
    return decided

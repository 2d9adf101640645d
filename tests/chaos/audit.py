"""The final audit of a fault run: what clients were told against what the services stored and published.

- lost: an event ingest acknowledged that is not in qualifier.events, or a decision the handoff
  acknowledged (201) that is not in handoff.decisions or never reached the qualifier's log;
- doubled: an MQL applied twice anywhere (two register rows for one episode, two inbox rows for one
  mql_id), a decision recorded twice, a consumer state that differs from a replay of the log;
- redelivered: the same envelope id more than once on a topic. At-least-once delivery allows that
  (a client retry after a cut answer, a relay killed between the broker's ack and marking the row sent);
  it is counted, and the consumers' state must show each was applied once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from services.common.db import create_engine
from services.common.envelope import parse_envelope
from services.common.policy_file import read_policy_file
from services.qualifier.replay import rebuild
from tests.chaos.harness import read_all

SUMMARY: dict[str, int] = Counter()  # printed at the end of the session (conftest.py)


@dataclass
class Audit:
    acknowledged_events: int = 0
    stored_events: int = 0
    lost_events: list[str] = field(default_factory=list)
    mqls_on_topic: int = 0
    mqls_replayed: int = 0
    mql_mismatch: list[str] = field(default_factory=list)
    mqa_mismatch: list[str] = field(default_factory=list)  # account MQAs (issue 18), the same way
    replay_differences: list[str] = field(default_factory=list)
    redelivered: dict[str, int] = field(default_factory=dict)  # topic -> extra copies
    doubled: list[str] = field(default_factory=list)
    decisions_acknowledged: int = 0
    lost_decisions: list[str] = field(default_factory=list)

    def assert_sound(self) -> None:
        lost = self.lost_events
        assert not lost, f"{len(lost)} acknowledged events lost: {lost[:10]}"
        assert not self.lost_decisions, f"acknowledged decisions lost: {self.lost_decisions[:10]}"
        assert not self.doubled, f"applied more than once: {self.doubled[:10]}"
        assert not self.mql_mismatch, f"lead.mql differs from the replay: {self.mql_mismatch[:10]}"
        assert not self.mqa_mismatch, f"MQAs on lead.mql differ from the replay: {self.mqa_mismatch[:10]}"
        differences = self.replay_differences
        assert not differences, f"stored state differs from the replay: {differences[:10]}"


async def pending_outbox(db: asyncpg.Connection) -> int:
    return int(
        await db.fetchval(
            "SELECT (SELECT count(*) FROM qualifier.outbox WHERE sent_at IS NULL)"
            " + (SELECT count(*) FROM handoff.outbox WHERE sent_at IS NULL)"
        )
    )


async def unprojected(db: asyncpg.Connection) -> int:
    """MQLs the qualifier registered that the handoff's inbox does not hold yet (it may lag the outbox)."""
    return int(
        await db.fetchval(
            "SELECT count(*) FROM qualifier.mqls q"
            " WHERE NOT EXISTS (SELECT 1 FROM handoff.mqls h WHERE h.mql_id = q.mql_id)"
        )
    )


async def stored_count(db: asyncpg.Connection, ids: set[str]) -> int:
    return int(await db.fetchval("SELECT count(*) FROM qualifier.events WHERE event_id = ANY($1)", list(ids)))


async def _ids(bootstrap: str, topic: str) -> list[str]:
    return [parse_envelope(value).id for _, value in await read_all(bootstrap, topic)]


def _redelivered(ids: list[str]) -> int:
    return sum(n - 1 for n in Counter(ids).values() if n > 1)


async def audit(
    db: asyncpg.Connection,
    database_url: str,
    bootstrap: str,
    env: dict[str, str],
    *,
    acknowledged: set[str],
    decisions: dict[str, str] | None = None,  # decision_id -> mql_id, answered 201
    broker_restarted: bool = False,
) -> Audit:
    """Call when the system is quiet: every acknowledged event stored, both outboxes drained."""
    result = Audit(acknowledged_events=len(acknowledged))
    stored = {r["event_id"] for r in await db.fetch("SELECT event_id FROM qualifier.events")}
    result.stored_events = len(stored)
    result.lost_events = sorted(acknowledged - stored)

    # MQLs: the topic against the replay of the stored log, with the worker's own code
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            policy = read_policy_file(Path(env.get("LEADSTATE_POLICY_PATH", "policies/default.yaml"))).policy
            replayed = await rebuild(conn, policy)
    finally:
        await engine.dispose()
    result.replay_differences = [f"{d.lead_id}: {d.what}" for d in replayed.differences]
    on_topic = [parse_envelope(v) for _, v in await read_all(bootstrap, env["LEADSTATE_TOPIC_MQL"])]
    mql_envelopes = [e for e in on_topic if e.type == "leadstate.lead.mql.v1"]
    mql_ids = [e.data["mql_id"] for e in mql_envelopes]
    mqa_ids = {e.data["mqa_id"] for e in on_topic if e.type == "leadstate.account.mqa.v1"}
    projected_mqas = {r["mqa_id"] for r in await db.fetch("SELECT mqa_id FROM handoff.mqas")}
    seen_mqas = mqa_ids | projected_mqas if broker_restarted else mqa_ids
    result.mqa_mismatch = sorted(seen_mqas ^ set(replayed.mqas))
    projected = {r["mql_id"] for r in await db.fetch("SELECT mql_id FROM handoff.mqls")}
    result.mqls_on_topic, result.mqls_replayed = len(set(mql_ids) | projected), len(replayed.mqls)
    if broker_restarted:
        # the embedded broker came back empty: what it held before is in the handoff's projection
        result.mql_mismatch = sorted((set(mql_ids) | projected) ^ set(replayed.mqls))
    else:
        result.mql_mismatch = sorted(set(mql_ids) ^ set(replayed.mqls))
    result.redelivered["mql"] = _redelivered([e.id for e in on_topic])
    result.redelivered["events"] = _redelivered(await _ids(bootstrap, env["LEADSTATE_TOPIC_EVENTS"]))

    # each MQL applied once by each consumer
    for table, column in (
        ("qualifier.mqls", "(lead_id, episode)"),
        ("handoff.mqls", "mql_id"),
        ("qualifier.mqas", "(account_id, episode)"),
        ("handoff.mqas", "mqa_id"),
    ):
        doubled = await db.fetch(f"SELECT {column}::text AS k FROM {table} GROUP BY 1 HAVING count(*) > 1")
        result.doubled += [f"{table} {r['k']}" for r in doubled]
    result.mql_mismatch += [f"{m} not in the handoff inbox" for m in sorted(set(mql_ids) - projected)]

    if decisions is not None:
        result.decisions_acknowledged = len(decisions)
        recorded = await db.fetch("SELECT decision_id, mql_id FROM handoff.decisions")
        by_mql = Counter(r["mql_id"] for r in recorded)
        result.doubled += [f"decision for {m} x{n}" for m, n in by_mql.items() if n > 1]
        result.lost_decisions = sorted(set(decisions) - {r["decision_id"] for r in recorded})
        logged = await db.fetch("SELECT event_id FROM qualifier.events WHERE type = 'decision'")
        in_log = {r["event_id"] for r in logged}
        result.lost_decisions += [f"{d} not in qualifier.events" for d in sorted(set(decisions) - in_log)]
        on_topic = await _ids(bootstrap, env["LEADSTATE_TOPIC_DECISIONS"])
        result.redelivered["decisions"] = _redelivered(on_topic)
    return result


def record(audit: Audit, **extra: int) -> None:
    SUMMARY["events acknowledged"] += audit.acknowledged_events
    SUMMARY["events stored"] += audit.stored_events
    SUMMARY["MQLs"] += audit.mqls_on_topic
    SUMMARY["decisions"] += audit.decisions_acknowledged
    SUMMARY["duplicates found (applied twice)"] += len(audit.doubled)
    SUMMARY["lost found"] += len(audit.lost_events) + len(audit.lost_decisions)
    SUMMARY["redelivered envelopes (applied once)"] += sum(audit.redelivered.values())
    for key, value in extra.items():
        SUMMARY[key.replace("_", " ")] += value

"""A recorded history for a demo audience: its events, plus the decisions sales would have made on the
MQLs a policy produced, from each lead's hidden intent. Pure and deterministic (seeded). A test fixture
(the lab's tests store it as the log): it folds with the worker's own `Ledger`, so the MQLs are the ones
the worker would have produced.

It plays the live loop: the audience is folded under the policy in time order; each MQL gets a sales
decision (`simulate_sales_outcome`) some hours later, which is folded in its turn, as the qualifier would
after reading it from `lead.decisions`. The entries come out in applied order, as the log stores them.
"""

from __future__ import annotations

import heapq
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from services.common.policy import Policy
from services.qualifier.demo import simulate_sales_outcome
from services.qualifier.eventlog import DECISION_KIND, LogEntry, from_row
from services.qualifier.mql import mql_id_for
from services.qualifier.stitching import Ledger, lead_id_for

DECISION_HOURS = (2.0, 40.0)  # sales answers within the SLA, mostly


@dataclass(frozen=True)
class History:
    entries: list[LogEntry]  # in applied order
    intents: dict[str, str]  # lead id -> hidden intent
    lead_ids: list[str | None] = field(default_factory=list)  # per entry: the lead it was folded into
    merged_into: dict[str, str] = field(default_factory=dict)  # as qualifier.leads.merged_into


def intents_by_lead(truth: dict[str, str]) -> dict[str, str]:
    """The demo's truth (keyed by userId, or anonymousId for leads never identified) by lead id."""
    out = {}
    for key, intent in truth.items():
        out[lead_id_for(f"anon:{key}" if key.startswith("anon-") else f"user:{key}")] = intent
    return out


def recorded_history(
    messages: list[dict[str, Any]], truth: dict[str, str], policy: Policy, *, seed: int, decided: float = 1.0
) -> History:
    """`decided`: the share of MQLs sales answer (the rest stay open, a backlog)."""
    rng = random.Random(seed)
    intents = intents_by_lead(truth)
    ledger = Ledger(policy)
    pending: list[tuple[datetime, int, LogEntry]] = []
    entries: list[LogEntry] = []
    lead_ids: list[str | None] = []

    def fold(entry: LogEntry) -> None:
        ledger.fold(entry.entry)
        lead_ids.append(ledger.applied[-1].lead_id)
        ledger.applied.clear()
        entries.append(entry)
        for fired in ledger.fired:
            if decided < 1.0 and rng.random() >= decided:
                continue
            entry = _decision(fired.lead_id, fired.mql, intents.get(fired.lead_id, "curious"), policy, rng)
            heapq.heappush(pending, (entry.time, len(entries) + len(pending), entry))
        ledger.fired.clear()

    for message in messages:
        time = parse_time(message["timestamp"])
        while pending and pending[0][0] <= time:
            fold(heapq.heappop(pending)[2])
        fold(log_entry(message))
    while pending:
        fold(heapq.heappop(pending)[2])
    return History(entries, intents, lead_ids, dict(ledger.merged_into))


def _decision(lead_id: str, mql: Any, intent: str, policy: Policy, rng: random.Random) -> LogEntry:
    outcome, code = simulate_sales_outcome(intent, rng)
    labels = {r.code: r.label for r in (*policy.sql_reasons, *policy.not_sql_reasons)}
    waited = timedelta(hours=rng.uniform(*DECISION_HOURS))
    decided_at = mql.at + waited
    decision_id = str(uuid.UUID(int=rng.getrandbits(128)))
    data = {
        "decision_id": decision_id,
        "lead_id": lead_id,
        "mql_id": mql_id_for(lead_id, mql.episode),
        "episode": mql.episode,
        "outcome": outcome,
        "reason": {"code": code, "label": labels.get(code, code)},
        "note": None,
        "decided_by": "demo-sales",
        "decided_at": decided_at.isoformat(),
        "policy_version": mql.policy_version,
        "rule": mql.rule_name,
        "time_to_decision_s": waited.total_seconds(),
    }
    return from_row(decision_id, DECISION_KIND, data, decided_at)


def log_entry(message: dict[str, Any]) -> LogEntry:
    """A demo message as the qualifier's log stores it."""
    return from_row(
        str(message["messageId"]), str(message["type"]), message, parse_time(message["timestamp"])
    )


def parse_time(value: Any) -> datetime:
    time = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return time if time.tzinfo else time.replace(tzinfo=UTC)

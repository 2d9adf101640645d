"""The advisor on the stored log: read-only, one snapshot, rows grouped by final lead as the lab reads
them (`lab/source.py`), each lead group folded under the baseline and every candidate (the work shared
across candidates: `shared.py`), then dropped; by `workers` processes, each on its share of the leads."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text as sql

from services.common.policy import load_policy

from ..eventlog import DECISION_KIND
from ..jobs import JobRefused
from ..lab.source import EmptyHistory, fold_stored, history_snapshot
from .advisor import plan
from .backtest import BASELINE, FanFolded
from .shared import sharing
from .suggest import MIN_DECISIONS, NotEnoughHistory, Window, advise

_DECIDED = """
SELECT coalesce(data->>'rule', ''), count(*) FROM qualifier.events
WHERE type = :kind AND (CAST(:since AS timestamptz) IS NULL OR occurred_at >= :since)
  AND (CAST(:until AS timestamptz) IS NULL OR occurred_at < :until)
GROUP BY 1
"""


async def suggest(
    database_url: str,
    policy_text: str,
    *,
    min_decisions: int = MIN_DECISIONS,
    window: Window = Window(),
    rules: Sequence[str] = (),
    policy_name: str = "policy.yaml",
    workers: int = 1,
) -> dict[str, Any]:
    """The advice as data. Raises PolicyError, EmptyHistory, or NotEnoughHistory saying what is missing."""
    policy = load_policy(policy_text, policy_name)
    async with history_snapshot(database_url, "no history to learn from") as conn:
        decided = await decided_counts(conn, window)
        found = plan(policy_text, policy, decided, min_decisions=min_decisions, rules=rules, window=window)
        folding = FanFolding(
            baseline_yaml=policy_text, candidates={f"c{i}": c.text for i, c in enumerate(found)}
        )
        folded = await fold_stored(conn, database_url, folding, until=window.until, workers=workers)
    return advise(
        folded,
        policy,
        policy_text,
        found,
        min_decisions=min_decisions,
        window=window,
        policy_name=policy_name,
        rules=tuple(rules) or None,
    )


async def decided_counts(conn: Any, window: Window) -> Counter[str]:
    """Recorded sales decisions per rule in the window (one aggregate: what `plan` checks first)."""
    rows = await conn.execute(
        sql(_DECIDED), {"kind": DECISION_KIND, "since": window.since, "until": window.until}
    )
    return Counter({str(r): int(n) for r, n in rows})


class AdviceRefused(JobRefused):
    """The history cannot support advice (a background job's failure, saying what is missing)."""


def suggest_in_this_process(database_url: str, policy_yaml: str, options: dict[str, Any]) -> dict[str, Any]:
    """`suggest` folding in this one process: the entry point of a limited worker process (the HTTP
    job), whose memory and CPU limits then measure the whole of it. `options`: JSON types only."""
    window = Window(
        since=datetime.fromisoformat(options["since"]) if options.get("since") else None,
        until=datetime.fromisoformat(options["until"]) if options.get("until") else None,
    )
    try:
        return asyncio.run(
            suggest(
                database_url,
                policy_yaml,
                min_decisions=int(options.get("min_decisions") or MIN_DECISIONS),
                window=window,
                rules=tuple(options.get("rules") or ()),
                policy_name=str(options.get("policy_name") or "policy.yaml"),
                workers=1,
            )
        )
    except (NotEnoughHistory, EmptyHistory) as exc:
        raise AdviceRefused(str(exc)) from None


@dataclass(frozen=True, kw_only=True)
class FanFolding:
    """What each process folds a lead group with: the baseline and every candidate as text."""

    baseline_yaml: str
    candidates: dict[str, str]

    def starter(self) -> Callable[[], Any]:
        baseline = load_policy(self.baseline_yaml, BASELINE)
        return sharing(baseline, {n: load_policy(t, n) for n, t in self.candidates.items()})

    def total(self) -> FanFolded:
        return FanFolded(mqls={name: [] for name in (BASELINE, *self.candidates)})

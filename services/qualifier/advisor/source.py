"""The advisor on the stored log: read-only, one snapshot, rows grouped by final lead as the lab reads
them (`lab/source.py`), each lead group folded under the baseline and every candidate (the work shared
across candidates: `shared.py`), then dropped; by `workers` processes, each on its share of the leads.
With account-rule candidates, a second pass as the lab's: the clusters of leads and accounts
(`lab/clusters.py`, from the memberships the first pass noted) folded under the baseline and every
account-rule candidate (`account_backtest.AccountFan`)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text as sql

from services.common.policy import load_policy

from ..eventlog import ACCOUNT_DECISION_KIND, DECISION_KIND
from ..jobs import JobRefused
from ..lab.clusters import account_clusters
from ..lab.source import ByCluster, EmptyHistory, fold_stored, history_snapshot
from .account_backtest import AccountFan
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
        accounts_decided = await decided_counts(conn, window, ACCOUNT_DECISION_KIND)
        found = plan(
            policy_text,
            policy,
            decided,
            accounts_decided,
            min_decisions=min_decisions,
            rules=rules,
            window=window,
        )
        folding = FanFolding(
            baseline_yaml=policy_text,
            candidates={f"c{i}": c.text for i, c in enumerate(found.leads)},
            accounts=bool(found.accounts),
        )
        folded = await fold_stored(conn, database_url, folding, until=window.until, workers=workers)
        if found.accounts:
            # the lab's account pass: the leads that were ever in an account, cluster by cluster
            clusters = ByCluster(account_clusters(folded.memberships.items()))
            folded.memberships = {}
            by_account = AccountFanFolding(
                baseline_yaml=policy_text,
                candidates={f"a{i}": c.text for i, c in enumerate(found.accounts)},
            )
            folded.extend(
                await fold_stored(
                    conn, database_url, by_account, until=window.until, workers=workers, rows=clusters
                )
            )
    return advise(
        folded,
        policy,
        policy_text,
        found.leads,
        account_candidates=found.accounts,
        min_decisions=min_decisions,
        window=window,
        policy_name=policy_name,
        rules=tuple(rules) or None,
        refused=found.refused,
    )


async def decided_counts(conn: Any, window: Window, kind: str = DECISION_KIND) -> Counter[str]:
    """Recorded sales decisions per rule in the window, on MQLs or (`kind` ACCOUNT_DECISION_KIND) on
    MQAs (one aggregate: what `plan` checks first)."""
    rows = await conn.execute(sql(_DECIDED), {"kind": kind, "since": window.since, "until": window.until})
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
    accounts: bool = False  # note each lead's accounts (`Folded.memberships`) for the account pass

    def starter(self) -> Callable[[], Any]:
        baseline = load_policy(self.baseline_yaml, BASELINE)
        candidates = {n: load_policy(t, n) for n, t in self.candidates.items()}
        return sharing(baseline, candidates, accounts=self.accounts)

    def total(self) -> FanFolded:
        return FanFolded(mqls={name: [] for name in (BASELINE, *self.candidates)})


@dataclass(frozen=True, kw_only=True)
class AccountFanFolding:
    """What each process folds a cluster of leads and accounts with: the lab's account pass under the
    baseline and every account-rule candidate (`AccountFan`)."""

    baseline_yaml: str
    candidates: dict[str, str]

    def starter(self) -> Callable[[], Any]:
        policies = {BASELINE: load_policy(self.baseline_yaml, BASELINE)}
        policies |= {n: load_policy(t, n) for n, t in self.candidates.items()}
        return lambda: AccountFan(policies)

    def total(self) -> FanFolded:
        return FanFolded(mqls={}, mqas={name: [] for name in (BASELINE, *self.candidates)})

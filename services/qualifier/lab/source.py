"""Reading the stored event log for a simulation: read-only, one consistent snapshot, both cores.

The log (qualifier.events, decisions included) is grouped by lead: each lead's final id (after stitching
merges) hashes to one partition, so every event that ever touched a lead, and every lead merged into
it, is folded by the same process. Rows come ordered by that final id, then in the worker's applied
order (`seq`): a final lead and the leads merged into it are folded completely into a ledger of their
own, their MQLs and decisions kept, and the ledger dropped before the next one. Memory is one lead's
states, not every lead's. Each process streams its rows with a server-side cursor, inside a snapshot
exported by the coordinating transaction, so all of them see the same history even while the worker
keeps writing. Nothing is written anywhere: an interrupted simulation leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.policy import Policy, load_policy

from ..eventlog import ACCOUNT_DECISION_KIND, LogEntry, from_row
from ..jobs import JobRefused
from ..stitching import fewer_collections
from .clusters import Clusters, account_clusters
from .fold import AccountPair, Folded, PolicyPair

BATCH = 2000

# data as text: orjson decodes it several times faster than the driver's jsonb codec (stdlib json)
_ROWS = """
SELECT coalesce(r.root, e.lead_id) AS root, e.event_id, e.type, e.data::text, e.occurred_at
FROM qualifier.events e
{roots}
WHERE true {until} {part}
ORDER BY 1, e.seq
"""
# A lead merged away points at the lead it joined (perhaps through a chain): its root is the live lead.
_ROOTS = """
LEFT JOIN (
  WITH RECURSIVE root(lead_id, root) AS (
    SELECT lead_id, lead_id FROM qualifier.leads WHERE merged_into IS NULL
    UNION ALL
    SELECT l.lead_id, r.root FROM qualifier.leads l JOIN root r ON l.merged_into = r.lead_id
  ) SELECT lead_id, root FROM root
) r ON r.lead_id = e.lead_id
"""
_UNTIL = "AND e.occurred_at < $1"
_PART = "AND mod(abs(hashtext(coalesce(r.root, e.lead_id))::bigint), ${n}) = ${m}"
# The account pass (AccountPair): the rows of each cluster of leads and accounts (clusters.py) in the
# worker's applied order, decisions on MQAs routed by their account (-1: an account no lead was seen in).
_BY_CLUSTER = """
SELECT x.cluster, x.event_id, x.type, x.data, x.occurred_at FROM (
  SELECT m.cluster, e.seq, e.event_id, e.type, e.data::text AS data, e.occurred_at
  FROM qualifier.events e
  {roots}
  JOIN unnest($1::text[], $2::int[]) AS m(lead_id, cluster) ON m.lead_id = coalesce(r.root, e.lead_id)
  WHERE e.type <> '{decided}' {until}
  UNION ALL
  SELECT coalesce(a.cluster, -1), e.seq, e.event_id, e.type, e.data::text, e.occurred_at
  FROM qualifier.events e
  LEFT JOIN unnest($3::text[], $4::int[]) AS a(account_id, cluster) ON a.account_id = e.data->>'account_id'
  WHERE e.type = '{decided}' {until}
) x {part}
ORDER BY 1, x.seq
"""
SORT_MEMORY = "SET LOCAL work_mem = '64MB'"  # the ordering by lead sorts in memory more often
# The first fetch waits for the database to sort the whole share by lead: longer than the
# connection's command timeout (30 s) on a log of several million rows.
FIRST_FETCH_TIMEOUT_S = 1800.0


class EmptyHistory(JobRefused):
    """Nothing stored to simulate on."""


@dataclass(frozen=True, kw_only=True)
class PairFolding:
    """What each process folds a group with: both policies as text (parsed once per process); a lead
    group with `PolicyPair`, or, for the account pass, a cluster with `AccountPair`."""

    baseline_yaml: str
    candidate_yaml: str
    accounts: bool = False

    def starter(self) -> Callable[[], Any]:
        baseline, candidate = _policies(self.baseline_yaml, self.candidate_yaml)
        if self.accounts:  # and the leads of an account for the sides the lead pass deferred
            return lambda: AccountPair(baseline, candidate, leads=True)
        return lambda: PolicyPair(baseline, candidate, defer=True)

    def total(self) -> Folded:
        return Folded()


Rows = Callable[[datetime | None, int, int], tuple[str, list[Any]]]  # (until, part, parts) -> query, args


def by_lead(until: datetime | None, part: int, parts: int) -> tuple[str, list[Any]]:
    """Every row, grouped by final lead; with `parts`, the share of `part`."""
    args: list[Any] = [until] if until else []
    split = ""
    if parts > 1:
        split = _PART.format(n=len(args) + 1, m=len(args) + 2)
        args += [parts, part]
    return _ROWS.format(roots=_ROOTS, until=_UNTIL if until else "", part=split), args


@dataclass(frozen=True)
class ByCluster:
    """The rows of leads in an account, grouped by cluster (picklable, for the worker processes)."""

    clusters: Clusters

    def __call__(self, until: datetime | None, part: int, parts: int) -> tuple[str, list[Any]]:
        c = self.clusters
        args: list[Any] = [c.leads, c.lead_clusters, c.accounts, c.account_clusters]
        before = ""
        if until:
            args.append(until)
            before = f"AND e.occurred_at < ${len(args)}"
        split = ""
        if parts > 1:
            args += [parts, part]
            split = f"WHERE mod(x.cluster + 1, ${len(args) - 1}) = ${len(args)}"
        query = _BY_CLUSTER.format(roots=_ROOTS, decided=ACCOUNT_DECISION_KIND, until=before, part=split)
        return query, args


@dataclass(frozen=True, kw_only=True)
class Partition:
    database_url: str
    folding: Any  # picklable, with `starter()` and `total()`: PairFolding, the advisor's FanFolding
    until: datetime | None
    part: int
    parts: int
    snapshot: str | None
    rows: Rows = by_lead


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


async def fold_log(
    database_url: str, baseline_yaml: str, candidate_yaml: str, *, until: datetime | None, workers: int
) -> Folded:
    """Fold the whole stored log under both policies; raises EmptyHistory when nothing is stored."""
    async with history_snapshot(database_url, "no history to simulate") as conn:
        folding = PairFolding(baseline_yaml=baseline_yaml, candidate_yaml=candidate_yaml)
        folded: Folded = await fold_stored(conn, database_url, folding, until=until, workers=workers)
        if AccountPair.needed(*_policies(baseline_yaml, candidate_yaml)):
            # accounts: a second pass over the leads that were ever in one, cluster by cluster
            clusters = ByCluster(account_clusters(folded.memberships.items()))
            folded.memberships = {}
            accounts = replace(folding, accounts=True)
            folded.extend(
                await fold_stored(conn, database_url, accounts, until=until, workers=workers, rows=clusters)
            )
            folded.land()
    return folded


@asynccontextmanager
async def history_snapshot(database_url: str, empty: str) -> AsyncIterator[AsyncConnection]:
    """A read-only, repeatable-read connection on the stored log (one snapshot for every read of a
    simulation or an advice, while the worker keeps writing); EmptyHistory("…: `empty`") when nothing is
    stored. Ended by a rollback: a reader leaves nothing behind."""
    from services.common.db import create_engine

    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            if not await conn.scalar(text("SELECT EXISTS (SELECT 1 FROM qualifier.events)")):
                raise EmptyHistory(f"the event log (qualifier.events) is empty: {empty}")
            yield conn
            await conn.rollback()
    finally:
        await engine.dispose()


async def fold_stored(
    conn: AsyncConnection,
    database_url: str,
    folding: Any,
    *,
    until: datetime | None,
    workers: int,
    rows: Rows = by_lead,
) -> Any:
    """The stored log folded group by group (`rows`: by final lead, or by cluster) with `folding`, on
    `conn`'s snapshot (a repeatable read transaction): by `workers` processes, each on its share of the
    groups, results added up."""
    if workers <= 1:
        return await fold_groups(conn, folding.starter(), folding.total(), until, rows=rows)
    snapshot = await conn.scalar(text("SELECT pg_export_snapshot()"))
    parts = [
        Partition(
            database_url=database_url,
            folding=folding,
            until=until,
            part=i,
            parts=workers,
            snapshot=snapshot,
            rows=rows,
        )
        for i in range(workers)
    ]
    # spawn, not fork: the caller may be a server with threads and a running event loop
    context = multiprocessing.get_context("spawn")
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = await asyncio.gather(*(loop.run_in_executor(pool, fold_partition, p) for p in parts))
    total = folding.total()
    for part in results:
        total.extend(part)
    return total


def fold_partition(partition: Partition) -> Any:
    """One process's share (the executor's entry point)."""
    return asyncio.run(_fold_partition(partition))


async def _fold_partition(p: Partition) -> Any:
    from services.common.db import create_engine

    engine = create_engine(p.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            if p.snapshot:
                await conn.execute(text(f"SET TRANSACTION SNAPSHOT '{p.snapshot}'"))
            start, total = p.folding.starter(), p.folding.total()
            folded = await fold_groups(conn, start, total, p.until, p.part, p.parts, rows=p.rows)
            await conn.rollback()
    finally:
        await engine.dispose()
    return folded


async def fold_groups(
    conn: AsyncConnection,
    start: Callable[[], Any],
    total: Folded,
    until: datetime | None,
    part: int = 0,
    parts: int = 1,
    *,
    rows: Rows = by_lead,
) -> Any:
    """Each group's rows (a final lead's, by default) folded by a fresh `start()` (anything with `fold`
    and `finish`), its result added to `total`, the folder dropped before the next group."""
    query, args = rows(until, part, parts)
    await conn.execute(text(SORT_MEMORY))
    folder: Any = None
    current = None
    with fewer_collections():
        async for root, entry in _entries(conn, query, args):
            if root != current:
                if folder is not None:
                    total.extend(folder.finish())
                folder, current = start(), root
            folder.fold(entry)
        if folder is not None:
            total.extend(folder.finish())
    return total


async def _entries(conn: AsyncConnection, query: str, args: list[Any]) -> AsyncIterator[tuple[Any, LogEntry]]:
    """The rows of `query` (root, event_id, type, data as text, occurred_at), streamed, as log entries."""
    raw = (await conn.get_raw_connection()).driver_connection  # asyncpg: no per-row SQLAlchemy work
    assert raw is not None, "the connection is open"
    loads = orjson.loads
    cursor = raw.cursor(query, *args, prefetch=BATCH, timeout=FIRST_FETCH_TIMEOUT_S)
    async for root, event_id, type_, data, occurred_at in cursor:
        yield root, from_row(event_id, type_, loads(data), occurred_at)


def _policies(baseline_yaml: str, candidate_yaml: str) -> tuple[Policy, Policy]:
    return load_policy(baseline_yaml, "baseline"), load_policy(candidate_yaml, "candidate")

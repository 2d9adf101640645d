"""Reading the stored event log for a simulation: read-only, one consistent snapshot, both cores.

The log (qualifier.events, decisions included) is split by lead: each lead's final id (after stitching
merges) hashes to one partition, so every event that ever touched a lead, and every lead merged into
it, is folded by the same process in the worker's applied order (`seq`). Each process streams its rows
with a server-side cursor, inside a snapshot exported by the coordinating transaction, so all of them
see the same history even while the worker keeps writing. Nothing is written anywhere: an interrupted
simulation leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from ..eventlog import from_row
from ..policy import Policy, load_policy
from .fold import Folded, PolicyPair

BATCH = 2000

_ROWS = """
SELECT e.event_id, e.type, e.data, e.occurred_at FROM qualifier.events e
{join}
WHERE true {until} {part}
ORDER BY e.seq
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
_PART = "AND mod(abs(hashtext(coalesce(r.root, e.lead_id))::bigint), :parts) = :part"


class EmptyHistory(Exception):
    """Nothing stored to simulate on."""


@dataclass(frozen=True, kw_only=True)
class Partition:
    database_url: str
    baseline_yaml: str
    candidate_yaml: str
    until: datetime | None
    part: int
    parts: int
    snapshot: str | None


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


async def fold_log(
    database_url: str, baseline_yaml: str, candidate_yaml: str, *, until: datetime | None, workers: int
) -> Folded:
    """Fold the whole stored log under both policies; raises EmptyHistory when nothing is stored."""
    from services.common.db import create_engine

    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            if not await conn.scalar(text("SELECT EXISTS (SELECT 1 FROM qualifier.events)")):
                raise EmptyHistory("the event log (qualifier.events) is empty: no history to simulate")
            if workers <= 1:
                pair = PolicyPair(*_policies(baseline_yaml, candidate_yaml))
                await _stream(conn, pair, until, 0, 1)
                return pair.finish()
            snapshot = await conn.scalar(text("SELECT pg_export_snapshot()"))
            parts = [
                Partition(
                    database_url=database_url,
                    baseline_yaml=baseline_yaml,
                    candidate_yaml=candidate_yaml,
                    until=until,
                    part=i,
                    parts=workers,
                    snapshot=snapshot,
                )
                for i in range(workers)
            ]
            # spawn, not fork: the caller may be a server with threads and a running event loop
            context = multiprocessing.get_context("spawn")
            loop = asyncio.get_running_loop()
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                results = await asyncio.gather(
                    *(loop.run_in_executor(pool, fold_partition, p) for p in parts)
                )
            await conn.rollback()
    finally:
        await engine.dispose()
    total = Folded()
    for part in results:
        total.extend(part)
    return total


def fold_partition(partition: Partition) -> Folded:
    """One process's share (the executor's entry point)."""
    return asyncio.run(_fold_partition(partition))


async def _fold_partition(p: Partition) -> Folded:
    from services.common.db import create_engine

    pair = PolicyPair(*_policies(p.baseline_yaml, p.candidate_yaml))
    engine = create_engine(p.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            if p.snapshot:
                await conn.execute(text(f"SET TRANSACTION SNAPSHOT '{p.snapshot}'"))
            await _stream(conn, pair, p.until, p.part, p.parts)
            await conn.rollback()
    finally:
        await engine.dispose()
    return pair.finish()


async def _stream(
    conn: AsyncConnection, pair: PolicyPair, until: datetime | None, part: int, parts: int
) -> None:
    split = parts > 1
    query = _ROWS.format(
        join=_ROOTS if split else "",
        until="AND e.occurred_at < :until" if until else "",
        part=_PART if split else "",
    )
    params: dict[str, Any] = {}
    if until:
        params["until"] = until
    if split:
        params.update(parts=parts, part=part)
    typed = text(query).columns(event_id=Text, type=Text, data=JSONB, occurred_at=DateTime(timezone=True))
    stream = await conn.stream(typed, params)
    async for rows in stream.partitions(BATCH):
        for row in rows:
            pair.fold(from_row(row.event_id, row.type, row.data, row.occurred_at))


def _policies(baseline_yaml: str, candidate_yaml: str) -> tuple[Policy, Policy]:
    return load_policy(baseline_yaml, "baseline"), load_policy(candidate_yaml, "candidate")

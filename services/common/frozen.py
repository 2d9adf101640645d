"""Ending the database sessions of a frozen group member.

A member frozen mid-transaction (SIGSTOP, a paused VM, a long stop-the-world pause) keeps its row locks,
and the next owner of its partitions waits on them. PostgreSQL ends a session idle in its transaction
after FROZEN_MEMBER_S (`idle_in_transaction_session_timeout`), but not one frozen in the middle of sending
a statement: with the extended protocol, a Parse received and its Bind (which carries the parameters, large
for a batch) not yet complete leaves the backend reading from its client under no timeout at all, holding
whatever the transaction locked before. The zombie chaos test met exactly that: the second member retried
its batch every 30 s, blocked for as long as the first stayed frozen.

So every member of a consuming service looks every few seconds for sessions of its own service that block
another session of its own service and whose transaction is older than FROZEN_MEMBER_S, and ends them.
Their transaction rolls back, which the stored-offsets fence and the event log's ids make harmless: a
member that wakes finds its connection gone, retries, and is fenced.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

END_BLOCKERS = text(
    """
    SELECT b.pid, pg_terminate_backend(b.pid) AS ended, extract(epoch FROM now() - b.xact_start) AS held_s
    FROM pg_stat_activity AS b
    WHERE b.datname = current_database() AND b.application_name = :application AND b.pid <> pg_backend_pid()
      AND b.xact_start < now() - make_interval(secs => :older_than_s)
      AND b.pid IN (
        SELECT unnest(pg_blocking_pids(w.pid)) FROM pg_stat_activity AS w
        WHERE w.datname = current_database() AND w.application_name = :application
          AND w.wait_event_type = 'Lock'
      )
    """
)


async def end_frozen_blockers(engine: AsyncEngine, application: str, older_than_s: float) -> list[int]:
    """The pids of the sessions ended: `application`'s sessions in a transaction older than
    `older_than_s` that another of `application`'s sessions waits on."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(END_BLOCKERS, {"application": application, "older_than_s": older_than_s})
        ).all()
    for pid, ended, held_s in rows:
        log.warning(
            "ended a frozen member's database session that blocked this service",
            extra={"pid": pid, "ended": ended, "transaction_s": round(float(held_s), 1)},
        )
    return [pid for pid, ended, _ in rows if ended]


async def end_frozen_blockers_periodically(
    engine: AsyncEngine, application: str, older_than_s: float, every_s: float
) -> None:
    """Runs until cancelled; a failed look (the database away, no right to end a session) is logged."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await end_frozen_blockers(engine, application, older_than_s)
        except Exception as exc:
            log.warning("looking for frozen members' sessions failed", extra={"error": str(exc)[:200]})

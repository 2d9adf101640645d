"""Policy simulations as background jobs: a row per request in handoff.simulations, the policy lab's
report written into it once done.

A job runs in the service process that accepted it (its folding in worker processes), one at a time
per process. It refreshes `heartbeat_at` while it runs; a queued or running job whose heartbeat stopped
(the process died or restarted) reads as failed, so a poller is never left waiting for ever. The
simulation itself only reads: an interrupted one leaves nothing behind but its failed row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, DateTime, Table, Text, insert, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.qualifier.lab.simulate import simulate
from services.qualifier.lab.source import EmptyHistory

from .tables import metadata

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
STALE_AFTER = timedelta(seconds=60)  # many missed heartbeats: the job's process is gone

simulations = Table(
    "simulations",
    metadata,
    Column("simulation_id", Text, primary_key=True),
    Column("status", Text, nullable=False),
    Column("candidate_version", Text, nullable=False),
    Column("baseline_version", Text, nullable=False),
    Column("candidate", Text, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("report", JSONB),
    Column("error", Text),
)


async def history_is_empty(session: AsyncSession) -> bool:
    return not await session.scalar(text("SELECT EXISTS (SELECT 1 FROM qualifier.events)"))


async def create_job(
    session: AsyncSession, *, candidate_yaml: str, candidate_version: str, baseline_version: str, by: str
) -> str:
    now = datetime.now(UTC)
    job_id = "sim_" + uuid.uuid4().hex
    await session.execute(
        insert(simulations).values(
            simulation_id=job_id,
            status="queued",
            candidate_version=candidate_version,
            baseline_version=baseline_version,
            candidate=candidate_yaml,
            requested_by=by,
            created_at=now,
            heartbeat_at=now,
        )
    )
    await session.commit()
    return job_id


async def read_job(session: AsyncSession, job_id: str) -> dict[str, Any] | None:
    row = (await session.execute(select(simulations).where(simulations.c.simulation_id == job_id))).first()
    if row is None:
        return None
    job = dict(row._mapping)
    if job["status"] in ("queued", "running") and datetime.now(UTC) - job["heartbeat_at"] > STALE_AFTER:
        job.update(status="failed", error="interrupted: the service running it stopped; post it again")
    return job


async def run_job(
    sessions: async_sessionmaker[AsyncSession],
    gate: asyncio.Semaphore,
    job_id: str,
    *,
    database_url: str,
    baseline_yaml: str,
    candidate_yaml: str,
) -> None:
    beat = asyncio.create_task(_heartbeat(sessions, job_id))
    try:
        async with gate:
            await _set(sessions, job_id, status="running")
            report = await simulate(database_url, baseline_yaml, candidate_yaml)
        await _set(sessions, job_id, status="done", report=report, finished_at=datetime.now(UTC))
    except EmptyHistory as exc:
        await _set(sessions, job_id, status="failed", error=str(exc), finished_at=datetime.now(UTC))
    except Exception as exc:  # the poller must learn it failed, and why
        log.exception("policy simulation %s failed", job_id)
        error = f"{type(exc).__name__}: {exc}"
        await _set(sessions, job_id, status="failed", error=error, finished_at=datetime.now(UTC))
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat


async def _heartbeat(sessions: async_sessionmaker[AsyncSession], job_id: str) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        with contextlib.suppress(Exception):  # a missed beat is harmless; many mean the job is gone
            await _set(sessions, job_id)


async def _set(sessions: async_sessionmaker[AsyncSession], job_id: str, **values: Any) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(simulations)
            .where(simulations.c.simulation_id == job_id)
            .values(heartbeat_at=datetime.now(UTC), **values)
        )

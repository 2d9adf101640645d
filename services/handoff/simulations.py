"""Policy simulations as background jobs: a row per request in handoff.simulations, the policy lab's
report written into it once done.

A job is scheduled by the service process that accepted it, one at a time per process, and runs in a
worker process of its own under the LEADSTATE_SIMULATION_* limits (`services.common.limited`): a
candidate anyone with a report key can post must not take the service's memory or cores. Over a
limit, or if the worker dies, the job ends `failed` with the reason and the next one starts. The
service refreshes `heartbeat_at` while a job is queued or runs; a job whose heartbeat stopped (the
service died or restarted) reads as failed, so a poller is never left waiting for ever. The
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

from services.common.limited import ChildDied, LimitExceeded, Limits, run_limited
from services.common.settings import Settings
from services.qualifier.lab.simulate import simulate_in_this_process
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
    limits: Limits,
) -> None:
    beat = asyncio.create_task(_heartbeat(sessions, job_id))
    try:
        async with gate:
            await _set(sessions, job_id, status="running")
            report = await run_limited(
                simulate_in_this_process, database_url, baseline_yaml, candidate_yaml, limits=limits
            )
        await _set(sessions, job_id, status="done", report=report, finished_at=datetime.now(UTC))
    except (EmptyHistory, LimitExceeded, ChildDied) as exc:
        log.warning("policy simulation %s failed: %s", job_id, exc)
        await _set(sessions, job_id, status="failed", error=str(exc), finished_at=datetime.now(UTC))
    except Exception as exc:  # the poller must learn it failed, and why
        log.exception("policy simulation %s failed", job_id)
        error = f"{type(exc).__name__}: {exc}"
        await _set(sessions, job_id, status="failed", error=error, finished_at=datetime.now(UTC))
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat


def simulation_limits(settings: Settings) -> Limits:
    return Limits(
        wall_s=settings.simulation_timeout_s,
        memory_bytes=settings.simulation_memory_mb * 1024 * 1024,
        cpu_s=settings.simulation_cpu_s,
    )


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

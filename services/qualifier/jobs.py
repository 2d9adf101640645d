"""Background jobs of the qualifier's HTTP API (qualifier.jobs): a row per accepted request of any kind
(`simulation` today), its result written into it once done.

A job is scheduled by the process that accepted it, one at a time per process, and runs in a worker
process of its own under the LEADSTATE_SIMULATION_* limits (`services.common.limited`): a candidate
anyone with a report key can post must not take the service's memory or cores. Over a limit, or if the
worker dies, the job ends `failed` with the reason and the next one starts. The service refreshes
`heartbeat_at` while a job is queued or runs; a job whose heartbeat stopped (the service died or
restarted) reads as failed, so a poller is never left waiting for ever. A job only reads the history:
an interrupted one leaves nothing behind but its failed row.

A new kind of job brings its kind name, its params and a picklable function run in the worker process
(`run_job(..., work=fn, args=...)`); the table, the queue and the heartbeat are shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.limited import ChildDied, LimitExceeded, Limits, run_limited
from services.common.settings import Settings

from .tables import jobs

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
STALE_AFTER = timedelta(seconds=60)  # many missed heartbeats: the job's process is gone


class JobRefused(Exception):
    """What the job's function raises for a known reason (no history, …): failed with that message."""


@dataclass(frozen=True, kw_only=True)
class JobSlots:
    """One job at a time per process (the rest queue on the gate); running tasks are held here so they
    are not garbage-collected while they run."""

    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


async def create_job(session: AsyncSession, *, kind: str, params: dict[str, Any], by: str) -> str:
    now = datetime.now(UTC)
    job_id = f"{kind[:3]}_{uuid.uuid4().hex}"
    await session.execute(
        insert(jobs).values(
            job_id=job_id,
            kind=kind,
            status="queued",
            params=params,
            requested_by=by,
            created_at=now,
            heartbeat_at=now,
        )
    )
    await session.commit()
    return job_id


async def read_job(session: AsyncSession, kind: str, job_id: str) -> dict[str, Any] | None:
    query = select(jobs).where(jobs.c.job_id == job_id, jobs.c.kind == kind)
    row = (await session.execute(query)).first()
    return None if row is None else _as_seen(dict(row._mapping))


async def recent_jobs(session: AsyncSession, kind: str, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` jobs of a kind, newest first (index jobs_kind_created)."""
    query = select(jobs).where(jobs.c.kind == kind).order_by(jobs.c.created_at.desc()).limit(limit)
    return [_as_seen(dict(row._mapping)) for row in await session.execute(query)]


def _as_seen(job: dict[str, Any]) -> dict[str, Any]:
    """A job whose heartbeat stopped reads as failed: no poller waits for ever on a dead service."""
    if job["status"] in ("queued", "running") and datetime.now(UTC) - job["heartbeat_at"] > STALE_AFTER:
        job.update(status="failed", error="interrupted: the service running it stopped; post it again")
    return job


def start_job(
    slots: JobSlots,
    sessions: async_sessionmaker[AsyncSession],
    job_id: str,
    *,
    work: Callable[..., dict[str, Any]],
    args: tuple[Any, ...],
    limits: Limits,
) -> None:
    """Run `work(*args)` in a limited worker process, in the background, after the jobs before it."""
    task = asyncio.create_task(run_job(sessions, slots.gate, job_id, work=work, args=args, limits=limits))
    slots.tasks.add(task)
    task.add_done_callback(slots.tasks.discard)


async def run_job(
    sessions: async_sessionmaker[AsyncSession],
    gate: asyncio.Semaphore,
    job_id: str,
    *,
    work: Callable[..., dict[str, Any]],
    args: tuple[Any, ...],
    limits: Limits,
) -> None:
    beat = asyncio.create_task(_heartbeat(sessions, job_id))
    try:
        async with gate:
            await _set(sessions, job_id, status="running")
            result = await run_limited(work, *args, limits=limits)
        await _set(sessions, job_id, status="done", result=result, finished_at=datetime.now(UTC))
    except (JobRefused, LimitExceeded, ChildDied) as exc:
        log.warning("job %s failed: %s", job_id, exc)
        await _set(sessions, job_id, status="failed", error=str(exc), finished_at=datetime.now(UTC))
    except Exception as exc:  # the poller must learn it failed, and why
        log.exception("job %s failed", job_id)
        error = f"{type(exc).__name__}: {exc}"
        await _set(sessions, job_id, status="failed", error=error, finished_at=datetime.now(UTC))
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat


def job_limits(settings: Settings) -> Limits:
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
            update(jobs).where(jobs.c.job_id == job_id).values(heartbeat_at=datetime.now(UTC), **values)
        )

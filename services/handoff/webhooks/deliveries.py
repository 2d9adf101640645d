"""Delivery rows: one per (endpoint, event), written in the consumer's transaction (so an event whose
offset was committed has its deliveries stored), claimed head-first per (endpoint, lead), and
finished as delivered or failed. The rows are the dispatcher's outbox and what GET .../deliveries shows."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, text, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from .endpoints import signing_secrets
from .tables import webhook_deliveries as d
from .tables import webhook_endpoints as e
from .transport import Attempt

CLAIM_LOCK = zlib.crc32(b"handoff.webhook_deliveries")


@dataclass(frozen=True)
class Retries:
    """The retry schedule: exponential from base_s, capped at max_s, with full jitter over the upper
    half; Retry-After (capped at max_s) wins when the receiver sent one. Nothing is retried past window."""

    base_s: float
    max_s: float
    window: timedelta
    disable_after: timedelta

    def delay_s(self, attempts: int, retry_after_s: float | None) -> float:
        if retry_after_s is not None:
            return min(retry_after_s, self.max_s)
        ceiling = min(self.max_s, self.base_s * 2 ** max(0, attempts - 1))
        return ceiling * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class Claimed:
    seq: int
    endpoint_id: str
    event_id: str
    url: str
    payload: bytes
    attempts: int
    secrets: tuple[str, ...]


async def enqueue(
    session: AsyncSession,
    rows: list[dict[str, Any]],
    *,
    now: datetime,
    window: timedelta,
) -> int:
    """Rows of endpoint_id, event_id, event_type, lead_id, payload; a row already there is kept as it is."""
    if not rows:
        return 0
    values = [
        {
            **row,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "give_up_at": now + window,
            "created_at": now,
        }
        for row in rows
    ]
    stmt = (
        pg_insert(d).values(values).on_conflict_do_nothing(constraint="uq_webhook_deliveries_endpoint_event")
    )
    return len((await session.execute(stmt.returning(d.c.seq))).all())


async def claim(conn: AsyncConnection, *, limit: int, lease: timedelta, now: datetime) -> list[Claimed]:
    """Lease up to `limit` heads that are due: the oldest pending delivery of each (endpoint, lead), so a
    later event for a lead waits until the earlier one is delivered or failed. One claimer at a time."""
    if not await conn.scalar(select(func.pg_try_advisory_xact_lock(CLAIM_LOCK))):
        return []
    # Due rows in the order they fell due, each kept only if no earlier delivery of its (endpoint,
    # lead) is still pending: an index walk that stops at `limit`, not a scan of every pending row.
    earlier = d.alias("earlier")
    due = (
        select(d.c.seq)
        .join(e, e.c.endpoint_id == d.c.endpoint_id)
        .where(
            d.c.status == "pending",
            d.c.next_attempt_at <= now,
            (d.c.leased_until.is_(None)) | (d.c.leased_until < now),
            e.c.enabled.is_(True),
            e.c.disabled_reason.is_(None),
            ~exists().where(
                earlier.c.status == "pending",
                earlier.c.endpoint_id == d.c.endpoint_id,
                earlier.c.lead_id == d.c.lead_id,
                earlier.c.seq < d.c.seq,
            ),
        )
        .order_by(d.c.next_attempt_at, d.c.seq)
        .limit(limit)
    )
    seqs = list((await conn.execute(due)).scalars())
    if not seqs:
        return []
    await conn.execute(update(d).where(d.c.seq.in_(seqs)).values(leased_until=now + lease))
    rows = (
        await conn.execute(
            select(d.c.seq, d.c.endpoint_id, d.c.event_id, d.c.payload, d.c.attempts, e)
            .join(e, e.c.endpoint_id == d.c.endpoint_id)
            .where(d.c.seq.in_(seqs))
            .order_by(d.c.seq)
        )
    ).all()
    return [
        Claimed(
            r.seq, r.endpoint_id, r.event_id, r.url, r.payload, r.attempts, tuple(signing_secrets(r, now))
        )
        for r in rows
    ]


async def record(
    conn: AsyncConnection, claimed: Claimed, attempt: Attempt, *, now: datetime, retries: Retries
) -> str:
    """Write an attempt's outcome; returns the delivery's status after it."""
    attempts = claimed.attempts + 1
    last = {
        "attempts": attempts,
        "leased_until": None,
        "last_status_code": attempt.status_code,
        "last_error": attempt.error,
        "last_latency_ms": attempt.latency_ms,
        "last_attempt_at": now,
    }
    where = and_(d.c.seq == claimed.seq, d.c.status == "pending")
    if attempt.delivered:
        await conn.execute(update(d).where(where).values(**last, status="delivered", finished_at=now))
        # only an endpoint that was failing is written: every success locking the endpoint's row would
        # serialise all concurrent deliveries to it
        await conn.execute(
            update(e)
            .where(e.c.endpoint_id == claimed.endpoint_id, e.c.failing_since.is_not(None))
            .values(failing_since=None)
        )
        return "delivered"
    status = "failed"
    values: dict[str, Any] = {**last, "status": "failed", "finished_at": now}
    if attempt.retry:
        next_at = now + timedelta(seconds=retries.delay_s(attempts, attempt.retry_after_s))
        give_up_at = await conn.scalar(select(d.c.give_up_at).where(d.c.seq == claimed.seq))
        if give_up_at is not None and next_at <= give_up_at:
            status = "pending"
            values = {**last, "next_attempt_at": next_at}
    await conn.execute(update(d).where(where).values(**values))
    await _count_failure(conn, claimed.endpoint_id, now=now, disable_after=retries.disable_after)
    return status


async def _count_failure(
    conn: AsyncConnection, endpoint_id: str, *, now: datetime, disable_after: timedelta
) -> None:
    await conn.execute(
        update(e).where(e.c.endpoint_id == endpoint_id, e.c.failing_since.is_(None)).values(failing_since=now)
    )
    hours = disable_after.total_seconds() / 3600
    await conn.execute(
        update(e)
        .where(
            e.c.endpoint_id == endpoint_id,
            e.c.disabled_reason.is_(None),
            e.c.failing_since <= now - disable_after,
        )
        .values(
            disabled_reason=text(
                "'every delivery failed since ' || to_char(failing_since AT TIME ZONE 'UTC', "
                '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\') || :why'
            ).bindparams(why=f" (more than {hours:g} h): enable it again once the receiver is fixed"),
            updated_at=now,
        )
    )


async def list_for(
    session: AsyncSession, endpoint_id: str, *, status: str | None, limit: int, before: int | None
) -> list[Any]:
    query = select(d).where(d.c.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(d.c.status == status)
    if before is not None:
        query = query.where(d.c.seq < before)
    return list((await session.execute(query.order_by(d.c.seq.desc()).limit(limit))).all())


class UnknownEvent(LookupError):
    pass


async def replay(
    session: AsyncSession,
    endpoint_id: str,
    *,
    since: datetime | None,
    event_id: str | None,
    now: datetime,
    window: timedelta,
) -> int:
    """Send again every finished delivery of the endpoint from a time or from an event on (same
    webhook-id: a receiver that already has it may drop it), in their original order."""
    condition = d.c.created_at >= since if since is not None else true()
    if event_id is not None:
        seq = await session.scalar(
            select(d.c.seq).where(d.c.endpoint_id == endpoint_id, d.c.event_id == event_id)
        )
        if seq is None:
            raise UnknownEvent(event_id)
        condition = d.c.seq >= seq
    done = await session.execute(
        update(d)
        .where(d.c.endpoint_id == endpoint_id, d.c.status != "pending", condition)
        .values(
            status="pending",
            attempts=0,
            next_attempt_at=now,
            give_up_at=now + window,
            leased_until=None,
            finished_at=None,
        )
        .returning(d.c.seq)
    )
    return len(done.all())


async def record_test(
    session: AsyncSession, endpoint_id: str, event_id: str, body: bytes, attempt: Attempt, *, now: datetime
) -> None:
    """A test send is listed with the deliveries, finished after its one attempt (never retried)."""
    await session.execute(
        pg_insert(d).values(
            endpoint_id=endpoint_id,
            event_id=event_id,
            event_type="webhook.test",
            lead_id="webhook-test",
            payload=body,
            status="delivered" if attempt.delivered else "failed",
            attempts=1,
            next_attempt_at=now,
            give_up_at=now,
            last_status_code=attempt.status_code,
            last_error=attempt.error,
            last_latency_ms=attempt.latency_ms,
            last_attempt_at=now,
            created_at=now,
            finished_at=now,
        )
    )

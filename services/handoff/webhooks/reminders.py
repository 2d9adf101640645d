"""SLA reminders for chat endpoints: once per MQL and slack endpoint, when the MQL is due soon (the
policy's `sla.due_soon_hours` before its decision is due) and still undecided. Only an endpoint that got
the MQL's alert is reminded of it; the reminder queues behind the alert (same lead, later in order)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.consumer import is_transient
from services.common.db import Database

from ..tables import mqls
from . import deliveries
from .slack import SlackCard, render_reminder
from .tables import webhook_deliveries as d
from .tables import webhook_endpoints as e

log = logging.getLogger(__name__)
REMINDER = "sla.reminder"


def reminder_id(mql_id: str) -> str:
    return f"sla-reminder:{mql_id}"


async def queue_reminders(session: AsyncSession, *, now: datetime, card: SlackCard, window: timedelta) -> int:
    """Queue the reminders that are due now; returns how many."""
    breached_at, soon_from = card.clock.window("due_soon", now=now)  # never None for due_soon
    reminded = d.alias("reminded")
    candidates = (
        await session.execute(
            select(d.c.endpoint_id, mqls.c.mql_id, mqls.c.lead_id, mqls.c.data)
            .join(mqls, mqls.c.event_id == d.c.event_id)
            .join(e, e.c.endpoint_id == d.c.endpoint_id)
            .outerjoin(
                reminded,
                and_(
                    reminded.c.endpoint_id == d.c.endpoint_id,
                    reminded.c.event_id == "sla-reminder:" + mqls.c.mql_id,
                ),
            )
            .where(
                e.c.format == "slack",
                d.c.event_type == "lead.mql",
                mqls.c.decision_id.is_(None),
                mqls.c.qualified_at <= soon_from,
                mqls.c.qualified_at > breached_at,
                reminded.c.seq.is_(None),
            )
            .limit(1000)
        )
    ).all()
    rows: list[dict[str, Any]] = [
        {
            "endpoint_id": c.endpoint_id,
            "event_id": reminder_id(c.mql_id),
            "event_type": REMINDER,
            "lead_id": c.lead_id,
            "payload": render_reminder(c.data, card),
        }
        for c in candidates
    ]
    return await deliveries.enqueue(session, rows, now=now, window=window)


async def remind_periodically(
    database: Database,
    *,
    card: SlackCard,
    window: timedelta,
    every_s: float,
    wake: Callable[[], None],
) -> None:
    while True:
        try:
            async with database.sessions() as session, session.begin():
                queued = await queue_reminders(session, now=datetime.now(UTC), card=card, window=window)
            if queued:
                wake()
        except Exception as exc:
            if not is_transient(exc):
                log.exception("SLA reminders failed")
            else:
                log.warning("SLA reminders: database unreachable", extra={"error": str(exc)[:200]})
        await asyncio.sleep(every_s)

"""Applying a batch of envelopes to lead state (thin platform version: store events and leads)."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.consumer import Delivered

from .tables import events, leads

EVENT_TYPES = frozenset(
    f"leadstate.{kind}.v1" for kind in ("track", "identify", "page", "screen", "group", "alias")
)
DECISION_TYPES = frozenset({"leadstate.lead.decision.v1"})


async def apply_events(session: AsyncSession, batch: list[Delivered]) -> None:
    rows = []
    for item in batch:
        env = item.envelope
        if env.type not in EVENT_TYPES:
            continue
        data = env.data
        lead_id = env.subject or data.get("userId") or data.get("anonymousId")
        rows.append(
            {
                "event_id": env.id,
                "lead_id": lead_id,
                "type": data.get("type", env.type.split(".")[1]),
                "name": data.get("event") or data.get("name"),
                "occurred_at": env.time,
                "user_id": data.get("userId"),
                "anonymous_id": data.get("anonymousId"),
                "data": data,
            }
        )
    if not rows:
        return
    await session.execute(insert(events).values(rows).on_conflict_do_nothing())
    lead_rows = {
        r["lead_id"]: {
            "lead_id": r["lead_id"],
            "stage": "known" if r["user_id"] else "anonymous",
            "episode": 0,
            "user_id": r["user_id"],
            "state": {},
            "last_activity_at": r["occurred_at"],
        }
        for r in rows
    }
    stmt = insert(leads).values(list(lead_rows.values()))
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[leads.c.lead_id],
            set_={
                "last_activity_at": func.greatest(leads.c.last_activity_at, stmt.excluded.last_activity_at),
                "updated_at": func.now(),
            },
        )
    )

"""Projecting `lead.mql` into the handoff's tables (thin platform version)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.consumer import Delivered

from .tables import mqls

MQL_TYPES = frozenset({"leadstate.lead.mql.v1"})
DECISION_TYPES = frozenset({"leadstate.lead.decision.v1"})


async def project(session: AsyncSession, batch: list[Delivered]) -> None:
    rows = [
        {
            "mql_id": d.envelope.data["mql_id"],
            "event_id": d.envelope.id,
            "lead_id": d.envelope.data["lead_id"],
            "episode": d.envelope.data["episode"],
            "rule": d.envelope.data["rule"]["name"],
            "policy_version": d.envelope.data["policy_version"],
            "qualified_at": d.envelope.data["qualified_at"],
            "data": d.envelope.data,
        }
        for d in batch
        if d.envelope.type in MQL_TYPES
    ]
    if rows:
        await session.execute(insert(mqls).values(rows).on_conflict_do_nothing())

"""Projecting `lead.mql` into the handoff's tables.

Redelivery changes nothing: the batch consumer claims envelope ids in handoff.processed_events, and an
MQL already projected under another envelope id is kept as first received (its mql_id is the key).
`lead.decisions` is not consumed: this service writes every decision to its own tables in the same
transaction as the event, so all instances already agree through the database.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.consumer import Delivered

from .mql import MQL_TYPE, parse_mql
from .tables import mqls

MQL_TYPES = frozenset({MQL_TYPE})


async def project(session: AsyncSession, batch: list[Delivered]) -> None:
    rows = []
    for delivered in batch:
        if delivered.envelope.type not in MQL_TYPES:
            continue
        mql = parse_mql(delivered.envelope.data)  # validated before; parsing again gives the types
        rows.append(
            {
                "mql_id": mql.mql_id,
                "event_id": delivered.envelope.id,
                "lead_id": mql.lead_id,
                "episode": mql.episode,
                "rule": mql.rule.name,
                "policy_version": mql.policy_version,
                "qualified_at": mql.qualified_at,
                "topic": mql.top_topic,
                "topics": list(dict.fromkeys(i.topic for i in mql.interests)),
                "data": delivered.envelope.data,
            }
        )
    if rows:
        await session.execute(insert(mqls).values(rows).on_conflict_do_nothing())

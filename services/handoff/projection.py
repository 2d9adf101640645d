"""Projecting `lead.mql` into the handoff's tables: person MQLs into `mqls`, account MQAs into `mqas`.

Redelivery changes nothing: the batch consumer claims envelope ids in handoff.processed_events, and an
MQL already projected under another envelope id is kept as first received (its mql_id is the key).
`lead.decisions` is not consumed: this service writes every decision to its own tables in the same
transaction as the event, so all instances already agree through the database.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.consumer import Delivered

from .mqa import MQA_TYPE, QUALIFIED_TYPES, parse_mqa
from .mql import MQL_TYPE, parse_mql
from .tables import mqas, mqls

MQL_TYPES = QUALIFIED_TYPES  # what the handoff consumes on lead.mql


async def project(session: AsyncSession, batch: list[Delivered]) -> None:
    rows, accounts = [], []
    for delivered in batch:
        envelope = delivered.envelope
        if envelope.type == MQA_TYPE:
            mqa = parse_mqa(envelope.data)
            accounts.append(
                {
                    "mqa_id": mqa.mqa_id,
                    "event_id": envelope.id,
                    "account_id": mqa.account_id,
                    "episode": mqa.episode,
                    "rule": mqa.rule.name,
                    "policy_version": mqa.policy_version,
                    "qualified_at": mqa.qualified_at,
                    "topics": mqa.topics,
                    "data": envelope.data,
                }
            )
        if envelope.type != MQL_TYPE:
            continue
        mql = parse_mql(envelope.data)  # validated before; parsing again gives the types
        rows.append(
            {
                "mql_id": mql.mql_id,
                "event_id": envelope.id,
                "lead_id": mql.lead_id,
                "episode": mql.episode,
                "rule": mql.rule.name,
                "policy_version": mql.policy_version,
                "qualified_at": mql.qualified_at,
                "topic": mql.top_topic,
                "topics": list(dict.fromkeys(i.topic for i in mql.interests)),
                "account_id": mql.account_id,
                "data": envelope.data,
            }
        )
    if rows:
        await session.execute(insert(mqls).values(rows).on_conflict_do_nothing())
    if accounts:
        await session.execute(insert(mqas).values(accounts).on_conflict_do_nothing())

"""Reading the account side of the projection: one account's MQA episodes with their decisions, and the
person MQLs of its people (so sales calls one company once, not three people separately)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from .tables import account_decisions, decisions, mqas, mqls

MAX_PERSON_MQLS = 200  # an account page lists the newest; a buying group is 6-10 people


@dataclass(frozen=True)
class AccountHistory:
    mqas: list[tuple[Row, Row | None]]  # newest episode first, each with its decision
    person_mqls: list[tuple[Row, Row | None]]  # newest first

    @property
    def empty(self) -> bool:
        return not self.mqas and not self.person_mqls


async def account_history(session: AsyncSession, account_id: str) -> AccountHistory:
    found = (
        await session.execute(
            select(mqas).where(mqas.c.account_id == account_id).order_by(mqas.c.episode.desc())
        )
    ).all()
    decided = {
        r.mqa_id: r
        for r in (
            await session.execute(
                select(account_decisions).where(account_decisions.c.account_id == account_id)
            )
        ).all()
    }
    people = (
        await session.execute(
            select(mqls)
            .where(mqls.c.account_id == account_id)
            .order_by(mqls.c.qualified_at.desc(), mqls.c.mql_id)
            .limit(MAX_PERSON_MQLS)
        )
    ).all()
    ids = [r.decision_id for r in people if r.decision_id is not None]
    lead_decisions = {
        r.mql_id: r
        for r in (await session.execute(select(decisions).where(decisions.c.decision_id.in_(ids)))).all()
    }
    return AccountHistory(
        mqas=[(m, decided.get(m.mqa_id)) for m in found],
        person_mqls=[(m, lead_decisions.get(m.mql_id)) for m in people],
    )

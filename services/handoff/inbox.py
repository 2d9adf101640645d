"""Reading the projection: the inbox of open MQLs (keyset-paged) and everything known of one lead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Row, and_, any_, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from .cursor import Position
from .tables import decisions, mqls

Order = Literal["oldest", "newest"]


@dataclass(frozen=True, kw_only=True)
class InboxFilter:
    rule: str | None = None
    topic: str | None = None
    since: datetime | None = None
    qualified_after: datetime | None = None  # exclusive; from the SLA filter
    qualified_until: datetime | None = None  # inclusive; from the SLA filter


async def open_mqls(
    session: AsyncSession,
    *,
    where: InboxFilter,
    order: Order,
    after: Position | None,
    limit: int,
) -> list[Row]:
    m = mqls.c
    query = select(mqls).where(m.decision_id.is_(None))
    if where.rule is not None:
        query = query.where(m.rule == where.rule)
    if where.topic is not None:
        query = query.where(literal(where.topic) == any_(m.topics))
    if where.since is not None:
        query = query.where(m.qualified_at >= where.since)
    if where.qualified_after is not None:
        query = query.where(m.qualified_at > where.qualified_after)
    if where.qualified_until is not None:
        query = query.where(m.qualified_at <= where.qualified_until)
    if after is not None:
        if order == "oldest":
            query = query.where(
                or_(
                    m.qualified_at > after.qualified_at,
                    and_(m.qualified_at == after.qualified_at, m.mql_id > after.mql_id),
                )
            )
        else:
            query = query.where(
                or_(
                    m.qualified_at < after.qualified_at,
                    and_(m.qualified_at == after.qualified_at, m.mql_id < after.mql_id),
                )
            )
    if order == "oldest":
        query = query.order_by(m.qualified_at, m.mql_id)
    else:
        query = query.order_by(m.qualified_at.desc(), m.mql_id.desc())
    return list((await session.execute(query.limit(limit))).all())


async def lead_history(session: AsyncSession, lead_id: str) -> list[tuple[Row, Row | None]]:
    """Every MQL of the lead with its decision (or None), newest episode first."""
    found = (
        await session.execute(
            select(mqls)
            .where(mqls.c.lead_id == lead_id)
            .order_by(mqls.c.episode.desc(), mqls.c.qualified_at.desc())
        )
    ).all()
    decided = {
        row.mql_id: row
        for row in (await session.execute(select(decisions).where(decisions.c.lead_id == lead_id))).all()
    }
    return [(mql, decided.get(mql.mql_id)) for mql in found]

"""Reading the projection: the inbox of open MQLs or of open MQAs (keyset-paged, a `Register` says
which) and everything known of one lead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Row, and_, any_, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from .cursor import CursorCodec, Position
from .decisions import LEADS, Register
from .policy import HandoffPolicy
from .sla import SlaState
from .tables import decisions, mqls

Order = Literal["oldest", "newest"]


@dataclass(frozen=True, kw_only=True)
class InboxFilter:
    rule: str | None = None
    topic: str | None = None
    since: datetime | None = None
    qualified_after: datetime | None = None  # exclusive; from the SLA filter
    qualified_until: datetime | None = None  # inclusive; from the SLA filter


@dataclass(frozen=True, kw_only=True)
class InboxQuery:
    """What the reader asked for (the API's query parameters, the console's filters)."""

    order: Order = "oldest"
    rule: str | None = None
    topic: str | None = None
    since: datetime | None = None
    sla: SlaState | None = None

    def scope(self) -> str:
        # A cursor is bound to the order and filters it was issued for.
        since = self.since.isoformat() if self.since else ""
        return f"{self.order}|{self.rule}|{self.topic}|{since}|{self.sla}"


async def inbox_page(
    session: AsyncSession,
    query: InboxQuery,
    *,
    policy: HandoffPolicy,
    cursors: CursorCodec,
    cursor: str | None,
    limit: int,
    now: datetime,
    register: Register = LEADS,
) -> tuple[list[Row], str | None]:
    """One page of open MQLs (or MQAs) and the next cursor (None on the last); CursorError on a bad one."""
    scope = query.scope() if register is LEADS else f"{register.key}|{query.scope()}"
    after = cursors.decode(cursor, scope) if cursor is not None else None
    after_q, until_q = (None, None)
    if query.sla is not None:
        after_q, until_q = policy.clock.window(query.sla, now=now)
    where = InboxFilter(
        rule=query.rule,
        topic=query.topic,
        since=query.since,
        qualified_after=after_q,
        qualified_until=until_q,
    )
    rows = await open_mqls(
        session, where=where, order=query.order, after=after, limit=limit + 1, register=register
    )
    page, more = rows[:limit], len(rows) > limit
    next_cursor = None
    if more:
        last = page[-1]
        next_cursor = cursors.encode(Position(last.qualified_at, last._mapping[register.key]), scope)
    return page, next_cursor


async def open_mqls(
    session: AsyncSession,
    *,
    where: InboxFilter,
    order: Order,
    after: Position | None,
    limit: int,
    register: Register = LEADS,
) -> list[Row]:
    m = register.opened.c
    key = m[register.key]
    query = select(register.opened).where(m.decision_id.is_(None))
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
                    and_(m.qualified_at == after.qualified_at, key > after.mql_id),
                )
            )
        else:
            query = query.where(
                or_(
                    m.qualified_at < after.qualified_at,
                    and_(m.qualified_at == after.qualified_at, key < after.mql_id),
                )
            )
    if order == "oldest":
        query = query.order_by(m.qualified_at, key)
    else:
        query = query.order_by(m.qualified_at.desc(), key.desc())
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

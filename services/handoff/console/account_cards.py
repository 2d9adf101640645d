"""The inbox's account cards: each open MQA with the open MQLs of its people under it, so sales calls
one company once, not three of its people separately."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..api.account_mqa import mqa_item
from ..api.present import inbox_items
from ..decisions import ACCOUNTS
from ..inbox import InboxFilter, InboxQuery, open_mqls
from ..policy import HandoffPolicy
from ..rows import show_each
from ..tables import mqls

ACCOUNT_CARDS = 25  # open MQAs on the inbox's first page; more: narrow with the filters
MAX_GROUPED = 200  # open person MQLs grouped under the page's account cards (beyond: cards of their own)


@dataclass
class AccountCards:
    cards: list[dict[str, Any]] = field(default_factory=list)
    grouped: set[str] = field(default_factory=set)  # lead ids shown under an account card
    more: bool = False


async def account_cards(
    session: AsyncSession, query: InboxQuery, policy: HandoffPolicy, now: datetime
) -> AccountCards:
    """The open MQAs the inbox's filters select, each with the open MQLs of its people."""
    after_q, until_q = policy.clock.window(query.sla, now=now) if query.sla else (None, None)
    where = InboxFilter(rule=query.rule, topic=query.topic, qualified_after=after_q, qualified_until=until_q)
    limit = ACCOUNT_CARDS + 1
    found = await open_mqls(
        session, where=where, order=query.order, after=None, limit=limit, register=ACCOUNTS
    )
    rows, more = found[:ACCOUNT_CARDS], len(found) > ACCOUNT_CARDS
    if not rows:
        return AccountCards()
    ids = [r.account_id for r in rows]
    people = (
        await session.execute(
            select(mqls)
            .where(mqls.c.account_id.in_(ids), mqls.c.decision_id.is_(None))
            .order_by(mqls.c.qualified_at, mqls.c.mql_id)
            .limit(MAX_GROUPED)
        )
    ).all()
    by_account: dict[str, list[Row]] = {}
    for person in people:
        by_account.setdefault(person.account_id, []).append(person)
    cards = show_each(
        rows,
        lambda r: _card(r, by_account.get(r.account_id, []), policy, now),
        view="inbox",
        key=lambda r: str(r.mqa_id),
    )
    return AccountCards(cards, {p.lead_id for p in people}, more)


def _card(row: Row, people: list[Row], policy: HandoffPolicy, now: datetime) -> dict[str, Any]:
    item = mqa_item(row, policy, now)
    return {
        **item.model_dump(),
        "next_checks_texts": row.data.get("next_checks_texts") or [],
        "people": inbox_items(people, policy, now),
    }

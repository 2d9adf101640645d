"""Accounts between PostgreSQL and the `Book`: load what one transaction touches, save what changed.

Members of one account may sit on partitions other qualifier members own, so the account rows a
transaction touches are locked (`FOR UPDATE`, in id order: no deadlock) before their members are read:
two members qualifying the same account take turns, and the second sees the first's members and MQA.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.outbox import Outbox
from services.common.policy import AccountState, Member, Policy
from services.common.policy.account_checks import MAX_MEMBERS_EVALUATED

from .buying_groups import Book, BuyingGroups
from .mqa import mqa_data, mqa_envelope, mqa_row
from .tables import account_members, accounts, mqas

_MEMBERS = text(
    "SELECT account_id, lead_id, source, member FROM ("
    " SELECT account_id, lead_id, source, member, row_number() OVER ("
    "  PARTITION BY account_id ORDER BY last_activity_at DESC NULLS LAST, lead_id) AS n"
    " FROM qualifier.account_members WHERE account_id = ANY(:ids)) AS m WHERE n <= :most"
)


async def load_book(session: AsyncSession, policy: Policy, groups: BuyingGroups) -> Book:
    book = Book(policy)
    leads = sorted(groups.lead_ids())
    m = account_members
    homes = await session.execute(select(m.c.lead_id, m.c.account_id).where(m.c.lead_id.in_(leads)))
    book.home = {r.lead_id: r.account_id for r in homes}
    touched = groups.accounts() | set(book.home.values())
    wanted = sorted(touched)
    if not wanted:
        return book
    await session.execute(
        insert(accounts).on_conflict_do_nothing(),
        [{"account_id": a, "stage": "open", "episode": 0, "attributes": {}} for a in wanted],
    )
    a = accounts
    rows = await session.execute(
        select(a.c.account_id, a.c.stage, a.c.episode, a.c.mqa_at, a.c.decided_at)
        .where(a.c.account_id.in_(wanted))
        .order_by(a.c.account_id)
        .with_for_update()
    )
    for r in rows:
        book.accounts[r.account_id] = AccountState(
            account_id=r.account_id,
            stage=r.stage,
            episode=r.episode,
            mqa_at=r.mqa_at,
            decided_at=r.decided_at,
        )
    for r in await session.execute(_MEMBERS, {"ids": wanted, "most": MAX_MEMBERS_EVALUATED}):
        book.members.setdefault(r.account_id, {})[r.lead_id] = Member.from_dict(r.member)
        book.sources[r.lead_id] = r.source
    return book


async def save_book(session: AsyncSession, book: Book, outbox: Outbox, topic_mql: str) -> None:
    """Members, accounts and MQAs: the register's keys refuse an episode that already fired."""
    m = account_members
    gone = sorted(k for k in book.changed_members if k not in book.home)
    if gone:
        await session.execute(delete(m).where(m.c.lead_id.in_(gone)))
    rows = [_member_row(book, lead) for lead in sorted(book.changed_members) if lead in book.home]
    if rows:
        stmt = insert(m)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["lead_id"],
                set_={k: stmt.excluded[k] for k in ("account_id", "source", "member", "last_activity_at")},
            ),
            rows,
        )
    now = datetime.now(UTC)
    for account_id in sorted(book.changed_accounts):
        state = book.state(account_id)
        attributes, _ = state.attributes()
        await session.execute(
            accounts.update()
            .where(accounts.c.account_id == account_id)
            .values(
                stage=state.stage,
                episode=state.episode,
                mqa_at=state.mqa_at,
                decided_at=state.decided_at,
                attributes=attributes,
                updated_at=now,
            )
        )
    if not book.fired:
        return
    made = [(mqa_data(mqa), mqa) for mqa in book.fired]
    new_ids = set(
        (
            await session.execute(
                insert(mqas).on_conflict_do_nothing().returning(mqas.c.mqa_id),
                [mqa_row(data, mqa) for data, mqa in made],
            )
        ).scalars()
    )
    await outbox.add(session, topic_mql, [mqa_envelope(d, mqa) for d, mqa in made if d["mqa_id"] in new_ids])


def _member_row(book: Book, lead_id: str) -> dict[str, Any]:
    account_id = book.home[lead_id]
    member = book.members[account_id][lead_id]
    return {
        "lead_id": lead_id,
        "account_id": account_id,
        "source": book.sources[lead_id],
        "member": member.to_dict(),
        "last_activity_at": member.last_activity_at,
    }


async def fold_accounts(
    session: AsyncSession, policy: Policy, groups: BuyingGroups, outbox: Outbox, topic_mql: str
) -> Book:
    """The one call the worker makes after its fold: load, apply the notes (members seen, decisions on
    MQAs) in the order the fold took them, which is the log's order, save."""
    if not groups.seen:
        return Book(policy)
    book = await load_book(session, policy, groups)
    for note in groups.seen:
        book.take(note)
    await save_book(session, book, outbox, topic_mql)
    return book

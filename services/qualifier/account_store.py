"""Accounts between PostgreSQL and the `Book`: load what one transaction touches, save what changed.

Members of one account may sit on partitions other qualifier members own, so the account rows a
transaction touches are locked (`FOR UPDATE`, in id order: no deadlock) before their members are read:
two members qualifying the same account take turns, and the second sees the first's members and MQA.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.outbox import Outbox
from services.common.policy import AccountState, Member, Policy
from services.common.policy.account_checks import MAX_MEMBERS_EVALUATED
from services.common.policy.account_rules import stage_blocks
from services.common.policy.lead import keep_datetime

from .buying_groups import Book, BuyingGroups
from .mqa import mqa_data, mqa_envelope, mqa_row
from .stitching import AccountDecided
from .store import driver_connection
from .tables import account_members, accounts, mqas

# members as text: orjson parses and writes them several times faster than the driver's json codec
_MEMBERS = text(
    "SELECT account_id, lead_id, source, member::text AS member FROM ("
    " SELECT account_id, lead_id, source, member, row_number() OVER ("
    "  PARTITION BY account_id ORDER BY last_activity_at DESC NULLS LAST, lead_id) AS n"
    " FROM qualifier.account_members WHERE account_id = ANY(:ids)) AS m WHERE n <= :most"
)

_OWN = text(
    "SELECT lead_id, account_id, source, member::text AS member"
    " FROM qualifier.account_members WHERE lead_id = ANY(:leads)"
)
_UPSERT_MEMBERS = """
INSERT INTO qualifier.account_members (lead_id, account_id, source, member, last_activity_at)
SELECT l, a, s, m::jsonb, t FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
    AS r(l, a, s, m, t)
ON CONFLICT (lead_id) DO UPDATE SET account_id = excluded.account_id, source = excluded.source,
    member = excluded.member, last_activity_at = excluded.last_activity_at
"""


def _member(doc: str) -> Member:
    return Member.from_dict(orjson.loads(doc))


async def load_book(session: AsyncSession, policy: Policy, groups: BuyingGroups) -> Book:
    book = Book(policy)
    leads = sorted(groups.lead_ids())
    own = await session.execute(_OWN, {"leads": leads})
    stored = {r.lead_id: (r.account_id, r.source, _member(r.member)) for r in own}
    book.home = {lead: account for lead, (account, _, _) in stored.items()}
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
    whole = sorted(_needing_all_members(book, groups, stored))
    book.partial = touched - set(whole)
    for lead, (account, source, member) in stored.items():
        if account in book.partial:
            book.members.setdefault(account, {})[lead] = member
            book.sources[lead] = source
    if whole:
        for r in await session.execute(_MEMBERS, {"ids": whole, "most": MAX_MEMBERS_EVALUATED}):
            book.members.setdefault(r.account_id, {})[r.lead_id] = _member(r.member)
            book.sources[r.lead_id] = r.source
    return book


def _needing_all_members(
    book: Book, groups: BuyingGroups, stored: dict[str, tuple[str, str, Member]]
) -> set[str]:
    """The accounts this transaction may evaluate or whose company attributes may change: open to a
    new MQA (by their stage), decided on, joined or left, or with a member whose company traits
    changed. The others (an open episode, most of the traffic) need only this transaction's members,
    and their rows are left as they are (`Book.partial`)."""
    out = set()
    for note in groups.seen:
        if isinstance(note, AccountDecided):
            out.add(note.account_id)
            continue
        before = stored.get(note.lead_id)
        after = note.membership.account_id if note.membership is not None else None
        if before is None or before[0] != after:
            out.update(a for a in (after, before[0] if before else None) if a is not None)
        elif note.member is not None and note.member.attribute_sources != before[2].attribute_sources:
            out.add(after)
    return out | {a for a, state in book.accounts.items() if stage_blocks(state, book.policy) is None}


async def save_book(session: AsyncSession, book: Book, outbox: Outbox, topic_mql: str) -> None:
    """Members, accounts and MQAs: the register's keys refuse an episode that already fired."""
    m = account_members
    gone = sorted(k for k in book.changed_members if k not in book.home)
    if gone:
        await session.execute(delete(m).where(m.c.lead_id.in_(gone)))
    kept = [lead for lead in sorted(book.changed_members) if lead in book.home]
    if kept:
        members = [book.members[book.home[lead]][lead] for lead in kept]
        await (await driver_connection(session)).execute(
            _UPSERT_MEMBERS,
            kept,
            [book.home[lead] for lead in kept],
            [book.sources[lead] for lead in kept],
            [orjson.dumps(member.to_dict(keep_datetime)).decode() for member in members],
            [member.last_activity_at for member in members],
        )
    now = datetime.now(UTC)
    changed = [book.state(k) for k in sorted(book.changed_accounts - book.partial)]
    if changed:
        await session.execute(
            accounts.update()
            .where(accounts.c.account_id == bindparam("id"))
            .values(
                stage=bindparam("new_stage"),
                episode=bindparam("new_episode"),
                mqa_at=bindparam("new_mqa_at"),
                decided_at=bindparam("new_decided_at"),
                attributes=bindparam("new_attributes"),
                updated_at=now,
            ),
            [
                {
                    "id": state.account_id,
                    "new_stage": state.stage,
                    "new_episode": state.episode,
                    "new_mqa_at": state.mqa_at,
                    "new_decided_at": state.decided_at,
                    "new_attributes": state.attributes()[0],
                }
                for state in changed
            ],
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

"""Accounts between PostgreSQL and the `Book`: load what one transaction touches, save what changed.

Members of one account may sit on partitions other qualifier members own, so the account rows a
transaction touches are locked (`FOR UPDATE`, in id order: no deadlock) before their members are read:
two members qualifying the same account take turns, and the second sees the first's members and MQA.
The members come from the member's account cache (cache.py) where the locked row's version is the one
the copy was taken at; every write of an account or of one of its members moves that version, so a copy
another member has overtaken is brought up to date (the members written since) before it is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
import orjson
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.outbox import Outbox
from services.common.policy import AccountState, Member, Policy
from services.common.policy.lead import keep_datetime

from .buying_groups import Book, BuyingGroups
from .cache import AccountCache, CachedAccount, member_size
from .mqa import mqa_data, mqa_envelope, mqa_row
from .store import driver_connection
from .tables import account_members, mqas

_HOMES = "SELECT lead_id, account_id FROM qualifier.account_members WHERE lead_id = ANY($1::text[])"
_ENSURE = """
INSERT INTO qualifier.accounts (account_id, stage, episode, attributes)
SELECT a, 'open', 0, '{}'::jsonb FROM unnest($1::text[]) AS a
ON CONFLICT DO NOTHING
"""
_LOCK = """
SELECT account_id, stage, episode, mqa_at, decided_at, version FROM qualifier.accounts
WHERE account_id = ANY($1::text[]) ORDER BY account_id FOR UPDATE
"""
# every member of each account; the document (as text: orjson parses it several times faster than the
# driver's json codec) only of those written after the version the member's copy has (-1: no copy)
_MEMBERS_SINCE = """
SELECT m.account_id, m.lead_id, m.source, CASE WHEN m.version > s.v THEN m.member::text END AS member
FROM qualifier.account_members AS m JOIN unnest($1::text[], $2::bigint[]) AS s(a, v) ON m.account_id = s.a
"""
_UPDATE_ACCOUNTS = """
UPDATE qualifier.accounts AS t SET stage = r.s, episode = r.e, mqa_at = r.m, decided_at = r.d,
    attributes = r.at::jsonb, updated_at = now(), version = nextval('qualifier.account_versions')
FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::timestamptz[], $6::text[])
    AS r(a, s, e, m, d, at)
WHERE t.account_id = r.a
RETURNING t.account_id, t.version
"""
_UPSERT_MEMBERS = """
INSERT INTO qualifier.account_members (lead_id, account_id, source, member, last_activity_at, version)
SELECT l, a, s, m::jsonb, t, v
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[])
    AS r(l, a, s, m, t, v)
ON CONFLICT (lead_id) DO UPDATE SET account_id = excluded.account_id, source = excluded.source,
    member = excluded.member, last_activity_at = excluded.last_activity_at, version = excluded.version
"""
UNKNOWN_SIZE = member_size(2000)


def _member(doc: str) -> Member:
    return Member.from_dict(orjson.loads(doc))


@dataclass
class StoredBook:
    """A transaction's book and what it was read from: each account's locked version, members' sizes."""

    book: Book
    versions: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)  # lead id -> estimated bytes of its member

    def cached(self) -> dict[str, CachedAccount]:
        """After the commit: every account the transaction locked, whole, at the version it has now."""
        book = self.book
        out = {}
        for account_id in book.accounts:
            members = book.members.get(account_id, {})
            out[account_id] = CachedAccount(
                version=self.versions[account_id],
                members=members,
                sources={k: book.sources[k] for k in members},
                sizes={k: self.sizes.get(k, UNKNOWN_SIZE) for k in members},
            )
        return out


async def load_book(
    db: asyncpg.Connection, policy: Policy, groups: BuyingGroups, cache: AccountCache
) -> StoredBook:
    """Every account the transaction touches, whole, under a row lock: from the member's copy where the
    locked version is the one it holds, else its copy brought up to date with the members written
    since (or all of them, without a copy). The leads' homes are read from the table: the transaction
    holds their lead rows (store.save_ledger), and a member row is only written with its lead's."""
    stored = StoredBook(Book(policy))
    book = stored.book
    leads = sorted(groups.lead_ids())
    book.home = {r[0]: r[1] for r in await db.fetch(_HOMES, leads)} if leads else {}
    wanted = sorted(groups.accounts() | set(book.home.values()))
    if not wanted:
        return stored
    await db.execute(_ENSURE, wanted)
    behind: dict[str, int] = {}
    for account_id, stage, episode, mqa_at, decided_at, version in await db.fetch(_LOCK, wanted):
        book.accounts[account_id] = AccountState(
            account_id=account_id, stage=stage, episode=episode, mqa_at=mqa_at, decided_at=decided_at
        )
        stored.versions[account_id] = version
        cached = cache.account(account_id)
        if cached is not None:
            book.members[account_id] = dict(cached.members)  # the copy stays as committed
            book.sources.update(cached.sources)
            stored.sizes.update(cached.sizes)
        if cached is None or cached.version != version:
            behind[account_id] = cached.version if cached is not None else -1
    if behind:
        ids = sorted(behind)
        now: dict[str, set[str]] = {account_id: set() for account_id in ids}
        for account_id, lead_id, source, doc in await db.fetch(_MEMBERS_SINCE, ids, [behind[a] for a in ids]):
            now[account_id].add(lead_id)
            book.sources[lead_id] = source
            if doc is not None:
                book.members.setdefault(account_id, {})[lead_id] = _member(doc)
                stored.sizes[lead_id] = member_size(len(doc))
        for account_id, present in now.items():  # members that left since the copy
            members = book.members.setdefault(account_id, {})
            for lead_id in [k for k in members if k not in present]:
                del members[lead_id]
    return stored


async def save_book(session: AsyncSession, stored: StoredBook, outbox: Outbox, topic_mql: str) -> None:
    """Accounts (each changed one at a new version), members (at their account's), MQAs: the register's
    keys refuse an episode that already fired."""
    book = stored.book
    db = await driver_connection(session)
    changed = sorted(book.changed_accounts)
    if changed:
        states = [book.state(k) for k in changed]
        rows = await db.fetch(
            _UPDATE_ACCOUNTS,
            changed,
            [s.stage for s in states],
            [s.episode for s in states],
            [s.mqa_at for s in states],
            [s.decided_at for s in states],
            [orjson.dumps(s.attributes()[0]).decode() for s in states],
        )
        stored.versions.update({r[0]: r[1] for r in rows})
    m = account_members
    gone = sorted(k for k in book.changed_members if k not in book.home)
    if gone:
        await session.execute(delete(m).where(m.c.lead_id.in_(gone)))
    kept = [lead for lead in sorted(book.changed_members) if lead in book.home]
    if kept:
        members = [book.members[book.home[lead]][lead] for lead in kept]
        docs = [orjson.dumps(member.to_dict(keep_datetime)).decode() for member in members]
        stored.sizes.update({lead: member_size(len(doc)) for lead, doc in zip(kept, docs, strict=True)})
        await db.execute(
            _UPSERT_MEMBERS,
            kept,
            [book.home[lead] for lead in kept],
            [book.sources[lead] for lead in kept],
            docs,
            [member.last_activity_at for member in members],
            [stored.versions[book.home[lead]] for lead in kept],
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
    session: AsyncSession,
    policy: Policy,
    groups: BuyingGroups,
    outbox: Outbox,
    topic_mql: str,
    cache: AccountCache,
) -> dict[str, CachedAccount]:
    """The one call the worker makes after its fold: load, apply the notes (members seen, decisions on
    MQAs) in the order the fold took them, which is the log's order, save. Returns the accounts as they
    stand now, for the member's cache once the transaction commits."""
    if not groups.seen:
        return {}
    stored = await load_book(await driver_connection(session), policy, groups, cache)
    for note in groups.seen:
        stored.book.take(note)
    await save_book(session, stored, outbox, topic_mql)
    return stored.cached()

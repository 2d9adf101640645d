"""Accounts between PostgreSQL and the `Book`: load what one transaction touches, save what changed.

Members of one account may sit on partitions other qualifier members own, so the account rows a
transaction touches are locked (`FOR UPDATE`, in id order: no deadlock) before their members are read:
two members qualifying the same account take turns, and the second sees the first's members and MQA.
The members come from the member's account cache (cache.py) where the locked row's version is the one
the copy was taken at; every write of an account or of one of its members moves that version, so a copy
another member has overtaken is brought up to date (the members written since) before it is used.

A large account is not read whole. What the rules and the stored company attributes read of it is its
`MAX_MEMBERS_EVALUATED` most recently active members and, per company attribute group, the one member
whose traits win (`describe_company`, kept on the account row). A transaction touching k of an account's
members loads its `MAX_MEMBERS_EVALUATED + k` most recently active, the members it touches and the
holders: whatever the notes do to those k, the account's most recently active at any point of the fold
are among them, and so is the winning member of each group, unless a note takes a holder away or ranks
its traits lower: then that account is read whole. On such a subset, every rule decides as on the whole
account; only an MQA's explanation lists the whole buying group, so a transaction that makes an MQA of a
partial account is folded again with that account whole (MQAs are rare). A copy is cached with how deep
it surely goes (`CachedAccount.depth`) and topped up when a transaction needs deeper.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.outbox import Outbox
from services.common.policy import AccountState, Member, Policy
from services.common.policy.account_checks import MAX_MEMBERS_EVALUATED
from services.common.policy.buying_group import by_recency, company_key, describe_company
from services.common.policy.lead import keep_datetime

from .buying_groups import Book, BuyingGroups, Seen
from .cache import WHOLE, AccountCache, CachedAccount, member_size
from .mqa import mqa_data, mqa_envelope, mqa_row
from .store import driver_connection
from .tables import mqas

SPARE = 100  # read beyond what a transaction needs: the next few use the copy as it is
KEEP = MAX_MEMBERS_EVALUATED + 2 * SPARE  # how deep a large account's copy is kept in the cache

# where members are now: the transaction's leads (their homes), a copy's members (_catch_up)
_HOMES = "SELECT lead_id, account_id FROM qualifier.account_members WHERE lead_id = ANY($1::text[])"
_ENSURE = """
INSERT INTO qualifier.accounts (account_id, stage, episode, attributes, holders)
SELECT a, 'open', 0, '{}'::jsonb, '{}'::jsonb FROM unnest($1::text[]) AS a
ON CONFLICT DO NOTHING
"""
_LOCK = """
SELECT account_id, stage, episode, mqa_at, decided_at, version, holders::text FROM qualifier.accounts
WHERE account_id = ANY($1::text[]) ORDER BY account_id FOR UPDATE
"""
# the members written since the version of the member's copy (as text: orjson parses it several times
# faster than the driver's json codec)
_SINCE = """
SELECT m.account_id, m.lead_id, m.source, m.member::text
FROM qualifier.account_members AS m JOIN unnest($1::text[], $2::bigint[]) AS s(a, v)
    ON m.account_id = s.a AND m.version > s.v
"""
# each account's n most recently active members, in the order the rules read them (`by_recency`)
_RECENT = """
SELECT s.a, m.lead_id FROM unnest($1::text[], $2::bigint[]) AS s(a, n)
CROSS JOIN LATERAL (
    SELECT lead_id FROM qualifier.account_members WHERE account_id = s.a
    ORDER BY last_activity_at DESC, lead_id LIMIT s.n
) AS m
"""
_MEMBERS = """
SELECT account_id, lead_id, source, member::text FROM qualifier.account_members
WHERE lead_id = ANY($1::text[])
"""
_UPDATE_ACCOUNTS = """
UPDATE qualifier.accounts AS t SET stage = r.s, episode = r.e, mqa_at = r.m, decided_at = r.d,
    attributes = r.at::jsonb, holders = r.h::jsonb, updated_at = now(),
    version = nextval('qualifier.account_versions')
FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::text[])
    AS r(a, s, e, m, d, at, h)
WHERE t.account_id = r.a
RETURNING t.account_id, t.version
"""
_DELETE_MEMBERS = "DELETE FROM qualifier.account_members WHERE lead_id = ANY($1::text[])"
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
    """A transaction's book and what it was read from: each account's locked version, company holders
    (None: unknown) and depth, the members the notes touch, members' sizes."""

    book: Book
    versions: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)  # lead id -> estimated bytes of its member
    holders: dict[str, dict[str, str] | None] = field(default_factory=dict)
    depth: dict[str, int] = field(default_factory=dict)  # as `CachedAccount.depth`, at the load
    touched: dict[str, set[str]] = field(default_factory=dict)  # account -> leads the notes touch there
    whole: set[str] = field(default_factory=set)  # accounts read whole because they had to be

    def partial(self, account_id: str) -> bool:
        return self.depth.get(account_id, WHOLE) < WHOLE

    def company(self, account_id: str) -> tuple[dict[str, Any], dict[str, str]]:
        """The account's company attributes and their holders, from the members that can hold them now:
        the holders it had and the members the notes touched (every other member is as it was, ranked
        below a holder); from every member where the holders were unknown or a note demoted one (the
        account was read whole then)."""
        members = self.book.members.get(account_id, {})
        holders = self.holders.get(account_id)
        if holders is None or account_id in self.whole:
            leads = sorted(members)
        else:
            leads = sorted((set(holders.values()) | self.touched.get(account_id, set())) & members.keys())
        attributes, _, holders = describe_company(tuple(members[k] for k in leads))
        return attributes, holders

    def _read(self, account_id: str, lead_id: str, source: str, doc: str) -> None:
        self.book.members.setdefault(account_id, {})[lead_id] = _member(doc)
        self.book.sources[lead_id] = source
        self.sizes[lead_id] = member_size(len(doc))

    def cached(self) -> dict[str, CachedAccount]:
        """After the commit: every account the transaction locked, at the version it has now, as deep as
        it surely is after the notes (each touched member may have pushed one out of the top)."""
        book = self.book
        out = {}
        for account_id in book.accounts:
            members = book.members.get(account_id, {})
            depth = self.depth.get(account_id, WHOLE)
            if self.partial(account_id):
                depth = max(0, depth - len(self.touched.get(account_id, ())))
            if len(members) > KEEP + SPARE:  # a large account (or touched members piling up): its top
                depth = min(depth, KEEP)
                keep = {m.lead_id for m in by_recency([members[k] for k in sorted(members)])[:depth]}
                keep |= set((self.holders.get(account_id) or {}).values())
                members = {k: v for k, v in members.items() if k in keep}
            out[account_id] = CachedAccount(
                version=self.versions[account_id],
                members=members,
                sources={k: book.sources[k] for k in members},
                sizes={k: self.sizes.get(k, UNKNOWN_SIZE) for k in members},
                depth=depth,
            )
        return out


async def load_book(
    db: asyncpg.Connection,
    policy: Policy,
    groups: BuyingGroups,
    cache: AccountCache,
    whole: frozenset[str] = frozenset(),
) -> StoredBook:
    """Every account the transaction touches, under a row lock, as far as its notes need (see the
    module's docstring; `whole`: these accounts whole): from the member's copy where the locked version
    is the one it holds, else its copy brought up to date with the members written since; topped up
    from the table where it is not deep enough. The leads' homes are read from the table: the
    transaction holds their lead rows (store.save_ledger), and a member row is only written with its
    lead's."""
    stored = StoredBook(Book(policy))
    book = stored.book
    leads = sorted(groups.lead_ids())
    book.home = {r[0]: r[1] for r in await db.fetch(_HOMES, leads)} if leads else {}
    wanted = sorted(groups.accounts() | set(book.home.values()))
    if not wanted:
        return stored
    touched = stored.touched
    for note in groups.seen:
        if isinstance(note, Seen):
            if (home := book.home.get(note.lead_id)) is not None:
                touched.setdefault(home, set()).add(note.lead_id)
            if note.membership is not None:
                touched.setdefault(note.membership.account_id, set()).add(note.lead_id)
    await db.execute(_ENSURE, wanted)
    behind: dict[str, int] = {}
    for account_id, stage, episode, mqa_at, decided_at, version, holders in await db.fetch(_LOCK, wanted):
        book.accounts[account_id] = AccountState(
            account_id=account_id, stage=stage, episode=episode, mqa_at=mqa_at, decided_at=decided_at
        )
        stored.versions[account_id] = version
        stored.holders[account_id] = orjson.loads(holders) if holders is not None else None
        cached = cache.account(account_id)
        book.members[account_id] = dict(cached.members) if cached is not None else {}  # the copy stays
        stored.depth[account_id] = cached.depth if cached is not None else 0
        if cached is not None:
            book.sources.update(cached.sources)
            stored.sizes.update(cached.sizes)
            if cached.version != version:
                behind[account_id] = cached.version
    if behind:
        await _catch_up(db, stored, behind)
    full = set(whole) | {a for a in wanted if stored.holders[a] is None}
    await _read_members(db, stored, _missing(stored, wanted, full))
    full |= _holders_demoted(stored, groups, wanted, full)
    stored.whole = full
    needed = {}
    for account_id in (a for a in wanted if stored.partial(a)):  # a copy of every member needs nothing
        least = MAX_MEMBERS_EVALUATED + len(touched.get(account_id, ()))
        if account_id in full:
            needed[account_id] = WHOLE
        elif stored.depth[account_id] < least:
            needed[account_id] = least + SPARE
    if needed:
        ids = sorted(needed)
        rows = await db.fetch(_RECENT, ids, [needed[a] for a in ids])
        count = Counter(r[0] for r in rows)
        await _read_members(db, stored, [r[1] for r in rows if r[1] not in book.members[r[0]]])
        for account_id in ids:
            reached = count[account_id] < needed[account_id]  # fewer than asked for: all of them
            stored.depth[account_id] = WHOLE if reached else needed[account_id]
    return stored


async def _catch_up(db: asyncpg.Connection, stored: StoredBook, behind: dict[str, int]) -> None:
    """Copies another member overtook: the members written since, and without those that left. Each
    such member may have pushed one out of the copy's top."""
    book = stored.book
    ids = sorted(behind)
    written = Counter[str]()
    for account_id, lead_id, source, doc in await db.fetch(_SINCE, ids, [behind[a] for a in ids]):
        stored._read(account_id, lead_id, source, doc)
        written[account_id] += 1
    held = [lead for account_id in ids for lead in book.members[account_id]]
    where = {r[0]: r[1] for r in await db.fetch(_HOMES, held)} if held else {}
    for account_id in ids:
        members = book.members[account_id]
        gone = [lead for lead in members if where.get(lead) != account_id]
        for lead in gone:
            del members[lead]
        if stored.partial(account_id):
            stored.depth[account_id] = max(0, stored.depth[account_id] - written[account_id] - len(gone))


def _missing(stored: StoredBook, wanted: list[str], full: set[str]) -> list[str]:
    """Members the notes touch and company holders the copies lack (accounts read whole aside)."""
    book = stored.book
    out = []
    for account_id in wanted:
        if account_id in full:
            continue
        members = book.members[account_id]
        leads = [k for k in stored.touched.get(account_id, ()) if book.home.get(k) == account_id]
        leads += (stored.holders[account_id] or {}).values()
        out += [k for k in leads if k not in members]
    return out


async def _read_members(db: asyncpg.Connection, stored: StoredBook, leads: list[str]) -> None:
    if leads:
        for account_id, lead_id, source, doc in await db.fetch(_MEMBERS, sorted(set(leads))):
            stored._read(account_id, lead_id, source, doc)


def _holders_demoted(stored: StoredBook, groups: BuyingGroups, wanted: list[str], full: set[str]) -> set[str]:
    """Accounts whose company holder a note takes away (or whose traits it ranks lower): some member the
    copy lacks may describe the company then, so they are read whole."""
    book = stored.book
    held: dict[str, list[tuple[str, str]]] = {}  # lead -> (account, group) it holds
    for account_id in wanted:
        if account_id not in full:
            for group, lead in (stored.holders[account_id] or {}).items():
                held.setdefault(lead, []).append((account_id, group))
    out = set()
    for note in groups.seen:
        if not isinstance(note, Seen) or note.lead_id not in held:
            continue
        for account_id, group in held[note.lead_id]:
            known = book.members[account_id].get(note.lead_id)
            if known is None or note.membership is None or note.membership.account_id != account_id:
                out.add(account_id)  # left (or not where the row says: read whole, to be safe)
                continue
            now = note.state.attribute_sources.get(group) if note.state is not None else None
            if now is None or company_key(now) < company_key(known.attribute_sources[group]):
                out.add(account_id)
    return out


async def save_book(session: AsyncSession, stored: StoredBook, outbox: Outbox, topic_mql: str) -> None:
    """Accounts (each changed one at a new version), members (at their account's), MQAs: the register's
    keys refuse an episode that already fired."""
    book = stored.book
    db = await driver_connection(session)
    changed = sorted(book.changed_accounts | {k for k, h in stored.holders.items() if h is None})
    if changed:
        states = [book.accounts[k] for k in changed]
        attributes = []
        for k in changed:
            company, stored.holders[k] = stored.company(k)
            attributes.append(orjson.dumps(company).decode())
        rows = await db.fetch(
            _UPDATE_ACCOUNTS,
            changed,
            [s.stage for s in states],
            [s.episode for s in states],
            [s.mqa_at for s in states],
            [s.decided_at for s in states],
            attributes,
            [orjson.dumps(stored.holders[k]).decode() for k in changed],
        )
        stored.versions.update({r[0]: r[1] for r in rows})
    gone = sorted(k for k in book.changed_members if k not in book.home)
    if gone:
        await db.execute(_DELETE_MEMBERS, gone)
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
    MQAs) in the order the fold took them, which is the log's order, save (an MQA of an account loaded
    partly: again, with that account whole). Returns the accounts as they stand now, for the member's
    cache once the transaction commits."""
    if not groups.seen:
        return {}
    db = await driver_connection(session)
    stored = await load_book(db, policy, groups, cache)
    for note in groups.seen:
        stored.book.take(note)
    if partial := frozenset(m.account_id for m in stored.book.fired if stored.partial(m.account_id)):
        stored = await load_book(db, policy, groups, cache, whole=partial)  # the MQA lists all members
        for note in groups.seen:
            stored.book.take(note)
    await save_book(session, stored, outbox, topic_mql)
    return stored.cached()

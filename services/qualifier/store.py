"""Lead state in PostgreSQL for one transaction of the qualifier, with the member's cache in front.

Reading: what the cache holds is taken from it; the identities and leads it misses are read in one
statement each (no locks). Writing, in this order: the row versions of every lead the fold read are
checked under row locks (`FOR UPDATE`, ordered by id, so two members never deadlock), new leads and
identities are inserted where absent, and only then the event log is appended, so its `seq` (the replay
order) is drawn after the locks: two transactions that touch one lead are serialised and the second
one's events come after the first one's. A version that moved, or a lead or identity someone else
created meanwhile, raises `StaleCache`: the transaction rolls back, those leads are evicted and the
same records are applied again from fresh reads.

The statements go straight to asyncpg on the session's connection (inside its transaction): each bulk
write is one statement over arrays (`unnest`), and json travels as orjson text.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.policy import Activity, LeadState, Policy
from services.common.policy.lead import keep_datetime

from .cache import CachedAccount, CachedLead, LeadCache, estimated_size
from .eventlog import LogEntry
from .stitching import DecisionRecord, Ledger, all_identities
from .tables import identities, leads

# Records folded (or cached rows parsed) between two turns of the event loop: a transaction of thousands
# of events on a busy machine would otherwise hold the loop for longer than the consumer's session
# timeout, its heartbeats would stop, and the member would lose its partitions and start over.
YIELD_EVERY = 250
NO_LEAD = "-"  # events.lead_id of an entry that reached no lead (a decision for an unknown lead)

SELECT_IDENTITIES = "SELECT identity, lead_id FROM qualifier.identities WHERE identity = ANY($1::text[])"
SELECT_LEADS = (
    "SELECT lead_id, merged_into, version, partition, state::text AS state FROM qualifier.leads "
    "WHERE lead_id = ANY($1::text[])"
)
# a partition's leads, most recently active first, for the cache of the member it was assigned to
SELECT_PARTITION_LEADS = (
    "SELECT lead_id, merged_into, version, partition, state::text AS state FROM qualifier.leads "
    "WHERE partition = ANY($1::int[]) AND merged_into IS NULL "
    "ORDER BY last_activity_at DESC NULLS LAST LIMIT $2"
)
SELECT_LEAD_IDENTITIES = "SELECT identity, lead_id FROM qualifier.identities WHERE lead_id = ANY($1::text[])"
LOCK_VERSIONS = (
    "SELECT lead_id, version FROM qualifier.leads WHERE lead_id = ANY($1::text[]) ORDER BY lead_id FOR UPDATE"
)
SELECT_KNOWN_EVENTS = "SELECT event_id FROM qualifier.events WHERE event_id = ANY($1::text[])"
# WITH ORDINALITY ... ORDER BY: `seq` (the replay order) is drawn in the order the batch was folded
INSERT_EVENTS = """
INSERT INTO qualifier.events (event_id, lead_id, type, name, occurred_at, user_id, anonymous_id, data)
SELECT e, l, t, n, o, u, a, d::json
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[],
            $8::text[]) WITH ORDINALITY AS r(e, l, t, n, o, u, a, d, i)
ORDER BY i
ON CONFLICT DO NOTHING
"""
LEAD_COLUMNS = """
FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::timestamptz[], $9::int[]) AS r(l, s, ep, u, em, m, st, la, p)"""
INSERT_LEADS = f"""
INSERT INTO qualifier.leads
    (lead_id, stage, episode, user_id, email, merged_into, state, last_activity_at, partition)
SELECT l, s, ep, u, em, m, st::json, la, p {LEAD_COLUMNS}
ON CONFLICT (lead_id) DO NOTHING
RETURNING lead_id, version
"""
# the rows are locked and their versions checked (LOCK_VERSIONS) before this runs
UPDATE_LEADS = f"""
UPDATE qualifier.leads AS t SET
    stage = r.s, episode = r.ep, user_id = r.u, email = r.em, merged_into = r.m, state = r.st::json,
    last_activity_at = r.la, partition = coalesce(r.p, t.partition), updated_at = now(),
    version = nextval('qualifier.lead_versions')
{LEAD_COLUMNS}
WHERE t.lead_id = r.l
RETURNING t.lead_id, t.version, t.partition
"""
INSERT_IDENTITIES = """
INSERT INTO qualifier.identities (identity, lead_id)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT (identity) DO NOTHING
"""
REPOINT = (
    "UPDATE qualifier.{table} AS t SET lead_id = m.target "
    "FROM unnest($1::text[], $2::text[]) AS m(old, target) WHERE t.lead_id = m.old"
)


class StaleCache(Exception):
    """What the member read is no longer the stored state: roll back, evict, read again."""

    def __init__(self, leads: set[str], identities: set[str], events: bool = False) -> None:
        super().__init__(f"{len(leads)} leads, {len(identities)} identities changed meanwhile")
        self.leads, self.identities, self.events = leads, identities, events


@dataclass
class Loaded:
    """A transaction's ledger and what it was read from: each lead's row version (absent: a new lead)."""

    ledger: Ledger
    versions: dict[str, int] = field(default_factory=dict)
    partitions: dict[str, int | None] = field(default_factory=dict)


@dataclass
class Written:
    """What a committed transaction wrote, for the cache."""

    leads: dict[str, CachedLead] = field(default_factory=dict)
    identities: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, CachedAccount] = field(default_factory=dict)  # account_store.fold_accounts


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session, inside the session's transaction."""
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    assert raw is not None, "the session's connection is open"
    if not raw.is_in_transaction():  # SQLAlchemy begins lazily, on its first statement
        await session.execute(text("SELECT 1"))
    return raw


async def known_events(db: asyncpg.Connection, ids: list[str]) -> set[str]:
    """Envelope ids already in the log: a client re-posting a messageId, a relay re-sending a
    decision. (Kafka redeliveries never get here: the stored offsets say where to start.)"""
    return {r[0] for r in await db.fetch(SELECT_KNOWN_EVENTS, ids)} if ids else set()


def _cache_row(cache: LeadCache, row: asyncpg.Record) -> CachedLead:
    lead_id, merged_into, version, partition, state = row
    cached = CachedLead(
        state=None if merged_into else LeadState.from_dict(orjson.loads(state)),
        merged_into=merged_into,
        version=version,
        partition=partition,
        size=estimated_size(len(state)),
    )
    cache.put(lead_id, cached)
    return cached


async def load_ledger(
    db: asyncpg.Connection, policy: Policy, entries: list[LogEntry], cache: LeadCache
) -> Loaded:
    """The ledger of a transaction: cached identities and leads, the rest read (without locks)."""
    keys = sorted(all_identities([e.entry for e in entries]))
    found: dict[str, str] = {}
    missing: list[str] = []
    for key in keys:
        lead_id = cache.identity(key)
        if lead_id is None:
            missing.append(key)
        else:
            found[key] = lead_id
    from_db: dict[str, str] = {}
    if missing:
        from_db = {r[0]: r[1] for r in await db.fetch(SELECT_IDENTITIES, missing)}
        found.update(from_db)
    loaded = Loaded(Ledger(policy, identities=found))
    ledger = loaded.ledger
    wanted = set(found.values()) | {e.entry.lead_id for e in entries if isinstance(e.entry, DecisionRecord)}
    while wanted:
        misses: list[str] = []
        following: set[str] = set()
        for lead_id in wanted:
            cached = cache.lead(lead_id)
            if cached is None:
                misses.append(lead_id)
            else:
                following |= _take(loaded, lead_id, cached)
        if misses:
            for row in await db.fetch(SELECT_LEADS, misses):
                following |= _take(loaded, row[0], _cache_row(cache, row))
        wanted = {k for k in following if k not in ledger.states and k not in ledger.merged_into}
    for key, lead_id in from_db.items():
        cache.link(key, lead_id)
    return loaded


def _take(loaded: Loaded, lead_id: str, cached: CachedLead) -> set[str]:
    """Put a stored lead into the ledger; returns the lead it was merged into, if any, to load next."""
    loaded.versions[lead_id] = cached.version
    loaded.partitions[lead_id] = cached.partition
    if cached.merged_into:
        loaded.ledger.merged_into[lead_id] = cached.merged_into
        return {cached.merged_into}
    assert cached.state is not None
    loaded.ledger.states[lead_id] = cached.state
    return set()


async def save_ledger(
    db: asyncpg.Connection, loaded: Loaded, entries: list[LogEntry], partition_of: dict[str, int]
) -> Written:
    """Check what was read, then store the changed leads, new identities, merges and the entries (in
    the order folded). Raises StaleCache when another member changed what this one read."""
    ledger = loaded.ledger
    read = sorted(loaded.versions)
    if read:
        now = {r[0]: r[1] for r in await db.fetch(LOCK_VERSIONS, read)}
        stale = {k for k in read if now.get(k) != loaded.versions[k]}
        if stale:
            raise StaleCache(stale, set())
    partitions = _lead_partitions(loaded, partition_of)
    written = Written()
    new = sorted(k for k in ledger.changed if k not in loaded.versions)
    old = sorted(k for k in ledger.changed if k in loaded.versions)
    sizes: dict[str, int] = {}
    if new:
        rows = await db.fetch(INSERT_LEADS, *_lead_columns(ledger, new, partitions, sizes))
        if len(rows) < len(new):  # another member created one of them meanwhile
            raise StaleCache(set(new) - {r[0] for r in rows}, set())
        for lead_id, version in rows:
            written.leads[lead_id] = _cached(ledger, lead_id, version, partitions[lead_id], sizes)
    if old:
        for lead_id, version, partition in await db.fetch(
            UPDATE_LEADS, *_lead_columns(ledger, old, partitions, sizes)
        ):
            written.leads[lead_id] = _cached(ledger, lead_id, version, partition, sizes)
    if ledger.new_identities:
        keys = sorted(ledger.new_identities)
        status = await db.execute(INSERT_IDENTITIES, keys, [ledger.lookup(k) for k in keys])
        if _count(status) < len(keys):  # read as absent, stored by another member meanwhile
            raise StaleCache(set(), set(keys))
    if ledger.merged:
        olds = sorted(ledger.merged)
        targets = [ledger.resolve(o) for o in olds]
        for table in ("identities", "events"):
            await db.execute(REPOINT.format(table=table), olds, targets)
    if entries:
        status = await db.execute(INSERT_EVENTS, *_event_columns(ledger, entries))
        if _count(status) < len(entries):  # the same id applied meanwhile through another partition
            raise StaleCache(set(), set(), events=True)
    written.identities = {k: ledger.lookup(k) or v for k, v in ledger.identities.items()}
    return written


def absorb(cache: LeadCache, written: Written) -> None:
    """After the commit: the cache takes what was written."""
    for lead_id, cached in written.leads.items():
        cache.put(lead_id, cached)
    for key, lead_id in written.identities.items():
        cache.link(key, lead_id)
    for account_id, account in written.accounts.items():
        cache.accounts.put(account_id, account)
    cache.fit()


async def load_partitions(db: asyncpg.Connection, cache: LeadCache, partitions: list[int]) -> int:
    """On assignment: the partitions' most recently active leads and their identities, in bulk, as many
    as the budget holds. Returns how many leads were loaded."""
    room = max(0, cache.budget - cache.bytes) // estimated_size(1500)
    if not partitions or room == 0:
        return 0
    rows = await db.fetch(SELECT_PARTITION_LEADS, partitions, room)
    for n, row in enumerate(rows, 1):
        _cache_row(cache, row)
        if n % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    ids = [r[0] for r in rows]
    for identity, lead_id in await db.fetch(SELECT_LEAD_IDENTITIES, ids) if ids else []:
        cache.link(identity, lead_id)
    cache.fit()
    return len(rows)


def _count(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


def _lead_partitions(loaded: Loaded, partition_of: dict[str, int]) -> dict[str, int | None]:
    """Each changed lead's owning partition: that of its latest event here, else the one it had."""
    ledger = loaded.ledger
    out: dict[str, int | None] = {k: loaded.partitions.get(k) for k in ledger.changed}
    for applied in ledger.applied:
        if applied.lead_id is not None and (p := partition_of.get(applied.entry.event_id)) is not None:
            out[ledger.resolve(applied.lead_id)] = p
    for lead_id in ledger.merged:
        out[lead_id] = out.get(ledger.resolve(lead_id))
    return out


def _cached(
    ledger: Ledger, lead_id: str, version: int, partition: int | None, sizes: dict[str, int]
) -> CachedLead:
    merged = lead_id in ledger.merged_into
    return CachedLead(
        state=None if merged else ledger.states[lead_id],
        merged_into=ledger.resolve(lead_id) if merged else None,
        version=version,
        partition=partition,
        size=sizes[lead_id],
    )


def _event_columns(ledger: Ledger, entries: list[LogEntry]) -> list[list[Any]]:
    columns: list[list[Any]] = [[] for _ in range(8)]
    ids, lead_ids, types, names, times, user_ids, anonymous_ids, data = columns
    resolve = ledger.resolve
    for log_entry, applied in zip(entries, ledger.applied, strict=True):
        entry = log_entry.entry
        ids.append(entry.event_id)
        lead_ids.append(resolve(applied.lead_id) if applied.lead_id else _no_lead(log_entry))
        types.append(log_entry.type)
        names.append(log_entry.name)
        times.append(entry.time)
        if isinstance(entry, Activity):
            user_ids.append(entry.user_id)
            anonymous_ids.append(entry.anonymous_id)
        else:
            user_ids.append(None)
            anonymous_ids.append(None)
        data.append(orjson.dumps(log_entry.data).decode())
    return columns


def _lead_columns(
    ledger: Ledger, lead_ids: list[str], partitions: dict[str, int | None], sizes: dict[str, int]
) -> list[list[Any]]:
    columns: list[list[Any]] = [[] for _ in range(9)]
    ids, stages, episodes, user_ids, emails, merged, states, last, parts = columns
    for lead_id in lead_ids:
        state = ledger.states[lead_id]
        ids.append(lead_id)
        stages.append(state.stage)
        episodes.append(state.episode)
        user_ids.append(state.user_id)
        emails.append(state.email)
        merged.append(ledger.resolve(lead_id) if lead_id in ledger.merged_into else None)
        doc = orjson.dumps(state.to_dict(keep_datetime)).decode()  # orjson writes isoformat
        sizes[lead_id] = estimated_size(len(doc))
        states.append(doc)
        last.append(state.last_activity_at)
        parts.append(partitions.get(lead_id))
    return columns


def lead_row(state: LeadState, merged_into: str | None) -> dict[str, Any]:
    """A `leads` row for SQLAlchemy (replay's write-back)."""
    return {
        "lead_id": state.lead_id,
        "stage": state.stage,
        "episode": state.episode,
        "user_id": state.user_id,
        "email": state.email,
        "merged_into": merged_into,
        "state": state.to_dict(),
        "last_activity_at": state.last_activity_at,
    }


def _no_lead(entry: LogEntry) -> str:
    return entry.entry.lead_id if isinstance(entry.entry, DecisionRecord) else NO_LEAD


async def stored_lead(session: AsyncSession, lead_id: str) -> tuple[str, LeadState] | None:
    """A lead by id (following merges) or by any of its identities (user id, email, anonymous id)."""
    for _ in range(20):
        row = (await session.execute(select(leads).where(leads.c.lead_id == lead_id))).first()
        if row is None:
            found = await session.scalar(
                select(identities.c.lead_id).where(
                    identities.c.identity.in_(
                        [f"user:{lead_id}", f"email:{lead_id.lower()}", f"anon:{lead_id}"]
                    )
                )
            )
            if found is None:
                return None
            lead_id = found
            continue
        if row.merged_into:
            lead_id = row.merged_into
            continue
        return lead_id, LeadState.from_dict(row.state)
    return None

"""Lead state in PostgreSQL for one batch: lock and load what the batch touches, write back what changed.

A constant number of round trips per batch, whatever its size: advisory locks on the batch's
identities, one identities query, one `SELECT ... FOR UPDATE` of the leads (ordered by id, so two
group members never deadlock on them), then bulk writes. The advisory locks serialise two members that
would create or re-point the same identity; the row locks serialise two members that reach the same
lead through different identities. A lead merged away meanwhile is followed to where it went.

The batch's statements go straight to asyncpg on the session's connection (inside its transaction):
each bulk write is one statement over arrays (`unnest`), and json travels as orjson text. Through
SQLAlchemy executemany, binding thousands of parameters and encoding jsonb with the stdlib `json` cost
more than the database's own work.
"""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg
import orjson
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.policy import LeadState, Policy
from services.common.policy.lead import keep_datetime

from .eventlog import LogEntry
from .stitching import DecisionRecord, Ledger, all_identities
from .tables import identities, leads

NO_LEAD = "-"  # events.lead_id of an entry that reached no lead (a decision for an unknown lead)

LOCK_IDENTITIES = "SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k"
SELECT_IDENTITIES = "SELECT identity, lead_id FROM qualifier.identities WHERE identity = ANY($1::text[])"
SELECT_LEADS = (
    "SELECT lead_id, merged_into, state::text AS state FROM qualifier.leads "
    "WHERE lead_id = ANY($1::text[]) ORDER BY lead_id FOR UPDATE"
)
# WITH ORDINALITY ... ORDER BY: `seq` (the replay order) is drawn in the order the batch was folded
INSERT_EVENTS = """
INSERT INTO qualifier.events (event_id, lead_id, type, name, occurred_at, user_id, anonymous_id, data)
SELECT e, l, t, n, o, u, a, d::json
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[],
            $8::text[]) WITH ORDINALITY AS r(e, l, t, n, o, u, a, d, i)
ORDER BY i
ON CONFLICT DO NOTHING
"""
UPSERT_LEADS = """
INSERT INTO qualifier.leads (lead_id, stage, episode, user_id, email, merged_into, state, last_activity_at)
SELECT l, s, ep, u, em, m, st::json, la
FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::timestamptz[]) AS r(l, s, ep, u, em, m, st, la)
ON CONFLICT (lead_id) DO UPDATE SET
    stage = excluded.stage, episode = excluded.episode, user_id = excluded.user_id,
    email = excluded.email, merged_into = excluded.merged_into, state = excluded.state,
    last_activity_at = excluded.last_activity_at, updated_at = now()
"""
UPSERT_IDENTITIES = """
INSERT INTO qualifier.identities (identity, lead_id)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT (identity) DO UPDATE SET lead_id = excluded.lead_id
"""
REPOINT = (
    "UPDATE qualifier.{table} AS t SET lead_id = m.target "
    "FROM unnest($1::text[], $2::text[]) AS m(old, target) WHERE t.lead_id = m.old"
)


def lock_key(identity: str) -> int:
    return int.from_bytes(hashlib.blake2b(identity.encode(), digest_size=8).digest(), "big", signed=True)


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session, inside the session's transaction."""
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    assert raw is not None, "the session's connection is open"
    if not raw.is_in_transaction():  # SQLAlchemy begins lazily, on its first statement
        await session.execute(text("SELECT 1"))
    return raw


async def load_ledger(session: AsyncSession, policy: Policy, entries: list[LogEntry]) -> Ledger:
    db = await driver_connection(session)
    keys = sorted(all_identities([e.entry for e in entries]))
    found: dict[str, str] = {}
    if keys:
        await db.execute(LOCK_IDENTITIES, sorted({lock_key(k) for k in keys}))
        found = {r[0]: r[1] for r in await db.fetch(SELECT_IDENTITIES, keys)}
    ledger = Ledger(policy, identities=found)
    wanted = set(found.values()) | {e.entry.lead_id for e in entries if isinstance(e.entry, DecisionRecord)}
    while wanted:
        rows = await db.fetch(SELECT_LEADS, sorted(wanted))
        wanted = set()
        for lead_id, merged_into, state in rows:
            if merged_into:
                ledger.merged_into[lead_id] = merged_into
                if merged_into not in ledger.states and merged_into not in ledger.merged_into:
                    wanted.add(merged_into)
            else:
                ledger.states[lead_id] = LeadState.from_dict(orjson.loads(state))
    return ledger


async def save_ledger(session: AsyncSession, ledger: Ledger, entries: list[LogEntry]) -> None:
    """Store the entries (in the order folded), the changed leads, new identities and merges."""
    db = await driver_connection(session)
    if entries:
        await db.execute(INSERT_EVENTS, *_event_columns(ledger, entries))
    if ledger.changed:
        await db.execute(UPSERT_LEADS, *_lead_columns(ledger))
    if ledger.new_identities:
        keys = sorted(ledger.new_identities)
        await db.execute(UPSERT_IDENTITIES, keys, [ledger.lookup(k) for k in keys])
    if ledger.merged:
        olds = sorted(ledger.merged)
        targets = [ledger.resolve(o) for o in olds]
        for table in ("identities", "events"):
            await db.execute(REPOINT.format(table=table), olds, targets)


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
        if isinstance(entry, DecisionRecord):
            user_ids.append(None)
            anonymous_ids.append(None)
        else:
            user_ids.append(entry.user_id)
            anonymous_ids.append(entry.anonymous_id)
        data.append(orjson.dumps(log_entry.data).decode())
    return columns


def _lead_columns(ledger: Ledger) -> list[list[Any]]:
    columns: list[list[Any]] = [[] for _ in range(8)]
    ids, stages, episodes, user_ids, emails, merged, states, last = columns
    for lead_id in sorted(ledger.changed):
        state = ledger.states[lead_id]
        ids.append(lead_id)
        stages.append(state.stage)
        episodes.append(state.episode)
        user_ids.append(state.user_id)
        emails.append(state.email)
        merged.append(ledger.resolve(lead_id) if lead_id in ledger.merged_into else None)
        states.append(orjson.dumps(state.to_dict(keep_datetime)).decode())  # orjson writes isoformat
        last.append(state.last_activity_at)
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

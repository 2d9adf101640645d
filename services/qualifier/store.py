"""Lead state in PostgreSQL for one batch: lock and load what the batch touches, write back what changed.

A constant number of round trips per batch, whatever its size: advisory locks on the batch's
identities, one identities query, one `SELECT ... FOR UPDATE` of the leads (ordered by id, so two
group members never deadlock on them), then bulk writes. The advisory locks serialise two members that
would create or re-point the same identity; the row locks serialise two members that reach the same
lead through different identities. A lead merged away meanwhile is followed to where it went.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .eventlog import LogEntry
from .policy import LeadState, Policy
from .stitching import DecisionRecord, Ledger, all_identities
from .tables import events, identities, leads

NO_LEAD = "-"  # events.lead_id of an entry that reached no lead (a decision for an unknown lead)


def lock_key(identity: str) -> int:
    return int.from_bytes(hashlib.blake2b(identity.encode(), digest_size=8).digest(), "big", signed=True)


async def load_ledger(session: AsyncSession, policy: Policy, entries: list[LogEntry]) -> Ledger:
    keys = all_identities([e.entry for e in entries])
    if keys:
        await session.execute(
            text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k"),
            {"keys": sorted({lock_key(k) for k in keys})},
        )
    found: dict[str, str] = {}
    if keys:
        rows = await session.execute(
            select(identities.c.identity, identities.c.lead_id).where(identities.c.identity.in_(keys))
        )
        found = {r.identity: r.lead_id for r in rows}
    ledger = Ledger(policy, identities=found)
    wanted = set(found.values()) | {e.entry.lead_id for e in entries if isinstance(e.entry, DecisionRecord)}
    while wanted:
        rows = await session.execute(
            select(leads.c.lead_id, leads.c.merged_into, leads.c.state)
            .where(leads.c.lead_id.in_(sorted(wanted)))
            .order_by(leads.c.lead_id)
            .with_for_update()
        )
        wanted = set()
        for r in rows:
            if r.merged_into:
                ledger.merged_into[r.lead_id] = r.merged_into
                if r.merged_into not in ledger.states and r.merged_into not in ledger.merged_into:
                    wanted.add(r.merged_into)
            else:
                ledger.states[r.lead_id] = LeadState.from_dict(r.state)
    return ledger


async def save_ledger(session: AsyncSession, ledger: Ledger, entries: list[LogEntry]) -> None:
    """Store the entries (in the order folded), the changed leads, new identities and merges."""
    rows = []
    for log_entry, applied in zip(entries, ledger.applied, strict=True):
        rows.append(
            log_entry.row(ledger.resolve(applied.lead_id) if applied.lead_id else _no_lead(log_entry))
        )
    if rows:
        await session.execute(insert(events).on_conflict_do_nothing(), rows)
    if ledger.changed:
        await _upsert_leads(session, ledger)
    if ledger.new_identities:
        stmt = insert(identities)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[identities.c.identity], set_={"lead_id": stmt.excluded.lead_id}
            ),
            [{"identity": k, "lead_id": ledger.lookup(k)} for k in sorted(ledger.new_identities)],
        )
    if ledger.merged:
        olds = sorted(ledger.merged)
        params = {"olds": olds, "targets": [ledger.resolve(o) for o in olds]}
        for table in ("identities", "events"):
            await session.execute(
                text(
                    f"UPDATE qualifier.{table} AS t SET lead_id = m.target "
                    "FROM unnest(CAST(:olds AS text[]), CAST(:targets AS text[])) AS m(old, target) "
                    "WHERE t.lead_id = m.old"
                ),
                params,
            )


async def _upsert_leads(session: AsyncSession, ledger: Ledger) -> None:
    rows = []
    for lead_id in sorted(ledger.changed):
        state = ledger.states[lead_id]
        merged_into = ledger.resolve(lead_id) if lead_id in ledger.merged_into else None
        rows.append(lead_row(state, merged_into))
    stmt = insert(leads)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[leads.c.lead_id],
            set_={
                name: stmt.excluded[name]
                for name in (
                    "stage",
                    "episode",
                    "user_id",
                    "email",
                    "merged_into",
                    "state",
                    "last_activity_at",
                )
            }
            | {"updated_at": func.now()},
        ),
        rows,
    )


def lead_row(state: LeadState, merged_into: str | None) -> dict[str, Any]:
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

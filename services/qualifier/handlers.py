"""Applying a transaction's envelopes to lead state: the qualifier's unit of work.

Inside the consumer's transaction (its stored offsets already advanced): drop the envelopes the log
already holds, fold the rest into the leads they touch (from the member's cache, the misses read),
store the log and the new states, register each MQL and put it in the outbox. The consumer commits;
the relay publishes the MQLs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg
import orjson
from prometheus_client import Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.consumer import Delivered
from services.common.metrics import DUPLICATES
from services.common.outbox import Outbox
from services.common.policy import Policy

from .account_store import fold_accounts
from .buying_groups import BuyingGroups
from .cache import LeadCache
from .changelog import Changelog
from .decisions import ACCOUNT_DECISION_TYPE, DECISION_TYPE
from .eventlog import applied_order, from_envelope
from .mql import mql_data, mql_envelope, mql_row
from .stitching import Fired
from .store import YIELD_EVERY, Written, driver_connection, known_events, load_ledger, save_ledger

EVENT_TYPES = frozenset(
    f"leadstate.{kind}.v1" for kind in ("track", "identify", "page", "screen", "group", "alias")
)
DECISION_TYPES = frozenset({DECISION_TYPE, ACCOUNT_DECISION_TYPE})
MQL_COLUMNS = ("mql_id", "lead_id", "episode", "rule", "policy_version", "qualified_at", "data")
INSERT_MQLS = """
INSERT INTO qualifier.mqls (mql_id, lead_id, episode, rule, policy_version, qualified_at, data)
SELECT m, l, e, r, p, q, d::jsonb
FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::timestamptz[], $7::text[])
    WITH ORDINALITY AS t(m, l, e, r, p, q, d, i)
ORDER BY i
ON CONFLICT DO NOTHING
RETURNING mql_id
"""
# where a transaction's time goes: reading, de-duplicating, loading, folding, saving the leads, folding and
# saving the accounts, the changelog; the commit (partitions.py)
PHASE_SECONDS = Histogram(
    "leadstate_qualifier_phase_seconds", "Time per phase of one qualifier transaction", ["phase"]
)


@dataclass(frozen=True)
class Qualify:
    """The unit of work, bound to the policy loaded at start-up, the outbox of `lead.mql` and the
    member's cache of lead state."""

    policy: Policy
    outbox: Outbox
    topic_mql: str
    topic_events: str
    cache: LeadCache
    topic_state: str  # lead.updated (services/qualifier/changelog.py)

    async def __call__(self, session: AsyncSession, batch: list[Delivered]) -> None:
        await self.apply(session, batch)

    async def apply(self, session: AsyncSession, batch: list[Delivered]) -> Written:
        started = time.perf_counter()
        db = await driver_connection(session)
        unique = list({d.envelope.id: d for d in batch}.values())
        known = await known_events(db, [d.envelope.id for d in unique])
        fresh = [d for d in unique if d.envelope.id not in known]
        if len(fresh) < len(batch):
            DUPLICATES.labels("qualifier").inc(len(batch) - len(fresh))
        deduped = time.perf_counter()
        entries = applied_order([from_envelope(d.envelope) for d in fresh])
        partition_of = {d.envelope.id: d.partition for d in fresh if d.topic == self.topic_events}
        read = time.perf_counter()
        loaded = await load_ledger(db, self.policy, entries, self.cache)
        ledger = loaded.ledger
        changes = await Changelog.load(db, self.policy, list(ledger.states))
        fetched = time.perf_counter()
        groups = BuyingGroups(self.policy)
        for n, entry in enumerate(entries, 1):
            changes.catch_up(ledger, entry.entry)
            ledger.fold(entry.entry)
            changes.observe(ledger)
            groups.observe(ledger)
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # the consumer's heartbeats run on this loop
        folded = time.perf_counter()
        written = await save_ledger(db, loaded, entries, partition_of)
        await self.record_mqls(db, ledger.fired)
        saved = time.perf_counter()
        written.accounts = await fold_accounts(
            session, self.policy, groups, self.outbox, self.topic_mql, self.cache.accounts
        )
        accounted = time.perf_counter()
        await changes.save(db, self.outbox, self.topic_state)
        published = time.perf_counter()
        for phase, seconds in (
            ("dedupe", deduped - started),
            ("read", read - deduped),
            ("load", fetched - read),
            ("fold", folded - fetched),
            ("save", saved - folded),  # the leads, identities, log and MQLs
            ("accounts", accounted - saved),
            ("changelog", published - accounted),
        ):
            PHASE_SECONDS.labels(phase).observe(seconds)
        return written

    async def record_mqls(self, db: asyncpg.Connection, fired: list[Fired]) -> None:
        """The one place MQLs leave the fold: the register, then the outbox, in the state's transaction."""
        if not fired:
            return
        made = [(mql_data(f.lead_id, f.mql), f.mql) for f in fired]
        rows = [mql_row(data, mql) for data, mql in made]
        # the register's keys refuse an episode that already fired (never two MQLs for one episode)
        new_ids = {
            r[0]
            for r in await db.fetch(
                INSERT_MQLS,
                *([row[k] for row in rows] for k in MQL_COLUMNS[:-1]),
                [orjson.dumps(row["data"]).decode() for row in rows],
            )
        }
        await self.outbox.add_bytes(
            db,
            self.topic_mql,
            [
                (data["lead_id"], data["mql_id"], mql_envelope(data, mql).to_bytes())
                for data, mql in made
                if data["mql_id"] in new_ids
            ],
        )

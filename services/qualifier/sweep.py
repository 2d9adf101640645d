"""The changelog's sweep: a lead whose view changes with no new event (its score band decaying, a change
the rate limit held back) gets its `lead.updated` within `LEADSTATE_QUALIFIER_SWEEP_S` of the time it
fell due, even if the lead never comes back.

Every interval, a member looks at the leads of the `lead.events` partitions it owns whose published
view is due (`lead_changelog.due_at` up to the sweep's start, oldest first, at most `BATCH` a
transaction) and publishes what the rule makes of them (decay.py: the update carries the time the change
fell due, not the time of the sweep). The same transaction checks that no other member moved those
partitions' stored offsets (the fence of offsets.py: a zombie sweeps nothing) and records each look in
`qualifier.sweeps` with a `seq` of the event log's sequence: `leadstate replay` looks at the same leads
at the same points of the log, so it makes the same updates as the worker did, even when an event dated
before a look arrives after it. A sweep with more than one batch to do takes one between two of the
stream's transactions (at most `MAX_BATCHES` per interval), never all of them in a row: the stream
waits for one batch at most (`leadstate_qualifier_sweep_seconds`).

A look that changed a lead's published view moves the lead's row version too, as any write of the lead
does. Another member's transaction on that lead (a decision arriving on a `lead.decisions` partition it
owns, a merge across partitions) that read the view before the look committed then fails its version
check and is applied again from fresh reads, with its log entries after the look: without it, that
transaction would overwrite the look's view with one made from the older view, in an order the log
does not have (seen in the scale-out chaos run: replay and live disagreed on a few leads).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import orjson
from aiokafka import TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.policy import LeadState

from .changelog import Changelog
from .decay import Published
from .handlers import Qualify
from .offsets import Fenced, StoredOffsets
from .store import driver_connection

log = logging.getLogger(__name__)

BATCH = 500
MAX_BATCHES = 20  # a sweep longer than this leaves the rest to the next interval
# the due leads, oldest due first; locked in lead id order, as the fold locks leads (no deadlock)
SELECT_DUE = """
SELECT c.lead_id, c.view::text, c.published_at, c.due_at, l.state::text
FROM qualifier.lead_changelog AS c JOIN qualifier.leads AS l USING (lead_id)
WHERE c.lead_id IN (
    SELECT d.lead_id FROM qualifier.lead_changelog AS d JOIN qualifier.leads AS o USING (lead_id)
    WHERE d.due_at <= $1 AND o.partition = ANY($2::int[]) AND o.merged_into IS NULL
    ORDER BY d.due_at, d.lead_id
    LIMIT $3
)
ORDER BY c.lead_id
FOR UPDATE OF l, c
"""
# the rows are locked by SELECT_DUE; the sweeping member's cache takes the new versions (cache.moved)
MOVE_VERSIONS = """
UPDATE qualifier.leads SET version = nextval('qualifier.lead_versions')
WHERE lead_id = ANY($1::text[])
RETURNING lead_id, version
"""
RECORD = """
INSERT INTO qualifier.sweeps (seq, lead_id, at)
SELECT nextval(pg_get_serial_sequence('qualifier.events', 'seq')), l, $2
FROM unnest($1::text[]) WITH ORDINALITY AS r(l, i) ORDER BY i
"""


class Sweep:
    def __init__(self, qualify: Qualify, every_s: float) -> None:
        self.qualify, self.every_s = qualify, every_s
        self.next_at = time.monotonic() + every_s  # the first one an interval after start
        self.going: tuple[datetime, int] | None = None  # a sweep under way: up to when, batches done

    def due(self) -> bool:
        return self.every_s > 0 and (self.going is not None or time.monotonic() >= self.next_at)

    async def run(
        self,
        sessions: async_sessionmaker[AsyncSession],
        offsets: StoredOffsets,
        positions: dict[TopicPartition, int | None],
    ) -> int:
        """One batch of the sweep (started now, or the one under way); returns the updates published.
        While more leads are due, `due()` stays true: the next batch follows the stream's next
        transaction."""
        if self.going is None:
            self.next_at = time.monotonic() + self.every_s
            self.going = (datetime.now(UTC), 0)
        until, done = self.going
        self.going = None  # set again below only if more is due: a batch that fails ends the sweep
        owned = {  # the stored offsets as they are now: the stream moved them since the last batch
            tp: n for tp, n in positions.items() if tp.topic == self.qualify.topic_events and n is not None
        }
        if not owned:
            return 0
        try:
            made, more = await self._once(sessions, offsets, owned, until)
        except Fenced as exc:  # another member has them now: its sweep will do it
            log.info("sweep skipped: partitions moved", extra={"partitions": len(exc.partitions)})
            return 0
        if more and done + 1 < MAX_BATCHES:
            self.going = (until, done + 1)
        return made

    async def _once(
        self,
        sessions: async_sessionmaker[AsyncSession],
        offsets: StoredOffsets,
        owned: dict[TopicPartition, int],
        now: datetime,
    ) -> tuple[int, bool]:
        qualify = self.qualify
        async with sessions() as session, session.begin():
            db = await driver_connection(session)
            await offsets.advance(db, {tp: (n, n) for tp, n in owned.items()})  # the fence, moving nothing
            rows = await db.fetch(SELECT_DUE, now, sorted(tp.partition for tp in owned), BATCH)
            changes = Changelog(qualify.policy)
            for lead_id, view, published_at, due_at, state in rows:
                changes.published[lead_id] = Published(orjson.loads(view), published_at, due_at)
                changes.look(LeadState.from_dict(orjson.loads(state)), now)
            await changes.save(db, qualify.outbox, qualify.topic_state)
            moved: dict[str, int] = {}
            if changes.touched:
                moved = {r[0]: r[1] for r in await db.fetch(MOVE_VERSIONS, sorted(changes.touched))}
            if rows:
                await db.execute(RECORD, [r[0] for r in rows], now)
        qualify.cache.moved(moved)  # committed: this member's own next write of them is not stale
        return len(changes.updates), len(rows) == BATCH

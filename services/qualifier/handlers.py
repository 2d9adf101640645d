"""Applying a batch of envelopes to lead state: the qualifier's unit of work.

Inside the consumer's transaction (the envelope ids are already claimed): fold the batch into the leads
it touches, store the log and the new states, register each MQL and put it in the outbox. The consumer
commits, then the Kafka offsets; the relay publishes the MQLs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from prometheus_client import Histogram
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.consumer import Delivered
from services.common.outbox import Outbox
from services.common.policy import Policy

from .changelog import Changelog
from .decisions import DECISION_TYPE
from .eventlog import applied_order, from_envelope
from .mql import mql_data, mql_envelope, mql_row
from .stitching import Fired
from .store import load_ledger, save_ledger
from .tables import mqls

EVENT_TYPES = frozenset(
    f"leadstate.{kind}.v1" for kind in ("track", "identify", "page", "screen", "group", "alias")
)
DECISION_TYPES = frozenset({DECISION_TYPE})
# where a batch's time goes: which of reading, loading, folding and saving to look at first
PHASE_SECONDS = Histogram(
    "leadstate_qualifier_phase_seconds", "Time per phase of one qualifier batch", ["phase"]
)


@dataclass(frozen=True)
class Qualify:
    """The batch handler, bound to the policy loaded at start-up and the outbox of `lead.mql`."""

    policy: Policy
    outbox: Outbox
    topic_mql: str
    topic_state: str  # lead.updated (services/qualifier/changelog.py)

    async def __call__(self, session: AsyncSession, batch: list[Delivered]) -> None:
        started = time.perf_counter()
        entries = applied_order([from_envelope(d.envelope) for d in batch])
        read = time.perf_counter()
        ledger = await load_ledger(session, self.policy, entries)
        changes = await Changelog.load(session, self.policy, list(ledger.states))
        loaded = time.perf_counter()
        for entry in entries:
            ledger.fold(entry.entry)
            changes.observe(ledger)
        folded = time.perf_counter()
        await save_ledger(session, ledger, entries)
        await self._emit(session, ledger.fired)
        await changes.save(session, self.outbox, self.topic_state)
        saved = time.perf_counter()
        for phase, seconds in (
            ("read", read - started),
            ("load", loaded - read),
            ("fold", folded - loaded),
            ("save", saved - folded),
        ):
            PHASE_SECONDS.labels(phase).observe(seconds)

    async def _emit(self, session: AsyncSession, fired: list[Fired]) -> None:
        if not fired:
            return
        made = [(mql_data(f.lead_id, f.mql), f.mql) for f in fired]
        # the register's keys refuse an episode that already fired (never two MQLs for one episode)
        new_ids = set(
            (
                await session.execute(
                    insert(mqls).on_conflict_do_nothing().returning(mqls.c.mql_id),
                    [mql_row(data, mql) for data, mql in made],
                )
            ).scalars()
        )
        await self.outbox.add(
            session,
            self.topic_mql,
            [mql_envelope(data, mql) for data, mql in made if data["mql_id"] in new_ids],
        )

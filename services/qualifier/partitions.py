"""The qualifier's consumer loop: partitions owned with their state, offsets kept with it.

On assignment, the stored offsets (qualifier.offsets) are read and the consumer seeks to them, and the
partitions' leads are loaded into the cache in bulk; on revoke, their leads leave the cache. Records are
gathered over several fetches into one transaction (at most `coalesce_s` and `txn_max` records, and
never waiting for more once the fetched records are used up, so a quiet stream is not delayed): one
transaction advances the stored offsets from where this member believes they are, folds the records and
writes each changed lead once. Kafka's own commit is advisory (it only matters where no offset is stored
yet, and for lag tools): while records keep coming it follows a transaction at most once a second
(`ADVISORY_EVERY_S`, as Kafka Streams commits on an interval), so a broker round trip is not on every
transaction's path; it also follows the first transaction after an assignment, and is made as soon as
a fetch finds nothing new (caught up) and when the member stops. A record is therefore applied exactly
once without claiming its id; the log's ids still catch a client re-posting a messageId
(store.known_events).

Two guards make a stale member harmless: the offsets fence (offsets.py) refuses a zombie's
transaction, and the lead versions (store.py) refuse a write over state another member changed through
an identity on its own partition. Either one rolls the transaction back; the member re-reads (and, when
fenced, re-seeks) and applies what is still its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from typing import Any

from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from prometheus_client import Counter, Gauge, Histogram

from services.common.consumer import BatchConsumer, Delivered, is_transient
from services.common.kafka import RebalanceLog
from services.common.metrics import CONSUMED

from .handlers import PHASE_SECONDS, Qualify
from .offsets import Fenced, Moves, StoredOffsets
from .store import StaleCache, absorb, driver_connection, load_partitions
from .sweep import Sweep

log = logging.getLogger(__name__)

ADVISORY_EVERY_S = 1.0  # at most this often, Kafka's commit of what the stored offsets already say

RETRIES = Counter(
    "leadstate_qualifier_stale_retries_total",
    "Transactions rolled back and applied again: a stale cache (lead versions) or a fenced partition",
    ["reason"],
)
CACHE_BYTES = Gauge(
    "leadstate_qualifier_cache_bytes",
    "Estimated bytes this member caches, against LEADSTATE_QUALIFIER_CACHE_MB (kind: leads, accounts)",
    ["kind"],
)
SWEEP_SECONDS = Histogram(
    "leadstate_qualifier_sweep_seconds", "Time of one transaction of the changelog's sweep (sweep.py)"
)
CACHE_ENTRIES = Gauge("leadstate_qualifier_cache_entries", "Leads and accounts this member caches", ["kind"])


class OwnedPartitions(BatchConsumer):
    def __init__(
        self,
        *args: Any,
        qualify: Qualify,
        coalesce_s: float,
        txn_max: int,
        sweep: Sweep | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.qualify, self.coalesce_s, self.txn_max = qualify, coalesce_s, txn_max
        self.sweep = sweep  # the changelog's due views (sweep.py), between two transactions
        self.offsets = StoredOffsets(self.config.group_id)
        self.positions: dict[TopicPartition, int | None] = {}  # stored next offset (None: no row yet)
        self._unseeded: set[TopicPartition] = set()
        self._revoked: set[TopicPartition] = set()
        self._moves: Moves = {}
        self._advised: dict[TopicPartition, int] = {}  # what the last advisory commit said
        self._advised_at = 0.0  # when (monotonic); 0: commit after the next transaction

    def listener(self) -> ConsumerRebalanceListener:
        return _Listener(self)

    # --- rebalances -------------------------------------------------------------------------------

    def revoked(self, partitions: Collection[TopicPartition]) -> None:
        self._revoked |= set(partitions)
        for tp in partitions:
            self.positions.pop(tp, None)
            self._advised.pop(tp, None)
            self._unseeded.discard(tp)

    def assigned(self, partitions: Collection[TopicPartition]) -> None:
        # an eager rebalance revokes everything first: drop only what did not come back
        lost = {
            tp.partition for tp in self._revoked - set(partitions) if tp.topic == self.qualify.topic_events
        }
        self.qualify.cache.drop_partitions(lost)
        self._revoked = set()
        self._unseeded |= set(partitions)
        if partitions:
            self.consumer.pause(*partitions)  # until seeked to the stored offsets

    async def _seed(self) -> bool:
        tps = sorted(self._unseeded)
        try:
            async with self.sessions() as session, session.begin():
                db = await driver_connection(session)
                stored = await self.offsets.load(db, tps)
                events = [tp.partition for tp in tps if tp.topic == self.qualify.topic_events]
                loaded = await load_partitions(db, self.qualify.cache, events)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self.healthy = False
            log.warning("stored offsets unreadable; retrying", extra={"error": str(exc)[:200]})
            return False
        mine = set(self.consumer.assignment())
        seeded = [tp for tp in tps if tp in mine and tp in self._unseeded]
        try:
            trusted = await self._broker_remembers(stored, seeded)
        except (KafkaError, IllegalStateError) as exc:
            log.warning("offsets not comparable with the broker's; retrying", extra={"error": str(exc)[:200]})
            return False
        for tp in seeded:
            if tp in trusted:
                self.consumer.seek(tp, stored[tp])
            elif tp in stored:
                await self.consumer.seek_to_beginning(tp)
            self.positions[tp] = stored.get(tp)
            self._unseeded.discard(tp)
        self._unseeded &= mine
        if seeded:
            self.consumer.resume(*seeded)
            self._advised_at = 0.0  # the broker learns the new owner's offsets after its first transaction
        log.info("partitions seeked to stored offsets", extra={"partitions": len(seeded), "leads": loaded})
        self._cache_metrics()
        return True

    def _cache_metrics(self) -> None:
        cache = self.qualify.cache
        for kind, part in (("leads", cache), ("accounts", cache.accounts)):
            CACHE_BYTES.labels(kind).set(part.bytes)
            CACHE_ENTRIES.labels(kind).set(len(part))

    async def _broker_remembers(
        self, stored: dict[TopicPartition, int], partitions: list[TopicPartition]
    ) -> set[TopicPartition]:
        """The partitions whose stored offset applies to the log the broker has now. A broker that came
        back empty (Tansu keeps topics and group offsets in memory) has re-created topics whose offsets
        start again at 0: seeking to the stored offset would skip the new log's first records. Such a
        partition has no committed group offset (the broker forgot it) or ends before the stored
        offset; it is read from its beginning instead, and the log's ids skip what was applied."""
        known = [tp for tp in partitions if tp in stored]
        if not known:
            return set()
        ends = await self.consumer.end_offsets(known)
        trusted = set()
        for tp in known:
            if stored[tp] <= ends.get(tp, -1) and await self.consumer.committed(tp) is not None:
                trusted.add(tp)
        return trusted

    # --- the loop -----------------------------------------------------------------------------------

    async def run(self) -> None:
        while not self._stopping:
            if self._unseeded and not await self._seed():
                await asyncio.sleep(0.5)
                continue
            if self.sweep is not None and self.sweep.due():
                await self._sweep()
            try:
                records = await self._gather()
            except (KafkaError, IllegalStateError) as exc:
                self.healthy = False
                log.warning("fetch failed; retrying", extra={"error": str(exc)[:200]})
                await asyncio.sleep(0.5)
                continue
            records = [r for r in records if TopicPartition(r.topic, r.partition) in self.positions]
            if not records:
                await self._commit_advisory()  # caught up: no transaction waits behind this commit
                continue
            self._moves = {}
            for r in records:
                tp = TopicPartition(r.topic, r.partition)
                self._moves[tp] = (self.positions[tp], r.offset + 1)
            applied = await self._process_until_done(records)
            if applied and time.monotonic() - self._advised_at >= ADVISORY_EVERY_S:
                await self._commit_advisory()
        await self._commit_advisory()  # stopping: what was applied since the last one

    async def _sweep(self) -> None:
        assert self.sweep is not None
        try:
            with SWEEP_SECONDS.time():
                await self.sweep.run(self.sessions, self.offsets, self.positions)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("changelog sweep failed; next interval", extra={"error": str(exc)[:200]})

    async def _gather(self) -> list[ConsumerRecord]:
        """One transaction's records: what one fetch brings, plus what is already fetched, within
        `coalesce_s` and `txn_max`."""
        first = await self.consumer.getmany(timeout_ms=200, max_records=self.config.max_records)
        records = [r for rs in first.values() for r in rs]
        deadline = time.monotonic() + self.coalesce_s
        while records and len(records) < self.txn_max and time.monotonic() < deadline:
            more = await self.consumer.getmany(timeout_ms=0, max_records=self.config.max_records)
            if not more:
                break
            records.extend(r for rs in more.values() for r in rs)
        return records

    async def _apply(self, delivered: list[Delivered]) -> None:
        attempt = 0
        while True:
            moves = dict(self._moves)
            try:
                async with self.sessions() as session, session.begin():
                    begun = time.perf_counter()
                    await self.offsets.advance(await driver_connection(session), moves)
                    advanced = time.perf_counter()
                    written = await self.qualify.apply(session, delivered)
                    applied = time.perf_counter()
                PHASE_SECONDS.labels("offsets").observe(advanced - begun)
                PHASE_SECONDS.labels("commit").observe(time.perf_counter() - applied)
            except StaleCache as exc:
                RETRIES.labels("stale cache").inc()
                self.qualify.cache.forget(exc.leads)
                self.qualify.cache.forget_identities(exc.identities)
                attempt += 1
                await asyncio.sleep(min(0.005 * attempt, 0.5))  # let the other member's commit land
                continue
            except Fenced as exc:
                RETRIES.labels("fenced").inc()
                delivered = await self._refenced(exc.partitions, delivered)
                continue
            break
        for tp, (_, new) in moves.items():
            if tp in self.positions:
                self.positions[tp] = new
                self._moves[tp] = (new, new)
        absorb(self.qualify.cache, written)
        self._cache_metrics()
        for d in delivered:
            CONSUMED.labels(self.config.name, d.topic).inc()

    async def _refenced(self, partitions: set[TopicPartition], delivered: list[Delivered]) -> list[Delivered]:
        """Another member applied these partitions since this one read their offsets: forget their
        state, seek to where the other left off, and keep only the other partitions' records."""
        log.warning(
            "partitions fenced: another member moved their offsets", extra={"partitions": len(partitions)}
        )
        self.qualify.cache.drop_partitions({tp.partition for tp in partitions})
        for tp in partitions:
            self._moves.pop(tp, None)
            self.positions.pop(tp, None)
            self._unseeded.add(tp)  # re-read and seek before the next fetch
        return [d for d in delivered if TopicPartition(d.topic, d.partition) not in partitions]

    async def _apply_one_by_one(self, delivered: list[Delivered], records: list[ConsumerRecord]) -> None:
        """Isolating a message the handler cannot apply: each transaction advances its partition's
        offset only past its own record, so a crash meanwhile never skips the rest."""
        whole = dict(self._moves)
        for d in delivered:
            tp = TopicPartition(d.topic, d.partition)
            if tp in self.positions:  # else fenced meanwhile
                self._moves = {tp: (self.positions[tp], d.offset + 1)}
                await super()._apply_one_by_one([d], records)
        self._moves = {k: (self.positions[k], v[1]) for k, v in whole.items() if k in self.positions}
        await self._apply([])  # past the records dead-lettered

    async def _commit_advisory(self) -> None:
        """Kafka's commit of the stored offsets that moved since the last one."""
        self._advised_at = time.monotonic()
        offsets = {tp: n for tp, n in self.positions.items() if n is not None and self._advised.get(tp) != n}
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            log.info("advisory offset commit skipped", extra={"error": str(exc)[:200]})
            return
        self._advised.update(offsets)


class _Listener(RebalanceLog):
    def __init__(self, owner: OwnedPartitions) -> None:
        super().__init__(owner.config.name)
        self.owner = owner

    def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        self.owner.revoked(revoked)

    def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        super().on_partitions_assigned(assigned)
        self.owner.assigned(assigned)

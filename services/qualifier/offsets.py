"""Consumed offsets kept in PostgreSQL (qualifier.offsets), written in the transaction that applied the
records before them. A write names the offset its member started from; a row that moved meanwhile
(another member applied the partition: this one is a zombie, or lost the partition and got it back)
refuses it, and the transaction rolls back. That is the fence: one range of a partition is applied by
one transaction only, whatever the members believe about their assignment."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
from aiokafka import TopicPartition

SELECT = (
    "SELECT topic, partition, next_offset FROM qualifier.offsets "
    "WHERE group_id = $1 AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))"
)
ADVANCE = """
UPDATE qualifier.offsets AS o SET next_offset = m.n, updated_at = now()
FROM unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[]) AS m(t, p, e, n)
WHERE o.group_id = $1 AND o.topic = m.t AND o.partition = m.p AND o.next_offset = m.e
RETURNING o.topic, o.partition
"""
CREATE = """
INSERT INTO qualifier.offsets (group_id, topic, partition, next_offset)
SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[])
ON CONFLICT DO NOTHING
RETURNING topic, partition
"""

Moves = dict[TopicPartition, tuple[int | None, int]]  # partition -> (stored next offset or None, new)


class Fenced(Exception):
    def __init__(self, partitions: set[TopicPartition]) -> None:
        super().__init__(f"offsets of {sorted(partitions)} moved meanwhile")
        self.partitions = partitions


class StoredOffsets:
    def __init__(self, group_id: str) -> None:
        self.group_id = group_id

    async def load(
        self, db: asyncpg.Connection, partitions: Iterable[TopicPartition]
    ) -> dict[TopicPartition, int]:
        tps = list(partitions)
        rows = await db.fetch(SELECT, self.group_id, [tp.topic for tp in tps], [tp.partition for tp in tps])
        return {TopicPartition(t, p): n for t, p, n in rows}

    async def advance(self, db: asyncpg.Connection, moves: Moves) -> None:
        """Raises Fenced naming the partitions whose stored offset is not the one expected."""
        if not moves:
            return
        done: set[TopicPartition] = set()
        update = sorted((tp, e, n) for tp, (e, n) in moves.items() if e is not None)
        create = sorted((tp, n) for tp, (e, n) in moves.items() if e is None)
        if update:
            rows = await db.fetch(
                ADVANCE,
                self.group_id,
                [tp.topic for tp, _, _ in update],
                [tp.partition for tp, _, _ in update],
                [e for _, e, _ in update],
                [n for _, _, n in update],
            )
            done |= {TopicPartition(t, p) for t, p in rows}
        if create:
            rows = await db.fetch(
                CREATE,
                self.group_id,
                [tp.topic for tp, _ in create],
                [tp.partition for tp, _ in create],
                [n for _, n in create],
            )
            done |= {TopicPartition(t, p) for t, p in rows}
        if len(done) < len(moves):
            raise Fenced(set(moves) - done)

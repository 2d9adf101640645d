"""Pruning the rows kept only to make a retry harmless: processed envelope ids and idempotency answers.

A consumer records every envelope id it applied, so a redelivered message changes nothing; an API records
the answer to every Idempotency-Key, so a retried request gets the same answer. Both are only needed for
as long as a retry can come, so each owning service deletes its rows older than a retention (README,
settings table), once at start-up and then every LEADSTATE_PRUNE_EVERY_S, in its worker's loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, Table, delete, func
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retention:
    """Rows of `table` whose `column` (a timestamp) is older than `keep`; only those matching `where`."""

    table: Table
    column: str
    keep: timedelta
    where: ColumnElement[bool] | None = None

    @property
    def name(self) -> str:
        return f"{self.table.fullname}.{self.column}"


async def prune(engine: AsyncEngine, retentions: Sequence[Retention]) -> dict[str, int]:
    """Delete the expired rows (the database's clock decides, as it stamped them); rows deleted by name."""
    deleted: dict[str, int] = {}
    for retention in retentions:
        column = retention.table.c[retention.column]
        statement = delete(retention.table).where(column < func.now() - retention.keep)
        if retention.where is not None:
            statement = statement.where(retention.where)
        async with engine.begin() as connection:
            result = await connection.execute(statement)
        deleted[retention.name] = deleted.get(retention.name, 0) + result.rowcount
    return deleted


async def prune_periodically(engine: AsyncEngine, retentions: Sequence[Retention], every_s: float) -> None:
    """Runs until cancelled; a failed pass (the database away) is logged and tried again next time."""
    while True:
        try:
            deleted = await prune(engine, retentions)
        except Exception as exc:
            log.warning("pruning expired rows failed; next try in %gs: %s", every_s, str(exc)[:200])
        else:
            for name, count in deleted.items():
                if count:
                    log.info("pruned %d expired rows of %s", count, name)
        await asyncio.sleep(every_s)

"""When each API key was last used, and from where (handoff.key_usage), for admins: a key nobody uses
any more is one to remove. Written at most once a minute per key and instance, so the hot path stays
a dictionary lookup."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .tables import key_usage

log = logging.getLogger(__name__)
EVERY_S = 60.0


class KeyUsage:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._written: dict[str, float] = {}

    async def touch(self, key_id: str, address: str | None) -> None:
        now = time.monotonic()
        if now - self._written.get(key_id, -EVERY_S) < EVERY_S:
            return
        self._written[key_id] = now
        at = datetime.now(UTC)
        statement = insert(key_usage).values(key_id=key_id, last_used_at=at, last_address=address)
        statement = statement.on_conflict_do_update(
            index_elements=[key_usage.c.key_id], set_={"last_used_at": at, "last_address": address}
        )
        try:
            async with self._sessions() as session, session.begin():
                await session.execute(statement)
        except Exception as exc:  # never fail a request for its bookkeeping; the route reports the outage
            log.warning("could not record the use of key %s…: %s", key_id[:12], str(exc)[:200])


async def last_uses(session: AsyncSession) -> dict[str, Any]:
    rows = await session.execute(select(key_usage))
    return {r.key_id: r for r in rows}

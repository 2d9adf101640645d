"""The qualifier deletes its processed envelope ids once older than LEADSTATE_PROCESSED_RETENTION_DAYS,
on its own, while it runs; recent ones (still within any redelivery) stay."""

from __future__ import annotations

from sqlalchemy import text

from services.common.settings import Settings
from services.qualifier.worker import create_app
from tests.support import serve_app, wait_until

PROCESSED = (
    "INSERT INTO qualifier.processed_events (consumer, event_id, processed_at)"
    " VALUES ('qualifier', :event_id, now() - make_interval(days => :days))"
)


async def test_expired_processed_ids_are_pruned_recent_ones_kept(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"processed_retention_days": 14.0, "prune_every_s": 0.2}))
    async with serve_app(app):
        engine = app.state.worker.database.engine
        async with engine.begin() as conn:  # planted after start-up: pruning runs periodically
            for event_id, days in (("old", 15), ("recent", 13)):
                await conn.execute(text(PROCESSED), {"event_id": event_id, "days": days})

        async def remaining() -> set[str]:
            async with engine.connect() as conn:
                query = text("SELECT event_id FROM qualifier.processed_events")
                return set((await conn.scalars(query)).all())

        await wait_until(
            lambda: _without(remaining, "old"), timeout_s=30, what="the expired processed id pruned"
        )
        ids = await remaining()

    assert "recent" in ids


async def _without(remaining, event_id: str) -> bool:  # type: ignore[no-untyped-def]
    return event_id not in await remaining()

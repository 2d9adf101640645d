"""The handoff deletes the rows kept only to make retries harmless once their retention is over: its
consumers' processed envelope ids (LEADSTATE_PROCESSED_RETENTION_DAYS) and the Idempotency-Key answers
(LEADSTATE_IDEMPOTENCY_RETENTION_DAYS), on its own, while it runs; recent ones stay."""

from __future__ import annotations

from sqlalchemy import text

from services.common.settings import Settings
from services.handoff.app import create_app
from tests.integration.handoff.data import POLICY
from tests.support import serve_app, wait_until

PROCESSED = (
    "INSERT INTO handoff.processed_events (consumer, event_id, processed_at)"
    " VALUES (:consumer, :event_id, now() - make_interval(days => :days))"
)
IDEMPOTENCY = (
    "INSERT INTO handoff.idempotency_keys (key_hash, request_hash, status, response, created_at)"
    " VALUES (:key, 'r', 201, '{}'::jsonb, now() - make_interval(days => :days))"
)


async def test_expired_ids_and_idempotency_answers_are_pruned_recent_ones_kept(settings: Settings) -> None:
    app = create_app(
        settings.model_copy(
            update={
                "policy_path": POLICY,
                "processed_retention_days": 14.0,
                "idempotency_retention_days": 30.0,
                "prune_every_s": 0.2,
            }
        )
    )
    async with serve_app(app):
        engine = app.state.handoff.database.engine
        async with engine.begin() as conn:  # planted after start-up: pruning runs periodically
            for consumer in ("handoff", "webhooks"):
                for event_id, days in ((f"old-{consumer}", 15), (f"recent-{consumer}", 13)):
                    await conn.execute(
                        text(PROCESSED), {"consumer": consumer, "event_id": event_id, "days": days}
                    )
            for key, days in (("old-key", 31), ("recent-key", 29)):
                await conn.execute(text(IDEMPOTENCY), {"key": key, "days": days})

        async def remaining() -> tuple[set[str], set[str]]:
            async with engine.connect() as conn:
                ids = set((await conn.scalars(text("SELECT event_id FROM handoff.processed_events"))).all())
                keys = set((await conn.scalars(text("SELECT key_hash FROM handoff.idempotency_keys"))).all())
            return ids, keys

        async def old_rows_gone() -> bool:
            ids, keys = await remaining()
            return not {"old-handoff", "old-webhooks"} & ids and "old-key" not in keys

        await wait_until(old_rows_gone, timeout_s=30, what="the expired rows pruned")
        ids, keys = await remaining()

    assert {"recent-handoff", "recent-webhooks"} <= ids
    assert "recent-key" in keys

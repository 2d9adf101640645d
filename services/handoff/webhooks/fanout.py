"""The dispatcher's consumer side: each lead.mql, lead.decision and lead.updated event (and, for
accounts, each account.mqa and account.decision) becomes one delivery row per subscribed endpoint, in
the batch's transaction (the batch consumer commits the offsets after it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.consumer import BatchHandler, Delivered
from services.common.envelope import Envelope

from . import deliveries, endpoints
from .slack import SlackCard, render_mql

EVENT_NAMES = {full: short for short, full in endpoints.EVENT_TYPES.items()}


def body_for(endpoint: Any, event_name: str, envelope: Envelope, card: SlackCard) -> bytes | None:
    """The body an endpoint gets for an event; None when its format has nothing to say about it."""
    if endpoint.format == "slack":
        return render_mql(envelope.data, card) if event_name == "lead.mql" else None
    return envelope.to_bytes()


def fan_out_handler(
    *, window: timedelta, card: SlackCard, on_added: Callable[[], None] = lambda: None
) -> BatchHandler:
    async def fan_out(session: AsyncSession, batch: list[Delivered]) -> None:
        now = datetime.now(UTC)
        subscribers: dict[str, list[Any]] = {}
        rows: list[dict[str, Any]] = []
        for delivered in batch:
            envelope = delivered.envelope
            name = EVENT_NAMES.get(envelope.type)
            if name is None:
                continue  # another event type on these topics: no webhook carries it
            if name not in subscribers:
                subscribers[name] = await endpoints.subscribed(session, name)
            for endpoint in subscribers[name]:
                body = body_for(endpoint, name, envelope, card)
                if body is not None:
                    rows.append(
                        {
                            "endpoint_id": endpoint.endpoint_id,
                            "event_id": envelope.id,
                            "event_type": name,
                            "lead_id": envelope.subject or str(envelope.data.get("lead_id") or envelope.id),
                            "payload": body,
                        }
                    )
        if await deliveries.enqueue(session, rows, now=now, window=window):
            on_added()

    return fan_out

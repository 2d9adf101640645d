"""Webhook endpoints: registered, changed, rotated and removed through the API; the secret leaves
only in the answer that created it (creation or rotation)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import any_, delete, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .signing import new_secret
from .tables import webhook_endpoints as t

EVENT_TYPES = {
    "lead.mql": "leadstate.lead.mql.v1",
    "lead.decision": "leadstate.lead.decision.v1",
    "lead.updated": "leadstate.lead.updated.v1",  # lead.state: services/qualifier/changelog.py
    "account.mqa": "leadstate.account.mqa.v1",  # on lead.mql beside the MQLs (issue 18)
    "account.decision": "leadstate.account.decision.v1",  # on lead.decisions beside the lead decisions
}
FORMATS = ("standard", "slack")


def slack_events_fit(format_: str, events: list[str]) -> bool:
    """A slack endpoint takes lead.mql only: its cards are MQL alerts for a channel."""
    return format_ != "slack" or set(events) == {"lead.mql"}


class UnknownEndpoint(LookupError):
    pass


@dataclass(frozen=True)
class NewEndpoint:
    url: str
    events: list[str]
    format: str
    description: str | None
    enabled: bool


def state(row: Any) -> str:
    if row.disabled_reason:
        return "disabled"  # by the dispatcher, after failing continuously
    return "enabled" if row.enabled else "paused"


def signing_secrets(row: Any, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one in its grace period."""
    out = [row.secret]
    if row.previous_secret and row.previous_until and row.previous_until > now:
        out.append(row.previous_secret)
    return out


async def create(session: AsyncSession, new: NewEndpoint, *, created_by: str, now: datetime) -> Any:
    row = {
        "endpoint_id": "wh_" + uuid.uuid4().hex,
        "url": new.url,
        "format": new.format,
        "events": sorted(set(new.events)),
        "description": new.description,
        "enabled": new.enabled,
        "secret": new_secret(),
        "created_by": created_by,
        "created_at": now,
        "updated_at": now,
    }
    return (await session.execute(insert(t).values(row).returning(t))).one()


async def get(session: AsyncSession, endpoint_id: str) -> Any:
    row = (await session.execute(select(t).where(t.c.endpoint_id == endpoint_id))).first()
    if row is None:
        raise UnknownEndpoint(endpoint_id)
    return row


async def list_all(session: AsyncSession) -> list[Any]:
    return list((await session.execute(select(t).order_by(t.c.created_at, t.c.endpoint_id))).all())


async def change(session: AsyncSession, endpoint_id: str, changes: dict[str, Any], *, now: datetime) -> Any:
    values = dict(changes)
    if "events" in values:
        values["events"] = sorted(set(values["events"]))
    if values.get("enabled") is True:
        # enabling again is how a person says "the receiver is fixed": start counting failures anew
        values.update(disabled_reason=None, failing_since=None)
    values["updated_at"] = now
    row = (
        await session.execute(update(t).where(t.c.endpoint_id == endpoint_id).values(values).returning(t))
    ).first()
    if row is None:
        raise UnknownEndpoint(endpoint_id)
    return row


async def rotate_secret(session: AsyncSession, endpoint_id: str, *, now: datetime, grace: timedelta) -> Any:
    row = await get(session, endpoint_id)
    return (
        await session.execute(
            update(t)
            .where(t.c.endpoint_id == endpoint_id)
            .values(
                secret=new_secret(),
                previous_secret=row.secret if grace.total_seconds() > 0 else None,
                previous_until=now + grace if grace.total_seconds() > 0 else None,
                updated_at=now,
            )
            .returning(t)
        )
    ).one()


async def remove(session: AsyncSession, endpoint_id: str) -> None:
    done = await session.execute(delete(t).where(t.c.endpoint_id == endpoint_id).returning(t.c.endpoint_id))
    if done.first() is None:
        raise UnknownEndpoint(endpoint_id)


async def subscribed(session: AsyncSession, event_type: str) -> list[Any]:
    """Endpoints that take `event_type` now: enabled and not disabled by the dispatcher."""
    return list(
        (
            await session.execute(
                select(t).where(
                    t.c.enabled.is_(True),
                    t.c.disabled_reason.is_(None),
                    literal(event_type) == any_(t.c.events),
                )
            )
        ).all()
    )

"""The audit trail (handoff.audit, append-only: a trigger refuses changes; only the retention deletes old
rows): who did what, when, from where. Written in the same transaction as the change it records."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.callers import Actor

from .tables import audit

__all__ = ["Actor", "recent", "record"]

ACTIONS = (
    "decision.recorded",
    "simulation.started",
    "suggestions.started",
    "webhook.created",
    "webhook.changed",
    "webhook.deleted",
    "user.added",
    "user.disabled",
    "user.enabled",
    "user.role_changed",
    "user.login_refused",
    "user.password_set",
    "user.link_sent",
    "user.login",
    "user.logout_everywhere",
)


async def record(
    session: AsyncSession, actor: Actor, action: str, subject: str | None, detail: Mapping[str, Any]
) -> None:
    assert action in ACTIONS, action
    await session.execute(
        audit.insert().values(
            actor=actor.name, action=action, subject=subject, address=actor.address, detail=dict(detail)
        )
    )


async def recent(
    session: AsyncSession, *, limit: int, before: int | None = None, action: str | None = None
) -> list[dict[str, Any]]:
    """Newest first; `before` an audit id, for the next page."""
    query = select(audit).order_by(audit.c.audit_id.desc()).limit(limit)
    if before is not None:
        query = query.where(audit.c.audit_id < before)
    if action is not None:
        query = query.where(audit.c.action == action)
    return [_entry(r) for r in await session.execute(query)]


def _entry(row: Any) -> dict[str, Any]:
    at: datetime = row.at
    return {
        "id": row.audit_id,
        "at": at.isoformat(),
        "actor": row.actor,
        "action": row.action,
        "subject": row.subject,
        "address": row.address,
        "detail": row.detail,
    }

"""The decision SLA: how long sales has to decide on an MQL, and where each MQL stands."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from services.common.policy.timemath import aware, shifted

SlaState = Literal["ok", "due_soon", "breached"]
SLA_STATES: tuple[SlaState, ...] = ("ok", "due_soon", "breached")


def due_at(qualified_at: datetime, decision_hours: float) -> datetime:
    """Total: an MQL stored at the last instant (or +infinity) is due then, never an OverflowError."""
    return shifted(aware(qualified_at), timedelta(hours=decision_hours))


def sla_state(due: datetime, *, at: datetime, due_soon_hours: float) -> SlaState:
    """At `at` (now for an open MQL, the decision time for a decided one)."""
    if at >= due:
        return "breached"
    if at >= shifted(due, -timedelta(hours=due_soon_hours)):
        return "due_soon"
    return "ok"


def qualified_window(
    state: SlaState, *, now: datetime, decision_hours: float, due_soon_hours: float
) -> tuple[datetime | None, datetime | None]:
    """The (after, at_or_before) bounds on `qualified_at` of open MQLs in `state` at `now`.

    breached: qualified at or before now - decision_hours; due_soon: after that and at or before
    now - (decision_hours - due_soon_hours); ok: after that. `after` is exclusive, the other inclusive.
    """
    breached_until = now - timedelta(hours=decision_hours)
    soon_until = now - timedelta(hours=decision_hours - due_soon_hours)
    if state == "breached":
        return None, breached_until
    if state == "due_soon":
        return breached_until, soon_until
    return soon_until, None

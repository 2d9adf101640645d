"""The decision SLA: how long sales has to decide on an MQL, and where each MQL stands."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

from services.common.calendar import Holidays
from services.common.policy.business_hours import BusinessHours, add_working_hours, qualified_by
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


@dataclass(frozen=True)
class SlaClock:
    """The decision SLA on the policy's clock: wall-clock hours, or working hours (`sla.business_hours`)
    in `zone` (LEADSTATE_TIMEZONE), skipping weekends and public holidays. "Due soon" is the last
    `due_soon_hours` of real time before the due time either way."""

    decision_hours: float
    due_soon_hours: float
    business_hours: BusinessHours | None = None
    zone: tzinfo = UTC
    holidays: Holidays = field(init=False)

    def __post_init__(self) -> None:
        code = self.business_hours.holidays if self.business_hours else None
        object.__setattr__(self, "holidays", Holidays(code))

    def due(self, qualified_at: datetime) -> datetime:
        if self.business_hours is None:
            return due_at(qualified_at, self.decision_hours)
        try:
            return add_working_hours(
                aware(qualified_at), self.decision_hours, self.business_hours, self.zone, self.holidays
            )
        except (OverflowError, ValueError):  # the last instants of the calendar: due then, as due_at
            return due_at(qualified_at, self.decision_hours)

    def state(self, due: datetime, *, at: datetime) -> SlaState:
        return sla_state(due, at=at, due_soon_hours=self.due_soon_hours)

    def window(self, state: SlaState, *, now: datetime) -> tuple[datetime | None, datetime | None]:
        """As `qualified_window`, on this clock: the bounds on `qualified_at` of open MQLs in `state`."""
        if self.business_hours is None:
            return qualified_window(
                state, now=now, decision_hours=self.decision_hours, due_soon_hours=self.due_soon_hours
            )
        bh, hours = self.business_hours, self.decision_hours
        breached_until = qualified_by(now, hours, bh, self.zone, self.holidays)
        soon_until = qualified_by(
            now + timedelta(hours=self.due_soon_hours), hours, bh, self.zone, self.holidays
        )
        if state == "breached":
            return None, breached_until
        if state == "due_soon":
            return breached_until, soon_until
        return soon_until, None

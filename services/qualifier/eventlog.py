"""The qualifier's event log (qualifier.events): what one entry holds, built from an envelope (live) or
from a stored row (replay), so that both fold exactly the same entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.common.envelope import Envelope

from .decisions import DECISION_TYPE, parse_decision
from .stitching import DecisionRecord, Entry, activity_from_message

DECISION_KIND = "decision"  # events.type of a sales decision; the others are Segment message types


@dataclass(frozen=True)
class LogEntry:
    entry: Entry
    type: str
    name: str | None
    data: dict[str, Any]

    @property
    def event_id(self) -> str:
        return self.entry.event_id

    @property
    def time(self) -> datetime:
        return self.entry.time

    def row(self, lead_id: str) -> dict[str, Any]:
        entry = self.entry
        return {
            "event_id": entry.event_id,
            "lead_id": lead_id,
            "type": self.type,
            "name": self.name,
            "occurred_at": entry.time,
            "user_id": None if isinstance(entry, DecisionRecord) else entry.user_id,
            "anonymous_id": None if isinstance(entry, DecisionRecord) else entry.anonymous_id,
            "data": self.data,
        }


def from_envelope(envelope: Envelope) -> LogEntry:
    if envelope.type == DECISION_TYPE:
        decision = parse_decision(envelope)
        return LogEntry(decision, DECISION_KIND, decision.outcome, envelope.data)
    # time in UTC, as PostgreSQL gives it back: the stored state must not depend on the sender's offset
    return _activity(envelope.id, envelope.data, envelope.time.astimezone(UTC))


def from_row(event_id: str, type_: str, data: dict[str, Any], occurred_at: datetime) -> LogEntry:
    if type_ == DECISION_KIND:
        decision = DecisionRecord(
            event_id=event_id,
            lead_id=str(data["lead_id"]),
            outcome=str(data["outcome"]),
            episode=int(data["episode"]),
            time=occurred_at,
        )
        return LogEntry(decision, DECISION_KIND, decision.outcome, data)
    return _activity(event_id, data, occurred_at)


def _activity(event_id: str, data: dict[str, Any], time: datetime) -> LogEntry:
    activity = activity_from_message(event_id, data, time)
    return LogEntry(activity, activity.kind, activity.name, data)


def applied_order(entries: list[LogEntry]) -> list[LogEntry]:
    """A batch is folded in event-time order (ties by id); rows are stored in that order."""
    return sorted(entries, key=lambda e: (e.time, e.event_id))

"""The qualifier's event log (qualifier.events): what one entry holds, built from an envelope (live) or
from a stored row (replay), so that both fold exactly the same entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.common.envelope import Envelope

from .decisions import ACCOUNT_DECISION_TYPE, DECISION_TYPE, parse_account_decision, parse_decision
from .stitching import AccountDecided, Activity, DecisionRecord, Entry, activity_from_message

DECISION_KIND = "decision"  # events.type of a sales decision; the others are Segment message types
ACCOUNT_DECISION_KIND = "account_decision"  # a decision on an MQA (its lead_id is store.NO_LEAD)


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
            "user_id": entry.user_id if isinstance(entry, Activity) else None,
            "anonymous_id": entry.anonymous_id if isinstance(entry, Activity) else None,
            "data": self.data,
        }


def from_envelope(envelope: Envelope) -> LogEntry:
    if envelope.type == DECISION_TYPE:
        decision = parse_decision(envelope)
        return LogEntry(decision, DECISION_KIND, decision.outcome, envelope.data)
    if envelope.type == ACCOUNT_DECISION_TYPE:
        decided = parse_account_decision(envelope)
        return LogEntry(decided, ACCOUNT_DECISION_KIND, decided.outcome, envelope.data)
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
    if type_ == ACCOUNT_DECISION_KIND:
        decided = AccountDecided(
            event_id=event_id,
            account_id=str(data["account_id"]),
            outcome=str(data["outcome"]),
            episode=int(data["episode"]),
            time=occurred_at,
        )
        return LogEntry(decided, ACCOUNT_DECISION_KIND, decided.outcome, data)
    return _activity(event_id, data, occurred_at)


def _activity(event_id: str, data: dict[str, Any], time: datetime) -> LogEntry:
    activity = activity_from_message(event_id, data, time)
    return LogEntry(activity, activity.kind, activity.name, data)


def applied_order(entries: list[LogEntry]) -> list[LogEntry]:
    """A batch is folded in event-time order (ties by id); rows are stored in that order."""
    return sorted(entries, key=lambda e: (e.time, e.event_id))

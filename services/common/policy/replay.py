"""An in-memory reference run of the core over Segment messages: stitching, state, MQLs.

The worker does the same against PostgreSQL; this is the offline replay tests and benches compare it to.
Lead ids: the userId once known, else "anon:<anonymousId>".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .activity import Activity
from .lead import LeadState
from .model import Policy
from .rules import MqlDecision, qualify
from .state import apply_activity, merge_states


@dataclass
class Replay:
    policy: Policy
    states: dict[str, LeadState] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # anonymous id -> known lead id
    mqls: list[tuple[str, MqlDecision]] = field(default_factory=list)

    def lead_for(self, user_id: str | None, anonymous_id: str | None) -> str:
        anon_lead = self.aliases.get(anonymous_id or "", f"anon:{anonymous_id}")
        if not user_id:
            return anon_lead
        if anonymous_id and anon_lead.startswith("anon:"):
            self.aliases[anonymous_id] = user_id
            if anon_lead in self.states:  # stitch: the anonymous history becomes the known lead's
                anon = self.states.pop(anon_lead)
                known = self.states.get(user_id, LeadState.new(user_id))
                self.states[user_id] = merge_states(known, anon, self.policy)
        return user_id

    def apply(self, event_id: str, message: dict[str, Any], time: datetime) -> MqlDecision | None:
        activity = Activity.from_segment(event_id, message, time)
        lead_id = self.lead_for(activity.user_id, activity.anonymous_id)
        state = apply_activity(self.states.get(lead_id, LeadState.new(lead_id)), activity, self.policy)
        state, decision = qualify(state, self.policy, time)
        self.states[lead_id] = state
        if decision is not None:
            self.mqls.append((lead_id, decision))
        return decision


def replay(messages: Iterable[dict[str, Any]], policy: Policy) -> Replay:
    """Fold messages (with `messageId` and ISO `timestamp`) in the order given."""
    run = Replay(policy)
    for message in messages:
        run.apply(str(message.get("messageId")), message, parse_time(message.get("timestamp")))
    return run


def parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        time = value
    else:
        time = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return time if time.tzinfo else time.replace(tzinfo=UTC)

"""Episode semantics: when an MQL is possible at all, and which behaviour counts for the next one."""

from __future__ import annotations

from datetime import datetime, timedelta

from .conditions import Check, check_attributes, check_behaviour, check_score
from .lead import LeadState
from .model import MqlRule, Policy
from .timemath import shifted


def behaviour_window(state: LeadState, policy: Policy) -> datetime | None:
    """After a recycled/rejected decision only later behaviour counts: new activity, new episode.

    Attributes and the decayed score still use the whole history: who the lead is does not reset.
    """
    if state.stage in ("recycled", "rejected") and state.decided_at is not None:
        return shifted(state.decided_at, timedelta(days=policy.recycle.min_days_after_decision))
    return None


def blocked_reason(state: LeadState, policy: Policy) -> str | None:
    if not state.known:
        return "the lead is anonymous (no user id or email yet)"
    if state.stage in ("mql", "sql"):
        return f"episode {state.episode} is open (stage {state.stage}): one MQL per episode"
    if state.stage == "rejected" and not policy.recycle.allow_after_rejected:
        return "rejected leads do not become MQLs again under this policy"
    return None


def recent_since(within_days: float, at: datetime) -> datetime:
    """A rule's recency window: behaviour after this moment counts."""
    return shifted(at, -timedelta(days=within_days))


def rule_checks(rule: MqlRule, state: LeadState, policy: Policy, at: datetime) -> list[Check]:
    since = behaviour_window(state, policy)
    words = f" since the last decision on {since.date().isoformat()}" if since else ""
    if rule.within_days is not None:
        recent = recent_since(rule.within_days, at)
        if since is None or recent > since:
            since, words = recent, f" in the last {rule.within_days:g} days"
    checks = check_behaviour(rule.behaviour, state, since, words) + check_attributes(
        rule.attributes, state, policy
    )
    if rule.score_min is not None:
        checks.append(check_score(rule.score_min, state, policy, at))
    return checks

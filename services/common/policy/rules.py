"""`evaluate`: which named rules a lead meets now, and whether that opens a new MQL episode."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .episode import blocked_reason, rule_checks
from .explain import explain
from .lead import LeadState
from .matching import RuleView, any_rule_matches
from .model import Policy
from .state import mark_mql


@dataclass(frozen=True)
class RuleResult:
    rule_name: str
    matched: bool
    satisfied: list[str]
    missing: list[str]  # e.g. "needs title level manager or above, has staff ('Engineer')"


@dataclass(frozen=True)
class MqlDecision:
    rule_name: str
    episode: int  # the episode this MQL opens
    at: datetime
    policy_version: str
    explanation: dict[str, Any] = field(default_factory=dict)  # see `explain`


@dataclass(frozen=True)
class Evaluation:
    results: list[RuleResult]
    mql: MqlDecision | None
    blocked: str | None = None  # why no MQL is possible now, whatever the rules say


def evaluate(state: LeadState, policy: Policy, at: datetime) -> Evaluation:
    results = []
    for rule in policy.rules:
        checks = rule_checks(rule, state, policy, at)
        results.append(
            RuleResult(
                rule.name,
                all(c.ok for c in checks),
                [c.text for c in checks if c.ok],
                [c.text for c in checks if not c.ok],
            )
        )
    blocked = blocked_reason(state, policy)
    first = next((r for r in results if r.matched), None)
    if blocked or first is None:
        return Evaluation(results, None, blocked)
    episode = state.episode + 1
    explanation = explain(state, first.rule_name, policy, at, episode=episode)
    return Evaluation(results, MqlDecision(first.rule_name, episode, at, policy.version, explanation))


def qualify(state: LeadState, policy: Policy, at: datetime) -> tuple[LeadState, MqlDecision | None]:
    """Evaluate and, on a match, open the episode: the one call a consumer needs per activity."""
    if blocked_reason(state, policy) is not None:  # the hot path: most events change nothing
        return state, None
    if not any_rule_matches(state, policy, at):  # the same answer as `evaluate`, without the words
        return state, None
    decision = evaluate(state, policy, at).mql
    return (mark_mql(state, at), decision) if decision else (state, None)


def qualify_quietly(state: LeadState, policy: Policy, at: datetime) -> tuple[LeadState, MqlDecision | None]:
    """`qualify` without the words: the same MQLs (rule, episode, time) with no explanation, for
    backtests that count MQLs and never show why (the policy advisor folds dozens of policies)."""
    if blocked_reason(state, policy) is not None:
        return state, None
    view = RuleView(state, policy, at)
    rule = next((r for r in policy.rules if view.holds(r)), None)
    if rule is None:
        return state, None
    return mark_mql(state, at), MqlDecision(rule.name, state.episode + 1, at, policy.version)

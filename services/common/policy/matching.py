"""Does any rule match, as a yes or no: the hot path of `qualify`, with no sentences and no evidence.

Each function here answers exactly what `all(c.ok for c in rule_checks(...))` answers (conditions.py
and episode.py), only without building the text: most evaluations match nothing, and the full
`evaluate` (which words the MQL) runs only once this says a rule does. Change both together.
"""

from __future__ import annotations

from datetime import datetime

from .episode import behaviour_window, recent_since
from .lead import Evidence, LeadState
from .model import (
    AllOf,
    AnyOf,
    Attributes,
    Behaviour,
    ContentDownloaded,
    DownloadsOnOneTopic,
    FormSubmitted,
    MqlRule,
    NamedEvent,
    PageVisited,
    Policy,
    SeminarCondition,
)
from .scoring import score_at


def any_rule_matches(state: LeadState, policy: Policy, at: datetime) -> bool:
    view = RuleView(state, policy, at)
    return any(view.holds(rule) for rule in policy.rules)


def rule_matches(rule: MqlRule, state: LeadState, policy: Policy, at: datetime) -> bool:
    return RuleView(state, policy, at).holds(rule)


class RuleView:
    """One lead at one moment, asked about any number of rules: the episode's evidence and the score are
    worked out once, when a rule first needs them (the policy advisor asks dozens of edited rules)."""

    __slots__ = ("_score", "_signals", "at", "policy", "state")

    def __init__(self, state: LeadState, policy: Policy, at: datetime) -> None:
        self.state, self.policy, self.at = state, policy, at
        self._signals: list[Evidence] | None = None
        self._score: float | None = None

    def holds(self, rule: MqlRule) -> bool:
        if not attributes_hold(rule.attributes, self.state, self.policy):
            return False
        if rule.score_min is not None:
            if self._score is None:
                self._score = score_at(self.state.scores, self.policy, self.at)
            if self._score < rule.score_min:
                return False
        if self._signals is None:
            since = behaviour_window(self.state, self.policy)
            self._signals = [s for s in self.state.signals if since is None or s.time > since]
        signals = self._signals
        if rule.within_days is not None:
            cutoff = recent_since(rule.within_days, self.at)
            signals = [s for s in signals if s.time > cutoff]
        return behaviour_holds(rule.behaviour, signals)


def attributes_hold(a: Attributes, state: LeadState, policy: Policy) -> bool:
    attrs, fit = state.attributes, policy.fit
    if a.industry_is_target or a.industry_in is not None:
        allowed = fit.target_industries if a.industry_is_target else a.industry_in or ()
        if attrs.get("industry") not in allowed:
            return False
    if a.title_level_at_least is not None:
        if fit.level_rank(attrs.get("title_level")) < fit.level_rank(a.title_level_at_least):
            return False
    return a.company_size_in is None or attrs.get("company_size_band") in a.company_size_in


def behaviour_holds(b: Behaviour, signals: list[Evidence]) -> bool:
    """`signals`: the lead's evidence inside the behaviour window."""
    if isinstance(b, AnyOf):
        return any(behaviour_holds(c, signals) for c in b.conditions)
    if isinstance(b, AllOf):
        return all(behaviour_holds(c, signals) for c in b.conditions)
    if isinstance(b, SeminarCondition):
        hits = [s for s in signals if s.kind == b.kind and (b.topics is None or s.topic in b.topics)]
        return _distinct(hits, "seminar_id") >= b.min
    if isinstance(b, DownloadsOnOneTopic):
        by_topic: dict[str, list[Evidence]] = {}
        for s in signals:
            if s.kind == "content_download" and s.topic and (b.topics is None or s.topic in b.topics):
                by_topic.setdefault(s.topic, []).append(s)
        return any(_distinct(hits, "asset_id") >= b.min for hits in by_topic.values()) or b.min <= 0
    if isinstance(b, ContentDownloaded):
        hits = [
            s
            for s in signals
            if s.kind == "content_download"
            and (b.topics is None or s.topic in b.topics)
            and (b.assets is None or s.asset_id in b.assets)
        ]
        return _distinct(hits, "asset_id") >= b.min
    if isinstance(b, PageVisited):
        n = 0
        for s in signals:
            if s.kind == "page_view" and s.path and b.matches(s.path):
                n += 1
                if n >= b.min:
                    return True
        return n >= b.min
    if isinstance(b, FormSubmitted):
        n = sum(
            1 for s in signals if s.kind == "form_submitted" and (b.forms is None or s.form_id in b.forms)
        )
        return n >= b.min
    if isinstance(b, NamedEvent):
        return sum(1 for s in signals if s.kind == b.name) >= b.min
    raise TypeError(f"unknown behaviour condition {b!r}")


def _distinct(items: list[Evidence], key: str) -> int:
    """How many `conditions._distinct` keeps: one per asset/seminar (else per title, else per event)."""
    return len({getattr(s, key) or s.title or s.event_id for s in items})

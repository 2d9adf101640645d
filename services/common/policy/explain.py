"""Why a lead is an MQL, in words sales can act on (the policy itself as sentences: describe.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .buying_group import membership
from .conditions import check_score
from .describe import describe_behaviour, describe_policy
from .episode import rule_checks
from .lead import LeadState
from .model import Label, Policy
from .scoring import score_at, score_components, value_at

TOP_INTERESTS = 3
__all__ = ["describe_behaviour", "describe_policy", "explain", "missing_languages"]


def explain(
    state: LeadState, rule_name: str, policy: Policy, at: datetime, episode: int | None = None
) -> dict[str, Any]:
    """The MQL payload parts for `rule_name` at `at` (JSON types only)."""
    rule = policy.rule(rule_name)
    checks = rule_checks(rule, state, policy, at)
    if rule.score_min is None:
        checks.append(check_score(None, state, policy, at))
    reasons = [
        {"code": c.code, "params": c.params, "text": c.text, "evidence": [e.to_dict() for e in c.evidence]}
        for c in checks
        if c.ok
    ]
    interests = sorted(
        ((t, value_at(d, at, policy.scoring.half_life_days)) for t, d in state.interests.items()),
        key=lambda tw: (-tw[1], tw[0]),
    )[:TOP_INTERESTS]
    return {
        "rule": {"name": rule.name, "description": str(rule.description), "texts": _texts(rule.description)},
        "reasons": reasons,
        "missing": [c.text for c in checks if not c.ok],
        "score": {
            "value": score_at(state.scores, policy, at),
            "components": score_components(state.scores, policy, at),
        },
        "interests": [
            {
                "topic": t,
                "label": (label := policy.topics.get(t, t)),
                "texts": _texts(label),
                "weight": round(w, 2),
            }
            for t, w in interests
        ],
        "next_checks": [str(c) for c in rule.next_checks],
        # beside each plain text, the same words per language, for consumers that render another one
        "next_checks_texts": [_texts(c) for c in rule.next_checks],
        "attributes": dict(state.attributes),
        "identities": state.identities(),
        # the account (buying group) the lead belongs to, so sales sees one company, not three people
        "account_id": home.account_id if (home := membership(state, policy)) is not None else None,
        "policy_version": policy.version,
        "episode": episode if episode is not None else state.episode,
    }


def _texts(text: str) -> dict[str, str]:
    return dict(text.texts) if isinstance(text, Label) else {}


def missing_languages(policy: Policy, languages: tuple[str, ...]) -> list[str]:
    """One line per policy text given without one of `languages` (`leadstate policy check`)."""
    out = []
    words: list[tuple[str, str]] = [(f"topic {t}", label) for t, label in policy.topics.items()]
    words += [(f"reason {r.code}", r.label) for r in (*policy.sql_reasons, *policy.not_sql_reasons)]
    for rule in policy.rules:
        words.append((f"rule '{rule.name}' description", rule.description))
        words += [(f"rule '{rule.name}' next check {i + 1}", c) for i, c in enumerate(rule.next_checks)]
    words += [(f"role {r.name} label", r.label) for r in policy.accounts.roles]
    for arule in policy.accounts.rules:
        words.append((f"account rule '{arule.name}' description", arule.description))
        words += [
            (f"account rule '{arule.name}' next check {i + 1}", c) for i, c in enumerate(arule.next_checks)
        ]
    for where, text in words:
        if not isinstance(text, Label):
            if len(languages) > 1:
                out.append(f"{where}: one plain text, not one per language ({', '.join(languages)})")
        elif lacking := text.missing(languages):
            out.append(f"{where}: no {', '.join(lacking)} text")
    return out

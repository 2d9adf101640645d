"""`suggest`: the advisor's application functions, on log entries (pure) or on the stored log (IO).

The search is bounded: candidates only for rules with at least `min_decisions` decided MQLs (fewer could
never be shown), at most MAX_CANDIDATES in all, the rules with the most not-SQL decisions first; then
one pass over the log folds the baseline and every candidate together, one final lead at a time, the
work shared across candidates (`shared.py`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from services.common.policy import Policy, load_policy

from ..eventlog import LogEntry
from .candidates import Candidate, candidates
from .shared import fold_shared
from .suggest import MIN_DECISIONS, NotEnoughHistory, Window, advise, check_history, unknown_rules

MAX_CANDIDATES = 32


def plan(
    text: str,
    policy: Policy,
    decided: Counter[str],
    *,
    min_decisions: int,
    rules: Sequence[str] = (),
    window: Window = Window(),
) -> list[Candidate]:
    """The bounded candidate set. Raises NotEnoughHistory naming an unknown rule, a window with no
    decisions, too few decisions, or no rule with enough of them."""
    thick = rules_to_edit(policy, decided, min_decisions=min_decisions, rules=rules, window=window)
    found = candidates(text, policy, rules=tuple(thick))
    found.sort(key=lambda c: thick.index(c.rule))
    return found[:MAX_CANDIDATES]


def rules_to_edit(
    policy: Policy,
    decided: Counter[str],
    *,
    min_decisions: int,
    rules: Sequence[str] = (),
    window: Window = Window(),
) -> list[str]:
    """The rules with enough decided MQLs to judge an edit on, the most decided first: `plan`'s checks
    alone, without building any candidate (what an HTTP request is answered on at once)."""
    check_history([None] * sum(decided.values()), min_decisions, window)
    if rules:
        missing = unknown_rules(policy, rules)
        if missing:
            known = ", ".join(r.name for r in policy.rules)
            raise NotEnoughHistory(
                f"unknown rule {', '.join(map(repr, missing))}: the policy has {known}",
                "unknown_rule",
                rules=missing,
            )
    chosen = [r.name for r in policy.rules if (not rules or r.name in rules)]
    thick = [r for r in chosen if decided[r] >= min_decisions]
    if not thick:
        shown = ", ".join(f"{r} {decided[r]}" for r in chosen)
        raise NotEnoughHistory(
            f"no rule has {min_decisions} decided MQLs (--min-decisions) to judge an edit on ({shown})",
            "no_rule_with_enough_decisions",
            least=min_decisions,
            decided={r: decided[r] for r in chosen},
        )
    thick.sort(key=lambda r: -decided[r])
    return thick


def decided_by_rule(entries: Iterable[LogEntry], window: Window) -> Counter[str]:
    from ..lab.join import in_window
    from ..stitching import DecisionRecord

    out: Counter[str] = Counter()
    for e in entries:
        if isinstance(e.entry, DecisionRecord) and in_window(e.entry.time, window.since, window.until):
            out[str(e.data.get("rule"))] += 1
    return out


def suggest_on_entries(
    entries: list[LogEntry],
    text: str,
    *,
    min_decisions: int = MIN_DECISIONS,
    window: Window = Window(),
    rules: Sequence[str] = (),
    policy_name: str = "policy.yaml",
) -> dict[str, Any]:
    """The advice on an in-memory log in applied order (tests, small logs)."""
    policy = load_policy(text, policy_name)
    found = plan(
        text,
        policy,
        decided_by_rule(entries, window),
        min_decisions=min_decisions,
        rules=rules,
        window=window,
    )
    folded = fold_shared(entries, policy, {f"c{i}": c.policy for i, c in enumerate(found)})
    return advise(
        folded,
        policy,
        text,
        found,
        min_decisions=min_decisions,
        window=window,
        policy_name=policy_name,
        rules=tuple(rules) or None,
    )

"""`suggest`: the advisor's application functions, on log entries (pure) or on the stored log (IO).

The search is bounded: candidates only for rules with at least `min_decisions` decided MQLs (fewer could
never be shown), at most MAX_CANDIDATES in all, the rules with the most not-SQL decisions first; then
one pass over the log folds the baseline and every candidate together, one final lead at a time, the
work shared across candidates (`shared.py`). Account rules likewise on decided MQAs, at most
MAX_ACCOUNT_CANDIDATES, folded by the lab's account pass (`account_backtest.py`); a kind of rule without
enough decisions is left out (`Plan.refused`) unless no kind has enough.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from services.common.policy import Policy, load_policy

from ..eventlog import LogEntry
from ..stitching import AccountDecided, DecisionRecord
from .account_candidates import account_candidates
from .backtest import BASELINE
from .candidates import Candidate, candidates
from .shared import fold_shared
from .suggest import (
    MIN_DECISIONS,
    NotEnoughHistory,
    Window,
    advise,
    history_gap,
    short_of_both,
    unknown_rules,
)

MAX_CANDIDATES = 32
MAX_ACCOUNT_CANDIDATES = 16  # each folds every account's members under its own policy: no sharing


@dataclass(frozen=True)
class Plan:
    """The bounded candidate sets: edits of lead rules and of account rules, and what kept a kind out."""

    leads: list[Candidate]
    accounts: list[Candidate]
    refused: dict[str, NotEnoughHistory]


def plan(
    text: str,
    policy: Policy,
    decided: Counter[str],
    accounts_decided: Counter[str] | None = None,
    *,
    min_decisions: int,
    rules: Sequence[str] = (),
    window: Window = Window(),
) -> Plan:
    """The bounded candidate sets. Raises NotEnoughHistory naming an unknown rule, or, when no kind of
    rule (lead, account) can be advised on, what each lacks: a window with no decisions, too few
    decisions, or no rule with enough of them."""
    lead_rules, account_rules, refused = rules_to_edit(
        policy, decided, accounts_decided, min_decisions=min_decisions, rules=rules, window=window
    )
    leads = candidates(text, policy, rules=tuple(lead_rules)) if lead_rules else []
    leads.sort(key=lambda c: lead_rules.index(c.rule))
    accounts = account_candidates(text, policy, rules=tuple(account_rules)) if account_rules else []
    accounts.sort(key=lambda c: account_rules.index(c.rule))
    return Plan(leads[:MAX_CANDIDATES], accounts[:MAX_ACCOUNT_CANDIDATES], refused)


def rules_to_edit(
    policy: Policy,
    decided: Counter[str],
    accounts_decided: Counter[str] | None = None,
    *,
    min_decisions: int,
    rules: Sequence[str] = (),
    window: Window = Window(),
) -> tuple[list[str], list[str], dict[str, NotEnoughHistory]]:
    """The lead rules and the account rules with enough decisions (on MQLs, on MQAs) to judge an edit
    on, the most decided first, and what each kind lacks: `plan`'s checks alone, without building any
    candidate (what an HTTP request is answered on at once)."""
    if rules:
        missing = unknown_rules(policy, rules)
        if missing:
            known = ", ".join([r.name for r in policy.rules] + [r.name for r in policy.accounts.rules])
            raise NotEnoughHistory(
                f"unknown rule {', '.join(map(repr, missing))}: the policy has {known}",
                "unknown_rule",
                rules=missing,
            )
    refused: dict[str, NotEnoughHistory] = {}
    lead_rules = _thick(policy.rules, decided, min_decisions, rules, window, "lead", refused)
    account_rules: list[str] = []
    if policy.accounts.rules:
        account_rules = _thick(
            policy.accounts.rules,
            accounts_decided or Counter(),
            min_decisions,
            rules,
            window,
            "account",
            refused,
        )
    if "lead" in refused and (not policy.accounts.rules or "account" in refused):
        raise short_of_both(refused)
    return lead_rules, account_rules, refused


def _thick(
    kind_rules: Sequence[Any],
    decided: Counter[str],
    min_decisions: int,
    rules: Sequence[str],
    window: Window,
    subject: str,
    refused: dict[str, NotEnoughHistory],
) -> list[str]:
    """The rules of one kind with at least `min_decisions` decisions, the most decided first; [] and
    the reason in `refused[subject]` when none."""
    chosen = [r.name for r in kind_rules if (not rules or r.name in rules)]
    account = subject == "account"
    if rules and not chosen:
        refused[subject] = NotEnoughHistory(
            f"no {'account ' if account else 'lead '}rule asked for", "not_asked", subject=subject
        )
        return []
    gap = history_gap([None] * sum(decided.values()), min_decisions, window, subject)
    thick = [r for r in chosen if decided[r] >= min_decisions]
    if gap is None and not thick:
        shown = ", ".join(f"{r} {decided[r]}" for r in chosen)
        what = "account rule has" if account else "rule has"
        gap = NotEnoughHistory(
            f"no {what} {min_decisions} decided {'MQAs' if account else 'MQLs'} (--min-decisions) to judge "
            f"an edit on ({shown})",
            "no_account_rule_with_enough_decisions" if account else "no_rule_with_enough_decisions",
            least=min_decisions,
            decided={r: decided[r] for r in chosen},
        )
    if gap is not None:
        refused[subject] = gap
        return []
    thick.sort(key=lambda r: -decided[r])
    return thick


def decided_by_rule(entries: Iterable[LogEntry], window: Window, kind: type = DecisionRecord) -> Counter[str]:
    """Recorded decisions per rule in the window: on MQLs (`DecisionRecord`) or MQAs (`AccountDecided`)."""
    from ..lab.join import in_window

    out: Counter[str] = Counter()
    for e in entries:
        if isinstance(e.entry, kind) and in_window(e.entry.time, window.since, window.until):
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
        decided_by_rule(entries, window, AccountDecided),
        min_decisions=min_decisions,
        rules=rules,
        window=window,
    )
    folded = fold_shared(entries, policy, {f"c{i}": c.policy for i, c in enumerate(found.leads)})
    if found.accounts:
        from .account_backtest import fold_accounts

        policies = {BASELINE: policy, **{f"a{i}": c.policy for i, c in enumerate(found.accounts)}}
        folded.extend(fold_accounts(entries, policies))
    return advise(
        folded,
        policy,
        text,
        found.leads,
        account_candidates=found.accounts,
        min_decisions=min_decisions,
        window=window,
        policy_name=policy_name,
        rules=tuple(rules) or None,
        refused=found.refused,
    )

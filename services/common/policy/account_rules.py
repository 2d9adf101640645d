"""`evaluate_account`: which account rules an account meets now and whether that opens a new MQA
episode (one MQA per account episode); `apply_account_decision` closes it.

Time is `at`, the event time of what changed the account: replaying the log gives the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .account_checks import AccountRuleResult, attribute_fit, check_account_rule
from .account_explain import explain_mqa
from .buying_group import AccountState
from .model import OUTCOMES, Policy


@dataclass(frozen=True)
class Mqa:
    account_id: str
    rule_name: str
    episode: int  # the episode this MQA opens
    at: datetime
    policy_version: str
    explanation: dict[str, Any] = field(default_factory=dict)  # see account_explain.explain_mqa


@dataclass(frozen=True)
class AccountEvaluation:
    results: list[AccountRuleResult]
    mqa: Mqa | None
    blocked: str | None = None


def blocked_reason(account: AccountState, policy: Policy) -> str | None:
    if not account.members:
        return "the account has no members"
    return stage_blocks(account, policy)


def stage_blocks(account: AccountState, policy: Policy) -> str | None:
    """Why the account's stage alone keeps it from a new MQA (None: it does not); needs no members,
    so a caller can ask before gathering them."""
    if account.stage in ("mqa", "sql"):
        return f"MQA episode {account.episode} is open (stage {account.stage}): one MQA per episode"
    if account.stage == "rejected" and not policy.recycle.allow_after_rejected:
        return "rejected accounts do not become MQAs again under this policy"
    return None


def evaluate_account(account: AccountState, policy: Policy, at: datetime) -> AccountEvaluation:
    results = [check_account_rule(rule, account, policy, at) for rule in policy.accounts.rules]
    blocked = blocked_reason(account, policy)
    first = next((r for r in results if r.matched), None)
    if blocked or first is None:
        return AccountEvaluation(results, None, blocked)
    episode = account.episode + 1
    explanation = explain_mqa(account, first, policy, at, episode)
    mqa = Mqa(account.account_id, first.rule_name, episode, at, policy.version, explanation)
    return AccountEvaluation(results, mqa)


def qualify_account(
    account: AccountState, policy: Policy, at: datetime, fit: tuple[bool, ...] | None = None
) -> tuple[AccountState, Mqa | None]:
    """Evaluate and, on a match, open the episode: the one call the qualifier needs per change. `fit`:
    `attribute_fit(account, policy)` if the caller kept it (computed here otherwise)."""
    if not policy.accounts.rules or blocked_reason(account, policy) is not None:
        return account, None
    if fit is None:
        fit = attribute_fit(account, policy)
    # as evaluate_account, but only the rules whose company conditions hold (a rule failing them cannot
    # match, whatever the behaviour), each until a check fails: most changes qualify nothing
    for rule, company_fits in zip(policy.accounts.rules, fit, strict=True):
        if not company_fits:
            continue
        result = check_account_rule(rule, account, policy, at, until_failed=True)
        if result.matched:
            episode = account.episode + 1
            explanation = explain_mqa(account, result, policy, at, episode)
            mqa = Mqa(account.account_id, result.rule_name, episode, at, policy.version, explanation)
            return replace(account, stage="mqa", episode=episode, mqa_at=at), mqa
    return account, None


def apply_account_decision(
    account: AccountState, outcome: str, decided_at: datetime, episode: int
) -> AccountState:
    """Record a sales decision on `episode`; one on another (stale) episode changes nothing."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r} (valid: {', '.join(OUTCOMES)})")
    if episode != account.episode or account.episode == 0:
        return account
    return replace(account, stage=outcome, decided_at=decided_at)  # type: ignore[arg-type]

"""Checking one account rule against an account: which members are engaged, and each condition
(breadth, roles, shared topic, company attributes, summed score) with its sentence and evidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .account_model import AccountRule, Engaged, RoleCoverage, SharedTopic
from .buying_group import AccountState, Member, by_recency
from .conditions import Check, check_attributes
from .lead import Evidence, LeadState
from .model import Policy
from .scoring import score_at
from .timemath import shifted

MAX_MEMBERS_EVALUATED = 200  # the most recently active; a buying group is 6-10 people


@dataclass(frozen=True)
class Engagement:
    member: Member
    evidence: tuple[Evidence, ...]  # what made the member engaged, in the window
    score: float


@dataclass(frozen=True)
class AccountRuleResult:
    rule_name: str
    matched: bool
    checks: list[Check]
    engaged: list[Engagement]


def check_account_rule(
    rule: AccountRule, account: AccountState, policy: Policy, at: datetime, *, until_failed: bool = False
) -> AccountRuleResult:
    """Every check of the rule, with its sentence; `until_failed`: stop at the first that fails (the
    fold only needs to know whether the rule holds; a matched result is complete either way)."""
    engaged = engaged_members(account, rule.engaged, policy, at)
    checks: list[Check] = []

    def failed(check: Check) -> bool:
        checks.append(check)
        return until_failed and not check.ok

    if rule.breadth is not None and failed(_breadth(rule.breadth, rule.engaged, engaged)):
        return AccountRuleResult(rule.name, False, checks, engaged)
    if rule.roles is not None and failed(_coverage(rule.roles, engaged, policy)):
        return AccountRuleResult(rule.name, False, checks, engaged)
    if rule.shared_topic is not None and failed(_shared_topic(rule.shared_topic, engaged)):
        return AccountRuleResult(rule.name, False, checks, engaged)
    checks += check_attributes(rule.attributes, company_of(account), policy)
    if rule.score_min is not None:
        checks.append(_summed_score(rule.score_min, engaged))
    return AccountRuleResult(rule.name, all(c.ok for c in checks), checks, engaged)


def company_of(account: AccountState) -> LeadState:
    """The account's company as a lead-shaped state, for the attribute conditions."""
    attributes, sources = account.attributes()
    return LeadState(lead_id=account.account_id, attributes=attributes, attribute_sources=sources)


def attribute_fit(account: AccountState, policy: Policy) -> tuple[bool, ...]:
    """Per account rule (in policy order), whether the account's company meets its attribute conditions.
    They read the members' company traits only, never the clock or the behaviour: a caller may keep the
    answer while no member joins, leaves or changes its traits, and skip the rules it rules out."""
    company = company_of(account)
    rules = policy.accounts.rules
    return tuple(all(c.ok for c in check_attributes(rule.attributes, company, policy)) for rule in rules)


def engaged_members(
    account: AccountState, engaged: Engaged, policy: Policy, at: datetime
) -> list[Engagement]:
    """Members with behaviour in the rule's window (and after the last not-SQL decision), most
    engaged first; the score floor, if the rule has one, read at `at`."""
    start = shifted(at, timedelta(days=-engaged.within_days))
    if account.stage in ("recycled", "rejected") and account.decided_at is not None:
        after = shifted(account.decided_at, timedelta(days=policy.recycle.min_days_after_decision))
        start = max(start, after)
    out = []
    for member in by_recency(account.members)[:MAX_MEMBERS_EVALUATED]:
        hits = tuple(
            s
            for s in member.signals
            if start < s.time <= at and (engaged.kinds is None or s.kind in engaged.kinds)
        )
        if not hits:
            continue  # no score needed: most members of a large account are quiet in the window
        score = score_at(member.scores, policy, at)
        if engaged.score_min is None or score >= engaged.score_min:
            out.append(Engagement(member, hits, score))
    return sorted(out, key=lambda e: (-e.score, e.member.lead_id))


def person(member: Member) -> str:
    """How sales knows a member: name or email, with the title."""
    who = member.attributes.get("name") or member.email or member.lead_id
    title = member.attributes.get("title")
    return f"{who} ({title})" if title else str(who)


def _people(engaged: list[Engagement]) -> list[dict[str, Any]]:
    return [
        {"lead_id": e.member.lead_id, "who": person(e.member), "roles": list(e.member.roles)} for e in engaged
    ]


def _breadth(minimum: int, rule: Engaged, engaged: list[Engagement]) -> Check:
    days = f"{rule.within_days:g} days"
    if len(engaged) < minimum:
        return Check(False, f"needs {minimum} engaged people within {days}, has {len(engaged)}")
    names = "; ".join(person(e.member) for e in engaged)
    params = {
        "count": len(engaged),
        "min": minimum,
        "within_days": rule.within_days,
        "people": _people(engaged),
    }
    evidence = tuple(s for e in engaged for s in e.evidence)
    return Check(True, f"{len(engaged)} people engaged within {days}: {names}", evidence, "breadth", params)


def _coverage(coverage: RoleCoverage, engaged: list[Engagement], policy: Policy) -> Check:
    holders = {role: [e for e in engaged if role in e.member.roles] for role in coverage.roles}
    present = [r for r in coverage.roles if holders[r]]
    labels = {r.name: str(r.label) for r in policy.accounts.roles}
    ok = bool(present) if coverage.mode == "any_of" else len(present) == len(coverage.roles)
    if not ok:
        wanted = [labels[r] for r in coverage.roles if r not in present]
        joiner = " or " if coverage.mode == "any_of" else " and "
        has = ", ".join(labels[r] for r in present) or "none"
        return Check(False, f"needs {joiner.join(wanted)} among the engaged people, has {has}")
    shown = present if coverage.mode == "all_of" else present[:1]
    text = "; ".join(f"{labels[r]}: {', '.join(person(e.member) for e in holders[r])}" for r in shown)
    evidence = tuple(s for r in shown for e in holders[r] for s in e.evidence)
    params = {"roles": {r: [e.member.lead_id for e in holders[r]] for r in shown}, "mode": coverage.mode}
    return Check(True, f"Engaged {text}", evidence, "roles", params)


def _shared_topic(shared: SharedTopic, engaged: list[Engagement]) -> Check:
    readers: dict[str, dict[str, Evidence]] = {}
    for e in engaged:
        for s in e.evidence:
            if s.topic and (shared.topics is None or s.topic in shared.topics):
                readers.setdefault(s.topic, {}).setdefault(e.member.lead_id, s)
    topic, hits = max(readers.items(), key=lambda th: (len(th[1]), th[0]), default=(None, {}))
    if topic is None or len(hits) < shared.min_members:
        where = "one topic" if shared.topics is None else f"one of {', '.join(shared.topics)}"
        return Check(False, f"needs {shared.min_members} engaged people on {where}, has {len(hits)}")
    by_id = {e.member.lead_id: e.member for e in engaged}
    names = ", ".join(person(by_id[lead]) for lead in sorted(hits))
    params = {"topic": topic, "count": len(hits), "min": shared.min_members, "people": sorted(hits)}
    return Check(
        True, f"{len(hits)} people engaged on {topic}: {names}", tuple(hits.values()), "shared_topic", params
    )


def _summed_score(minimum: float, engaged: list[Engagement]) -> Check:
    total = round(sum(e.score for e in engaged), 2)
    if total < minimum:
        return Check(False, f"needs a summed engagement score of {minimum:g} or more, has {total:g}")
    parts = ", ".join(f"{person(e.member)} {e.score:g}" for e in engaged)
    params = {"value": total, "min": minimum, "components": {e.member.lead_id: e.score for e in engaged}}
    return Check(
        True,
        f"Summed engagement score {total:g} ({parts}), at least {minimum:g} required",
        (),
        "account_score",
        params,
    )

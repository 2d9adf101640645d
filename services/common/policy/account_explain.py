"""Why an account is an MQA, in words sales can act on: reasons with evidence, the buying group with
the roles present and missing, next checks, and the members with their own state; and the account
rules themselves as sentences (`leadstate policy check`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .account_checks import AccountRuleResult, Engagement, person
from .account_model import AccountRule
from .buying_group import AccountState, Member
from .describe import _ja_list, _join
from .explain import _texts
from .model import Policy, in_language
from .reasons import BANDS_JA, INDUSTRIES_JA, KINDS_JA

MAX_MEMBERS_LISTED = 50


def explain_mqa(
    account: AccountState, result: AccountRuleResult, policy: Policy, at: datetime, episode: int
) -> dict[str, Any]:
    """The MQA payload parts (JSON types only) for the rule `result` is about."""
    rule = policy.accounts.rule(result.rule_name)
    attributes, _ = account.attributes()
    engaged = {e.member.lead_id: e for e in result.engaged}
    return {
        "account": {
            "account_id": account.account_id,
            "name": attributes.get("company"),
            "domain": _domain(account.account_id, attributes),
            "attributes": attributes,
        },
        "rule": {"name": rule.name, "description": str(rule.description), "texts": _texts(rule.description)},
        "reasons": [
            {
                "code": c.code,
                "params": c.params,
                "text": c.text,
                "evidence": [e.to_dict() for e in c.evidence],
            }
            for c in result.checks
            if c.ok
        ],
        "buying_group": buying_group(account.members, policy),
        "next_checks": [str(c) for c in rule.next_checks],
        "next_checks_texts": [_texts(c) for c in rule.next_checks],
        "members": [_member(m, engaged.get(m.lead_id)) for m in _listed(account.members, engaged)],
        "score": {"value": round(sum(e.score for e in result.engaged), 2)},
        "policy_version": policy.version,
        "episode": episode,
    }


def buying_group(members: tuple[Member, ...], policy: Policy) -> dict[str, Any]:
    """Each role of the policy, present (with who) or missing: "decision maker ✓, budget holder not
    yet seen" is what sales asks about next."""
    present, missing, words = [], [], []
    for role in policy.accounts.roles:
        holders = sorted(m.lead_id for m in members if role.name in m.roles)
        if holders:
            present.append({"role": role.name, "label": str(role.label), "members": holders})
            words.append(f"{role.label} ✓")
        else:
            missing.append({"role": role.name, "label": str(role.label)})
            words.append(f"{role.label} not yet seen")
    return {"present": present, "missing": missing, "text": "buying group: " + ", ".join(words)}


def _listed(members: tuple[Member, ...], engaged: dict[str, Engagement]) -> list[Member]:
    """The engaged first (most engaged first), then the most recently active."""
    order = {lead: i for i, lead in enumerate(engaged)}
    ranked = sorted(
        members,
        key=lambda m: (
            order.get(m.lead_id, len(order)),
            -(m.last_activity_at.timestamp() if m.last_activity_at else 0),
        ),
    )
    return ranked[:MAX_MEMBERS_LISTED]


def _member(m: Member, engagement: Engagement | None) -> dict[str, Any]:
    return {
        "lead_id": m.lead_id,
        "who": person(m),
        "email": m.email,
        "name": m.attributes.get("name"),
        "title": m.attributes.get("title"),
        "title_level": m.attributes.get("title_level"),
        "roles": list(m.roles),
        "engaged": engagement is not None,
        "score": engagement.score if engagement else None,
        "evidence": [e.event_id for e in engagement.evidence] if engagement else [],
        "stage": m.stage,
        "episode": m.episode,
        "last_activity_at": m.last_activity_at.isoformat() if m.last_activity_at else None,
    }


def _domain(account_id: str, attributes: dict[str, Any]) -> str | None:
    if account_id.startswith("domain:"):
        return account_id.removeprefix("domain:")
    domain = attributes.get("group_domain")
    return domain if isinstance(domain, str) else None


def describe_account_rules(policy: Policy, language: str = "en") -> list[str]:
    """Each account rule as one sentence in `language` (`ja`; anything else is English), for review."""
    sentence = _ja_sentence if language == "ja" else _sentence
    return [sentence(rule, policy) for rule in policy.accounts.rules]


def _ja_sentence(rule: AccountRule, policy: Policy) -> str:
    e = rule.engaged
    what = "ページ閲覧以外の行動" if e.kinds is None else "・".join(KINDS_JA.get(k, k) for k in e.kinds)
    engaged = f"過去{e.within_days:g}日以内に{what}があった" + (
        f"（スコア{e.score_min:g}以上）" if e.score_min is not None else ""
    )
    labels = {r.name: in_language(r.label, "ja") for r in policy.accounts.roles}
    parts = [f"{engaged}人が{rule.breadth}人以上" if rule.breadth is not None else f"{engaged}人がいる"]
    if rule.roles is not None:
        joiner = "または" if rule.roles.mode == "any_of" else "と"
        parts.append(f"その中に{joiner.join(labels[r] for r in rule.roles.roles)}がいる")
    if rule.shared_topic is not None:
        topics = rule.shared_topic.topics
        where = (
            "同じテーマ"
            if topics is None
            else "・".join(in_language(policy.topics.get(t, t), "ja") for t in topics)
        )
        parts.append(f"{rule.shared_topic.min_members}人以上が{where}に関心")
    a = rule.attributes
    if a.industry_is_target:
        parts.append(f"重点業種の企業（{_ja_list(policy.fit.target_industries, INDUSTRIES_JA)}）")
    elif a.industry_in is not None:
        parts.append(f"業種が{_ja_list(a.industry_in, INDUSTRIES_JA)}のいずれか")
    if a.company_size_in:
        parts.append(f"企業規模が{_ja_list(a.company_size_in, BANDS_JA)}のいずれか")
    if rule.score_min is not None:
        parts.append(f"合計エンゲージメントスコア{rule.score_min:g}以上")
    return (
        f"アカウントルール「{rule.name}」：企業が次の条件をすべて満たすとMQAになります。"
        f"{'／'.join(parts)}（営業の確認事項{len(rule.next_checks)}件）。"
    )


def _sentence(rule: AccountRule, policy: Policy) -> str:
    e = rule.engaged
    what = "any behaviour" if e.kinds is None else " or ".join(e.kinds)
    engaged = f"engaged ({what} in the last {e.within_days:g} days" + (
        f", score at least {e.score_min:g})" if e.score_min is not None else ")"
    )
    labels = {r.name: str(r.label) for r in policy.accounts.roles}
    parts = []
    if rule.breadth is not None:
        parts.append(f"at least {rule.breadth} of its people are {engaged}")
    else:
        parts.append(f"its people count as {engaged}")
    if rule.roles is not None:
        joiner = " or " if rule.roles.mode == "any_of" else " and "
        parts.append(f"the engaged people include a {joiner.join(labels[r] for r in rule.roles.roles)}")
    if rule.shared_topic is not None:
        where = "one topic" if rule.shared_topic.topics is None else " or ".join(rule.shared_topic.topics)
        parts.append(f"{rule.shared_topic.min_members} of them engaged on {where}")
    a = rule.attributes
    if a.industry_is_target:
        parts.append(f"the company is in a target industry ({', '.join(policy.fit.target_industries)})")
    elif a.industry_in is not None:
        parts.append(f"the company is in {' or '.join(a.industry_in)}")
    if a.company_size_in:
        parts.append(f"its size is {' or '.join(a.company_size_in)}")
    if rule.score_min is not None:
        parts.append(f"their summed engagement score is at least {rule.score_min:g}")
    return (
        f"Account rule '{rule.name}' makes an account an MQA when {_join(parts)} "
        f"({len(rule.next_checks)} next checks for sales)."
    )

"""The candidate edits a policy admits, one rule at a time, bounded in number. Pure.

Each edit keeps the rule's behaviour and attribute conditions (a score floor is only ever added beside
them) or retires the rule; every candidate is the baseline's text patched and loaded by the policy
loader, so an edit the loader refuses (e.g. a rule left without attributes) is never offered.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from services.common.policy import Policy, PolicyError, load_policy
from services.common.policy.condition_loader import BEHAVIOURS

from .patch import PatchError, bump_version, remove_rule, replace_when, rule_when

MAX_TOPICS = 6  # a topic restriction per topic only when the policy has few topics
MAX_PER_RULE = 24
RECENCY_DAYS = (30, 14)  # windows offered to a rule whose behaviour counts for the whole episode
LEAF_KINDS = tuple(k for k in BEHAVIOURS if k not in ("any_of", "all_of"))
TOPICAL = ("seminar_attended", "seminar_registered", "downloads_on_one_topic", "content_downloaded")
SECOND: tuple[tuple[str, dict[str, Any]], ...] = (
    ("content_downloaded", {"topics": "any"}),
    ("seminar_registered", {"topics": "any"}),
    ("seminar_attended", {"topics": "any"}),
    ("form_submitted", {}),
)
SECOND_WORDS = {
    "content_downloaded": "a content download",
    "seminar_registered": "a seminar registration",
    "seminar_attended": "a seminar attendance",
    "form_submitted": "a form submission",
}
# An edit in English words, from its code and params: what the CLI, Markdown and the API's `change`
# say. Consumers that speak another language word the code themselves (the console's catalog).
CHANGE_WORDS = {
    "require_title_level": "require title level {level} or above",
    "accept_title_level": "accept title level {level} or above",
    "drop_title_level": "drop the title level condition",
    "require_target_industry": "require a target industry",
    "restrict_industries": "restrict industries to {industries}",
    "accept_any_industry": "accept any industry",
    "require_company_size": "require a company size of {sizes}",
    "accept_company_size": "accept a company size of {sizes}",
    "accept_any_company_size": "accept any company size",
    "require_topic": "require {behaviour} on the topic {topic}",
    "higher_count": "require {behaviour} at least {min} times (was {was})",
    "second_behaviour": "also require {second}",
    "shorten_recency": "count only behaviour of the last {days:g} days{was}",
    "score_floor": "also require an engagement score of at least {min} (beside its behaviour and attributes)",
    "retire": "retire the rule",
    # account rules (MQA): account_candidates.py
    "require_role": "require a {role} among the engaged members",
    "raise_min_members": "require at least {min} engaged members (was {was})",
    "require_shared_topic": "require at least {min} engaged members on one topic",
    "shorten_engagement_window": "count only members engaged in the last {days:g} days (was {was:g})",
    "account_score_floor": (
        "also require a summed engagement score of at least {min} (beside its members, roles and attributes)"
    ),
}


@dataclass(frozen=True)
class Change:
    """One edit as data: `code` (a key of CHANGE_WORDS) and its `params` (names of the policy's own
    vocabulary: levels, industries, size bands, behaviour kinds, topics; and numbers)."""

    code: str
    params: dict[str, Any]

    @property
    def words(self) -> str:
        p = dict(self.params)
        for key in ("industries", "sizes"):
            if key in p:
                p[key] = ", ".join(p[key])
        if "behaviour" in p:
            p["behaviour"] = p["behaviour"].replace("_", " ")
        if "role" in p:
            p["role"] = p["role"].replace("_", " ")
        if "second" in p:
            p["second"] = SECOND_WORDS[p["second"]]
        if self.code == "shorten_recency":
            p["was"] = "" if p["was"] is None else f" (was {p['was']:g})"
        return CHANGE_WORDS[self.code].format(**p)


@dataclass(frozen=True, kw_only=True)
class Candidate:
    rule: str
    kind: str  # raise_title, lower_title, restrict_industry, ..., shorten_recency, score_floor, retire
    change: Change  # the edit as data; `change.words`: "require title level director or above"
    text: str  # the patched policy file
    policy: Policy
    version: str
    when: dict[str, Any] | None  # the rule's new `when:`; None: the rule is retired
    subject: str = "lead"  # "lead": an MQL rule (`rules:`); "account": an MQA rule (`account_rules:`)


def candidates(text: str, policy: Policy, *, rules: tuple[str, ...] | None = None) -> list[Candidate]:
    """Every admissible edit of the named rules (default: all), at most MAX_PER_RULE per rule."""
    patched, version = bump_version(text)
    out: list[Candidate] = []
    for rule in policy.rules:
        if rules is None or rule.name in rules:
            edits = _edits(rule_when(text, rule.name), policy, rule.name)
            out += admitted(patched, version, rule.name, edits, limit=MAX_PER_RULE)
    return out


def admitted(
    patched: str,
    version: str,
    rule: str,
    edits: Iterator[Edit],
    *,
    limit: int,
    subject: str = "lead",
) -> list[Candidate]:
    """The first `limit` of `edits` of one rule (of `rules:`, or with `subject` "account" of
    `account_rules:`) that the policy loader accepts and that leave every rule of that kind explainable,
    each applied to `patched` (the text with its version bumped to `version`)."""
    section, explainable = ("rules", _explainable) if subject == "lead" else ("account_rules", _account_ok)
    out: list[Candidate] = []
    for kind, change, new_when in edits:
        if len(out) >= limit:
            break
        try:
            candidate_text = (
                remove_rule(patched, rule, section)
                if new_when is None
                else replace_when(patched, rule, new_when, section)
            )
            loaded = load_policy(candidate_text, f"{kind} {rule}")
        except (PolicyError, PatchError):
            continue
        if not all(explainable(r) for r in (loaded.rules if subject == "lead" else loaded.accounts.rules)):
            continue
        out.append(
            Candidate(
                rule=rule,
                kind=kind,
                change=change,
                text=candidate_text,
                policy=loaded,
                version=version,
                when=new_when,
                subject=subject,
            )
        )
    return out


def _account_ok(rule: Any) -> bool:
    """Breadth or roles, and an attribute of the company: never an account rule on score alone."""
    a = rule.attributes
    has_attribute = a.industry_is_target or any(v is not None for v in (a.industry_in, a.company_size_in))
    return (rule.breadth is not None or rule.roles is not None) and has_attribute


def _explainable(rule: Any) -> bool:
    """Behaviour content and at least one attribute condition: never a rule on score alone."""
    a = rule.attributes
    has_attribute = a.industry_is_target or any(
        v is not None for v in (a.industry_in, a.title_level_at_least, a.company_size_in)
    )
    return rule.behaviour is not None and has_attribute


Edit = tuple[str, Change, dict[str, Any] | None]


def _edits(when: dict[str, Any], policy: Policy, rule: str) -> Iterator[Edit]:
    yield from _title(when, policy)
    yield from _industry(when, policy)
    yield from _size(when, policy)
    yield from _behaviour(when, policy)
    yield from _recency(when)
    yield from _score(when, policy)
    if len(policy.rules) > 1:
        yield "retire", Change("retire", {}), None


def _with(when: dict[str, Any], section: str, key: str, value: Any) -> dict[str, Any]:
    new = copy.deepcopy(when)
    part = dict(new.get(section) or {})
    if value is None:
        part.pop(key, None)
    else:
        part[key] = value
    new[section] = part
    return new


def _title(when: dict[str, Any], policy: Policy) -> Iterator[Edit]:
    levels = [lv.name for lv in policy.fit.title_levels]
    current = (when.get("attributes") or {}).get("title_level_at_least")
    at = levels.index(current) if current in levels else -1
    for level in levels[at + 1 :]:
        yield (
            "raise_title",
            Change("require_title_level", {"level": level}),
            _with(when, "attributes", "title_level_at_least", level),
        )
    if at > 0:
        lower = levels[at - 1]
        yield (
            "lower_title",
            Change("accept_title_level", {"level": lower}),
            _with(when, "attributes", "title_level_at_least", lower),
        )
    if at >= 0:
        yield (
            "lower_title",
            Change("drop_title_level", {}),
            _with(when, "attributes", "title_level_at_least", None),
        )


def _industry(when: dict[str, Any], policy: Policy) -> Iterator[Edit]:
    current = (when.get("attributes") or {}).get("industry_in")
    target = list(policy.fit.target_industries)
    if current is None and target:
        yield (
            "restrict_industry",
            Change("require_target_industry", {}),
            _with(when, "attributes", "industry_in", "target"),
        )
    elif isinstance(current, list) and target:
        narrowed = [i for i in current if i in target]
        if narrowed and narrowed != current:
            yield (
                "restrict_industry",
                Change("restrict_industries", {"industries": narrowed}),
                _with(when, "attributes", "industry_in", narrowed),
            )
    if current is not None:
        yield (
            "widen_industry",
            Change("accept_any_industry", {}),
            _with(when, "attributes", "industry_in", None),
        )


def _size(when: dict[str, Any], policy: Policy) -> Iterator[Edit]:
    bands = [b.name for b in policy.fit.company_size_bands]
    current = (when.get("attributes") or {}).get("company_size_in")
    if current is None:
        for k in (1, 2):
            if len(bands) > k:
                kept = bands[k:]
                yield (
                    "restrict_size",
                    Change("require_company_size", {"sizes": kept}),
                    _with(when, "attributes", "company_size_in", kept),
                )
        return
    kept = [b for b in bands if b in current]
    if len(kept) > 1:
        yield (
            "restrict_size",
            Change("require_company_size", {"sizes": kept[1:]}),
            _with(when, "attributes", "company_size_in", kept[1:]),
        )
    smaller = [b for b in bands if b not in current and kept and bands.index(b) < bands.index(kept[0])]
    if smaller:
        wider = [smaller[-1], *kept]
        yield (
            "widen_size",
            Change("accept_company_size", {"sizes": wider}),
            _with(when, "attributes", "company_size_in", wider),
        )
    yield (
        "widen_size",
        Change("accept_any_company_size", {}),
        _with(when, "attributes", "company_size_in", None),
    )


def _leaf(behaviour: Any) -> tuple[str, dict[str, Any]] | None:
    if isinstance(behaviour, dict) and len(behaviour) == 1:
        ((kind, args),) = behaviour.items()
        if kind in LEAF_KINDS:
            return kind, dict(args or {})
    return None


def _behaviour(when: dict[str, Any], policy: Policy) -> Iterator[Edit]:
    b = when.get("behaviour")
    leaf = _leaf(b)
    if leaf is None:
        return
    kind, args = leaf
    if kind in TOPICAL and args.get("topics", "any") == "any" and len(policy.topics) <= MAX_TOPICS:
        for topic in policy.topics:
            new = copy.deepcopy(when)
            new["behaviour"] = {kind: {**args, "topics": [topic]}}
            yield "require_topic", Change("require_topic", {"behaviour": kind, "topic": topic}), new
    n = int(args.get("min", 1))
    new = copy.deepcopy(when)
    new["behaviour"] = {kind: {**args, "min": n + 1}}
    yield "higher_count", Change("higher_count", {"behaviour": kind, "min": n + 1, "was": n}), new
    for other, other_args in SECOND:
        if other != kind:
            new = copy.deepcopy(when)
            new["behaviour"] = {"all_of": [b, {other: dict(other_args)}]}
            yield "second_behaviour", Change("second_behaviour", {"second": other}), new


def _recency(when: dict[str, Any]) -> Iterator[Edit]:
    """Count only recent behaviour: 30 or 14 days for a rule without a window, half of one it has."""
    current = when.get("within_days")
    shorter = RECENCY_DAYS if current is None else (round(float(current) / 2, 1),)
    for days in shorter:
        if days >= 1 and (current is None or days < current):
            new = copy.deepcopy(when)
            new["within_days"] = days
            was = None if current is None else float(current)
            yield "shorten_recency", Change("shorten_recency", {"days": days, "was": was}), new


def _score(when: dict[str, Any], policy: Policy) -> Iterator[Edit]:
    current = (when.get("score") or {}).get("min")
    unit = policy.scoring.points.get("content_download") or 10
    floors = [current * 1.5, current * 2] if current else [unit, unit * 2, unit * 3]
    for floor in floors:
        floor = round(float(floor))
        new = copy.deepcopy(when)
        new["score"] = {"min": floor}
        yield (
            "score_floor",
            Change("score_floor", {"min": floor}),
            new,
        )

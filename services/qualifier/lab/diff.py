"""`describe_changes`: what changed between two policies, in sentences for the review with sales. Pure."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from services.common.policy import MqlRule, Policy, ReasonCode
from services.common.policy.account_explain import describe_account_rules
from services.common.policy.explain import describe_behaviour


def describe_changes(old: Policy, new: Policy) -> list[str]:
    """One sentence per change; an empty list means the two policies decide and explain the same way."""
    out: list[str] = []
    if old.version == new.version:
        out.append(
            f"Version is still {old.version!r}: bump it, so every MQL records the criteria it was made under."
        )
    else:
        out.append(f"Version {old.version} -> {new.version}.")
    out += _rules(old, new)
    out += _fit(old, new)
    out += _scoring(old, new)
    out += _reasons("SQL", old.sql_reasons, new.sql_reasons)
    out += _reasons("not-SQL", old.not_sql_reasons, new.not_sql_reasons)
    out += _account_rules(old, new)
    out += _roles(old, new)
    out += _reasons("MQA SQL", old.accounts.sql_reasons, new.accounts.sql_reasons)
    out += _reasons("MQA not-SQL", old.accounts.not_sql_reasons, new.accounts.not_sql_reasons)
    if old.sla != new.sla:
        out.append(
            f"Decision SLA: {old.sla.decision_hours:g} h (due soon at {old.sla.due_soon_hours:g} h) -> "
            f"{new.sla.decision_hours:g} h (due soon at {new.sla.due_soon_hours:g} h)."
        )
    if old.recycle != new.recycle:
        out.append(
            f"Recycling: new activity counts {old.recycle.min_days_after_decision:g} -> "
            f"{new.recycle.min_days_after_decision:g} days after a not-SQL decision; rejected leads may "
            f"return: {_yes(old.recycle.allow_after_rejected)} -> {_yes(new.recycle.allow_after_rejected)}."
        )
    return out


def _rules(old: Policy, new: Policy) -> list[str]:
    out = []
    before = {r.name: r for r in old.rules}
    after = {r.name: r for r in new.rules}
    for rule in new.rules:
        if rule.name not in before:
            out.append(f"Rule '{rule.name}' added: {_behaviour(rule)}; {_attributes(rule.attributes)}.")
    for rule in old.rules:
        if rule.name not in after:
            out.append(f"Rule '{rule.name}' removed (it made MQLs of leads that {_behaviour(rule)}).")
    for name in before.keys() & after.keys():
        out += _rule_changes(before[name], after[name])
    return out + _order("Rule order (the first match names the MQL)", list(before), list(after))


def _order(what: str, before: list[str], after: list[str]) -> list[str]:
    """The order of the rules both policies keep, if it changed."""
    kept_old, kept_new = [n for n in before if n in after], [n for n in after if n in before]
    return [f"{what}: {', '.join(kept_old)} -> {', '.join(kept_new)}."] if kept_old != kept_new else []


def _account_rules(old: Policy, new: Policy) -> list[str]:
    """Account rules (MQA) added, removed or changed, each in its own sentence (describe_account_rules)."""
    before = {r.name: (r, t) for r, t in zip(old.accounts.rules, describe_account_rules(old), strict=True)}
    after = {r.name: (r, t) for r, t in zip(new.accounts.rules, describe_account_rules(new), strict=True)}
    out = [f"Added: {after[name][1]}" for name in after if name not in before]
    out += [f"Removed: {before[name][1]}" for name in before if name not in after]
    for name in (n for n in after if n in before):
        (a, was), (b, now) = before[name], after[name]
        if was != now:
            out.append(f"Account rule '{name}' changed. Before: {was} After: {now}")
        elif a != b:
            out.append(f"Account rule '{name}': description or next checks for sales reworded.")
    return out + _order("Account rule order (the first match names the MQA)", list(before), list(after))


def _roles(old: Policy, new: Policy) -> list[str]:
    a = {r.name: r for r in old.accounts.roles}
    b = {r.name: r for r in new.accounts.roles}
    out = [f"Buying-group role '{n}' added." for n in b if n not in a]
    out += [f"Buying-group role '{n}' removed." for n in a if n not in b]
    out += [
        f"Buying-group role '{n}': who holds it changed (title levels, titles or departments)."
        for n in a
        if n in b and a[n] != b[n]
    ]
    return out


def _rule_changes(a: MqlRule, b: MqlRule) -> list[str]:
    out = []
    name = f"Rule '{a.name}'"
    if a.behaviour != b.behaviour:
        out.append(f"{name} behaviour: {_behaviour(a)} -> {_behaviour(b)}.")
    if a.attributes != b.attributes:
        for field, x, y in _fields(a.attributes, b.attributes):
            was, now = _attribute(field, x) or "not required", _attribute(field, y) or "not required"
            out.append(f"{name} attribute condition: {was} -> {now}.")
    if a.score_min != b.score_min:
        if a.score_min is None:
            out.append(f"{name} now also needs an engagement score of at least {b.score_min:g}.")
        elif b.score_min is None:
            out.append(f"{name} no longer needs a score (was at least {a.score_min:g}).")
        else:
            way = "raised" if b.score_min > a.score_min else "lowered"
            out.append(f"{name} score threshold {way}: {a.score_min:g} -> {b.score_min:g}.")
    if a.within_days != b.within_days:
        was = "the whole episode" if a.within_days is None else f"the last {a.within_days:g} days"
        now = "the whole episode" if b.within_days is None else f"the last {b.within_days:g} days"
        out.append(f"{name} behaviour counts from {was} -> {now}.")
    if a.next_checks != b.next_checks:
        out.append(f"{name} next checks for sales changed ({len(a.next_checks)} -> {len(b.next_checks)}).")
    if a.description != b.description:
        out.append(f"{name} description reworded.")
    return out


def _fit(old: Policy, new: Policy) -> list[str]:
    out = []
    for field, x, y in _fields(old.fit, new.fit):
        if field == "title_levels":
            x = [f"{lv.name}: {', '.join(lv.patterns)}" for lv in x]
            y = [f"{lv.name}: {', '.join(lv.patterns)}" for lv in y]
        elif field == "company_size_bands":
            x = [f"{b.name} {b.min}-{b.max or ''}" for b in x]
            y = [f"{b.name} {b.min}-{b.max or ''}" for b in y]
        out.append(f"Fit {field.replace('_', ' ')}: {_set_change(x, y)}.")
    return out


def _scoring(old: Policy, new: Policy) -> list[str]:
    out = []
    a, b = old.scoring, new.scoring
    if a.half_life_days != b.half_life_days:
        out.append(f"Score half-life: {a.half_life_days:g} -> {b.half_life_days:g} days.")
    for label, x, y in (("points", a.points, b.points), ("caps", a.caps, b.caps)):
        for key in sorted(x.keys() | y.keys()):
            if x.get(key) != y.get(key):
                out.append(f"Score {label} for {key}: {_value(x.get(key))} -> {_value(y.get(key))}.")
    if a.page_points != b.page_points:
        out.append(f"Page points: {_value(dict(a.page_points))} -> {_value(dict(b.page_points))}.")
    if old.topics != new.topics:
        out.append(f"Topics: {_set_change(sorted(old.topics), sorted(new.topics))}.")
    moved = sorted(k for k in old.assets.keys() | new.assets.keys() if old.assets.get(k) != new.assets.get(k))
    if moved or old.asset_paths != new.asset_paths:
        what = [f"{k} ({_value(old.assets.get(k))} -> {_value(new.assets.get(k))})" for k in moved[:10]]
        more = f" and {len(moved) - 10} more" if len(moved) > 10 else ""
        out.append(
            "Content-to-topic map changed: " + (", ".join(what) + more if what else "path patterns") + "."
        )
    return out


def _reasons(kind: str, old: tuple[ReasonCode, ...], new: tuple[ReasonCode, ...]) -> list[str]:
    a, b = {r.code: r.label for r in old}, {r.code: r.label for r in new}
    out = [f"{kind} reason '{c}' added ({b[c]})." for c in b if c not in a]
    out += [f"{kind} reason '{c}' removed ({a[c]})." for c in a if c not in b]
    out += [f"{kind} reason '{c}' relabelled: {a[c]!r} -> {b[c]!r}." for c in a if c in b and a[c] != b[c]]
    return out


def _behaviour(rule: MqlRule) -> str:
    text = describe_behaviour(rule.behaviour)
    return text + (f" with a score of at least {rule.score_min:g}" if rule.score_min is not None else "")


def _attributes(a: Any) -> str:
    parts = [_attribute(f.name, getattr(a, f.name)) for f in fields(a)]
    return "attributes: " + (", ".join(p for p in parts if p) or "none")


def _attribute(name: str, value: Any) -> str:
    """One attribute condition in words; empty when the rule does not use it."""
    if value in (None, False):
        return ""
    if name == "industry_is_target":
        return "industry in the target list"
    if name == "title_level_at_least":
        return f"title level {value} or above"
    return f"{name.removesuffix('_in').replace('_', ' ')} in {_value(value)}"


def _fields(a: Any, b: Any) -> list[tuple[str, Any, Any]]:
    return [
        (f.name, getattr(a, f.name), getattr(b, f.name))
        for f in fields(a)
        if getattr(a, f.name) != getattr(b, f.name)
    ]


def _set_change(x: Any, y: Any) -> str:
    if isinstance(x, list | tuple) and isinstance(y, list | tuple):
        added, removed = [v for v in y if v not in x], [v for v in x if v not in y]
        parts = ([f"added {', '.join(map(str, added))}"] if added else []) + (
            [f"removed {', '.join(map(str, removed))}"] if removed else []
        )
        return "; ".join(parts) or "reordered"
    return f"{_value(x)} -> {_value(y)}"


def _value(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, tuple | list):
        return "[" + ", ".join(map(str, v)) + "]"
    return str(v)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"

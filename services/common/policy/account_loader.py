"""The `accounts:` section (roles, extra free-mail domains) and `account_rules:` from YAML.

The seed's rule holds for accounts too: a score alone never qualifies. An account rule is refused
unless it has breadth (several engaged people) or role coverage (the right people) plus attributes of
the company; each refusal names its line.
"""

from __future__ import annotations

import re
from typing import Any

from .account_model import AccountPolicy, AccountRule, Engaged, Role, RoleCoverage, SharedTopic
from .attributes import normalise_industry
from .checks import Checker
from .condition_loader import ConditionReader
from .model import STANDARD_KINDS, Fit, Scoring
from .patterns import pattern_problem
from .reason_loader import read_reasons
from .rule_loader import named_rules

NO_BREADTH_OR_ROLES = (
    "an account rule needs breadth (at least N engaged people) or roles (which people: e.g. a "
    "decision_maker), plus attributes of the company; a score alone never makes an MQA"
)
NO_ACCOUNT_ATTRIBUTES = (
    "has no attribute condition: an MQA must say which company it is about (industry_in or "
    "company_size_in), not only who was active"
)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
_WHEN = {"engaged", "breadth", "roles", "shared_topic", "attributes", "score"}


def load_accounts(c: Checker, raw: Any, raw_rules: Any, **vocabulary: Any) -> AccountPolicy:
    m = c.mapping(
        raw if raw is not None else {}, "accounts", allowed={"roles", "free_mail_domains", "reasons"}
    )
    roles = _roles(c, m.get("roles"), vocabulary["fit"]) if m and "roles" in m else ()
    domains: list[str] = []
    if m and "free_mail_domains" in m:
        for i, d in enumerate(c.texts(m["free_mail_domains"], "accounts.free_mail_domains") or []):
            domain = d.lower().rstrip(".")
            if _DOMAIN.match(domain):
                domains.append(domain)
            else:
                c.error(f"accounts.free_mail_domains[{i}]", f"{d!r} is not a domain such as example.co.jp")
    rules = _rules(c, raw_rules, roles, **vocabulary) if raw_rules is not None else ()
    sql, not_sql = read_reasons(c, m["reasons"], "accounts.reasons") if m and "reasons" in m else ((), ())
    return AccountPolicy(
        roles=roles,
        free_mail_domains=tuple(domains),
        rules=rules,
        sql_reasons=sql or (),
        not_sql_reasons=not_sql,
    )


def _roles(c: Checker, raw: Any, fit: Fit) -> tuple[Role, ...]:
    if not isinstance(raw, dict) or not raw:
        c.error(
            "accounts.roles", "must map each buying-group role to its title levels, titles or departments"
        )
        return ()
    levels = [lv.name for lv in fit.title_levels]
    out = []
    for name, body in raw.items():
        path = f"accounts.roles.{name}"
        if not _NAME.match(str(name)):
            c.error(path, f"role name {name!r} must be lower_snake_case")
            continue
        m = c.mapping(body, path, allowed={"label", "title_levels", "titles", "departments"})
        if m is None:
            continue
        if not {"title_levels", "titles", "departments"} & set(m):
            c.error(path, "must say who holds the role: title_levels, titles (patterns) or departments")
            continue
        label = c.label(m["label"], f"{path}.label") if "label" in m else str(name).replace("_", " ")
        lv = c.texts(m["title_levels"], f"{path}.title_levels") if "title_levels" in m else []
        ok = lv is not None and all(
            c.member(x, levels, "title level", f"{path}.title_levels[{i}]") for i, x in enumerate(lv)
        )
        titles = c.texts(m["titles"], f"{path}.titles") if "titles" in m else []
        for i, pattern in enumerate(titles or []):
            if (problem := pattern_problem(pattern)) is not None:
                c.error(f"{path}.titles[{i}]", problem)
                ok = False
        departments = c.texts(m["departments"], f"{path}.departments") if "departments" in m else []
        if not ok or titles is None or departments is None or label is None:
            continue
        out.append(
            Role(
                name=str(name),
                label=label,
                title_levels=tuple(lv or ()),
                titles=tuple(titles),
                departments=tuple(normalise_industry(d) or d for d in departments),
            )
        )
    return tuple(out)


def _rules(c: Checker, raw: Any, roles: tuple[Role, ...], **vocabulary: Any) -> tuple[AccountRule, ...]:
    if not isinstance(raw, list):
        c.error("account_rules", "must be a list of named account rules")
        return ()
    out: list[AccountRule] = []
    for path, name, m, description, checks in named_rules(c, raw, "account_rules", "account rule"):
        rule = _when(c, m.get("when"), f"{path}.when", name, roles, vocabulary) if "when" in m else None
        if rule is None or name is None or description is None or checks is None:
            continue
        out.append(AccountRule(name=name, description=description, next_checks=tuple(checks), **rule))
    return tuple(out)


def _when(
    c: Checker, raw: Any, path: str, name: str | None, roles: tuple[Role, ...], vocabulary: dict[str, Any]
) -> dict[str, Any] | None:
    when = c.mapping(raw, path, allowed=_WHEN, required={"engaged"}, rule=name)
    if when is None:
        return None
    ok = True
    if "breadth" not in when and "roles" not in when:
        c.error(path, NO_BREADTH_OR_ROLES, name)
        ok = False
    if "attributes" not in when:
        c.error(path, NO_ACCOUNT_ATTRIBUTES, name)
        ok = False
    engaged = (
        _engaged(c, when["engaged"], f"{path}.engaged", name, vocabulary["scoring"])
        if "engaged" in when
        else None
    )
    breadth = None
    if "breadth" in when:
        b = c.mapping(
            when["breadth"], f"{path}.breadth", allowed={"min_members"}, required={"min_members"}, rule=name
        )
        breadth = (
            c.count(b["min_members"], f"{path}.breadth.min_members", name)
            if b and "min_members" in b
            else None
        )
        ok = ok and breadth is not None
    coverage = _coverage(c, when["roles"], f"{path}.roles", name, roles) if "roles" in when else None
    shared = (
        _shared(c, when["shared_topic"], f"{path}.shared_topic", name, vocabulary)
        if "shared_topic" in when
        else None
    )
    attributes = None
    if "attributes" in when:
        raw_attrs = when["attributes"]
        if isinstance(raw_attrs, dict) and "title_level_at_least" in raw_attrs:
            c.error(
                f"{path}.attributes.title_level_at_least",
                "an account has no title: say which people with roles",
                name,
            )
            ok = False
        else:
            attributes = ConditionReader(c, name, **vocabulary).attributes(raw_attrs, f"{path}.attributes")
    score_min = None
    if "score" in when:
        s = c.mapping(when["score"], f"{path}.score", allowed={"min"}, required={"min"}, rule=name)
        score_min = c.number(s["min"], f"{path}.score.min", rule=name) if s and "min" in s else None
        ok = ok and score_min is not None
    ok = (
        ok
        and ("roles" not in when or coverage is not None)
        and ("shared_topic" not in when or shared is not None)
    )
    if not ok or engaged is None or attributes is None:
        return None
    return {
        "engaged": engaged,
        "attributes": attributes,
        "breadth": breadth,
        "roles": coverage,
        "shared_topic": shared,
        "score_min": score_min,
    }


def _engaged(c: Checker, raw: Any, path: str, name: str | None, scoring: Scoring) -> Engaged | None:
    m = c.mapping(
        raw, path, allowed={"within_days", "kinds", "score_min"}, required={"within_days"}, rule=name
    )
    if m is None or "within_days" not in m:
        return None
    days = c.number(m["within_days"], f"{path}.within_days", strict=True, rule=name)
    if days is not None and days > 365:
        c.error(f"{path}.within_days", "at most 365 days: a buying group is active now, not over years", name)
        days = None
    kinds = None
    if "kinds" in m:
        known = [*STANDARD_KINDS, *sorted(scoring.custom_events)]
        listed = c.texts(m["kinds"], f"{path}.kinds", name)
        if listed is None or not all(
            c.member(k, known, "activity kind", f"{path}.kinds[{i}]", name) for i, k in enumerate(listed)
        ):
            return None
        kinds = tuple(listed)
    score = c.number(m["score_min"], f"{path}.score_min", rule=name) if "score_min" in m else None
    if days is None or ("score_min" in m and score is None):
        return None
    return Engaged(within_days=days, kinds=kinds, score_min=score)


def _coverage(
    c: Checker, raw: Any, path: str, name: str | None, roles: tuple[Role, ...]
) -> RoleCoverage | None:
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in ("any_of", "all_of"):
        c.error(path, "must be {any_of: [roles]} or {all_of: [roles]}", name)
        return None
    ((mode, listed),) = raw.items()
    items = c.texts(listed, f"{path}.{mode}", name)
    known = [r.name for r in roles]
    if items is None or not all(
        c.member(r, known, "role (define it under accounts.roles)", f"{path}.{mode}[{i}]", name)
        for i, r in enumerate(items)
    ):
        return None
    return RoleCoverage(mode=mode, roles=tuple(items))


def _shared(
    c: Checker, raw: Any, path: str, name: str | None, vocabulary: dict[str, Any]
) -> SharedTopic | None:
    m = c.mapping(raw, path, allowed={"min_members", "topics"}, required={"min_members"}, rule=name)
    if m is None or "min_members" not in m:
        return None
    n = c.count(m["min_members"], f"{path}.min_members", name)
    reader = ConditionReader(c, name, **vocabulary)
    ok, topics = reader.topic_list(m["topics"], f"{path}.topics") if "topics" in m else (True, None)
    return SharedTopic(min_members=n, topics=topics) if n is not None and ok else None

"""Named MQL rules from YAML, refused unless they combine behaviour content with attributes.

The seed's point: "score >= N means MQL" mass-produces leads whose background is invisible. A rule must
say what the lead read or attended (behaviour) and who the lead is (attributes); the score may only add.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from .checks import Checker
from .condition_loader import NO_ATTRIBUTES, ConditionReader
from .model import AllOf, AnyOf, Behaviour, MqlRule, PageVisited

SCORE_ALONE = (
    "a rule on score alone is refused: a score is one input; it cannot replace a sales judgement. "
    "Add a behaviour condition (what the lead read or attended, on which topic) and an attribute "
    "condition (industry, title level, company size)"
)
NO_BEHAVIOUR = (
    "has no behaviour condition: an MQL must say what the lead read or attended, on which topic "
    "(a score is one input; it cannot replace a sales judgement)"
)
WHEN_KEYS = {"behaviour", "attributes", "score", "within_days"}
MAX_WITHIN_DAYS = 3660  # ten years: a longer window is the whole history
PAGES_ALONE = (
    "page views alone cannot make an MQL: combine page_visited with a download, seminar, form or "
    "named event using all_of"
)


class NamedRule(NamedTuple):
    """One entry of a rule list with the parts every rule has; `when` is read by its own loader."""

    path: str
    name: str | None
    body: dict[str, Any]
    description: str | None
    next_checks: list[str] | None


def named_rules(c: Checker, raw: list[Any], section: str, what: str) -> Iterator[NamedRule]:
    names: set[str] = set()
    for i, item in enumerate(raw):
        path = f"{section}[{i}]"
        name = item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) else None
        m = c.mapping(
            item,
            path,
            allowed={"name", "description", "when", "next_checks"},
            required={"name", "description", "when", "next_checks"},
            rule=name,
        )
        if m is None:
            continue
        if name in names:
            c.error(f"{path}.name", f"{what} name is used twice", name)
        names.add(name or "")
        description = c.label(m.get("description"), f"{path}.description", name)
        checks = c.labels(m.get("next_checks"), f"{path}.next_checks", name)
        yield NamedRule(path, name, m, description, checks)


def load_rules(c: Checker, raw: Any, **vocabulary: Any) -> tuple[MqlRule, ...]:
    if not isinstance(raw, list) or not raw:
        c.error("rules", "must be a non-empty list of named MQL rules")
        return ()
    rules: list[MqlRule] = []
    for path, name, m, description, checks in named_rules(c, raw, "rules", "rule"):
        r = ConditionReader(c, name, **vocabulary)
        when = c.mapping(m.get("when"), f"{path}.when", allowed=WHEN_KEYS, rule=name) if "when" in m else None
        if when is None:
            continue
        if "behaviour" not in when and "attributes" not in when:
            r.err(f"{path}.when", SCORE_ALONE if "score" in when else NO_BEHAVIOUR)
            continue
        if "behaviour" not in when:
            r.err(f"{path}.when", NO_BEHAVIOUR)
        if "attributes" not in when:
            r.err(f"{path}.when", NO_ATTRIBUTES)
        behaviour = r.behaviour(when["behaviour"], f"{path}.when.behaviour") if "behaviour" in when else None
        if behaviour is not None and _pages_suffice(behaviour):
            r.err(f"{path}.when.behaviour", PAGES_ALONE)
            behaviour = None
        attributes = (
            r.attributes(when["attributes"], f"{path}.when.attributes") if "attributes" in when else None
        )
        score_min = None
        if "score" in when:
            s = c.mapping(when["score"], f"{path}.when.score", allowed={"min"}, required={"min"}, rule=name)
            if s and "min" in s:
                score_min = c.number(s["min"], f"{path}.when.score.min", rule=name)
        within_days = None
        if "within_days" in when:
            within_days = c.number(when["within_days"], f"{path}.when.within_days", strict=True, rule=name)
            if within_days is not None and within_days > MAX_WITHIN_DAYS:
                r.err(f"{path}.when.within_days", f"must be at most {MAX_WITHIN_DAYS} days")
                within_days = None
        if name is None or description is None or checks is None or behaviour is None or attributes is None:
            continue
        rules.append(
            MqlRule(
                name=name,
                description=description,
                behaviour=behaviour,
                attributes=attributes,
                score_min=score_min,
                next_checks=tuple(checks),
                within_days=within_days,
            )
        )
    return tuple(rules)


def _pages_suffice(b: Behaviour) -> bool:
    if isinstance(b, PageVisited):
        return True
    if isinstance(b, AnyOf):
        return any(_pages_suffice(x) for x in b.conditions)
    if isinstance(b, AllOf):
        return all(_pages_suffice(x) for x in b.conditions)
    return False

"""The candidate edits of the account rules (MQA), one rule at a time, bounded in number. Pure.

As for lead rules (`candidates.py`, whose industry and size edits these reuse): each edit keeps the
rule's breadth, roles and company attributes, or retires the rule; a summed score floor is only ever
added beside them. Every candidate is the baseline's text patched under `account_rules:` and loaded by
the policy loader, which refuses an account rule without breadth or roles, or without attributes.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from services.common.policy import Policy

from .candidates import Candidate, Change, Edit, _industry, _size, admitted
from .patch import bump_version, rule_when

MAX_PER_RULE = 16
ENGAGED_DAYS = (14,)  # a window offered to a rule that counts members engaged over more than this


def account_candidates(text: str, policy: Policy, *, rules: tuple[str, ...] | None = None) -> list[Candidate]:
    """Every admissible edit of the named account rules (default: all), at most MAX_PER_RULE per rule."""
    patched, version = bump_version(text)
    out: list[Candidate] = []
    for rule in policy.accounts.rules:
        if rules is None or rule.name in rules:
            edits = _edits(rule_when(text, rule.name, "account_rules"), policy)
            out += admitted(patched, version, rule.name, edits, limit=MAX_PER_RULE, subject="account")
    return out


def _edits(when: dict[str, Any], policy: Policy) -> Iterator[Edit]:
    yield from _roles(when, policy)
    yield from _breadth(when)
    yield from _shared_topic(when)
    yield from _industry(when, policy)
    yield from _size(when, policy)
    yield from _window(when)
    yield from _score(when, policy)
    if len(policy.accounts.rules) > 1:
        yield "retire", Change("retire", {}), None


def _roles(when: dict[str, Any], policy: Policy) -> Iterator[Edit]:
    """Require one role: alone when the rule names none, narrowed to it from an `any_of`, or added to an
    `all_of`."""
    current = when.get("roles")
    mode, listed = next(iter(current.items())) if isinstance(current, dict) and current else (None, [])
    listed = list(listed or [])
    for role in (r.name for r in policy.accounts.roles):
        if mode is None:
            roles: dict[str, Any] = {"any_of": [role]}
        elif mode == "any_of" and role in listed and len(listed) > 1:
            roles = {"any_of": [role]}
        elif mode == "all_of" and role not in listed:
            roles = {"all_of": [*listed, role]}
        else:
            continue
        new = copy.deepcopy(when)
        new["roles"] = roles
        yield "require_role", Change("require_role", {"role": role}), new


def _breadth(when: dict[str, Any]) -> Iterator[Edit]:
    current = (when.get("breadth") or {}).get("min_members")
    n = int(current) if current else 1
    new = copy.deepcopy(when)
    new["breadth"] = {"min_members": n + 1}
    yield "raise_breadth", Change("raise_min_members", {"min": n + 1, "was": n}), new


def _shared_topic(when: dict[str, Any]) -> Iterator[Edit]:
    current = (when.get("shared_topic") or {}).get("min_members")
    n = int(current) + 1 if current else 2
    new = copy.deepcopy(when)
    new["shared_topic"] = {**(when.get("shared_topic") or {}), "min_members": n}
    yield "shared_topic", Change("require_shared_topic", {"min": n}), new


def _window(when: dict[str, Any]) -> Iterator[Edit]:
    engaged = dict(when.get("engaged") or {})
    current = float(engaged.get("within_days") or 0)
    for days in (*ENGAGED_DAYS, round(current / 2, 1)):
        if 1 <= days < current:
            new = copy.deepcopy(when)
            new["engaged"] = {**engaged, "within_days": days}
            yield "shorten_window", Change("shorten_engagement_window", {"days": days, "was": current}), new
            return


def _score(when: dict[str, Any], policy: Policy) -> Iterator[Edit]:
    current = (when.get("score") or {}).get("min")
    unit = policy.scoring.points.get("content_download") or 10
    for floor in [current * 1.5, current * 2] if current else [unit * 2, unit * 4]:
        new = copy.deepcopy(when)
        new["score"] = {"min": round(float(floor))}
        yield "score_floor", Change("account_score_floor", {"min": round(float(floor))}), new

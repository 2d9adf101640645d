"""Accounts in the policy as frozen values: buying-group roles and account rules (MQA).

An account (a company) is qualified the way a lead is, from what its people did and who they are,
never from a score alone: every account rule needs breadth (several engaged people) or role coverage
(the right people) plus attributes of the company. `account_loader.py` builds these from YAML.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from .conditions_model import Attributes, ReasonCode
from .patterns import Matcher, title_matcher


@dataclass(frozen=True, kw_only=True)
class Role:
    """A buying-group role (`decision_maker`, `budget_holder`...): a member holds it when their title
    level is listed, their title matches a pattern, or their department is listed."""

    name: str
    label: str
    title_levels: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()  # case-insensitive RE2 patterns, as fit.title_levels
    departments: tuple[str, ...] = ()  # normalised as industries are ("Finance & Legal" -> finance_legal)

    @cached_property
    def title_matches(self) -> Matcher | None:
        return title_matcher(self.titles) if self.titles else None


@dataclass(frozen=True, kw_only=True)
class Engaged:
    """What "engaged" means for one rule: behaviour within the window, optionally a score floor."""

    within_days: float
    kinds: tuple[str, ...] | None = None  # None: any behaviour but a plain page view
    score_min: float | None = None


@dataclass(frozen=True, kw_only=True)
class RoleCoverage:
    mode: Literal["any_of", "all_of"]
    roles: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SharedTopic:
    min_members: int
    topics: tuple[str, ...] | None = None  # None: any one topic


@dataclass(frozen=True, kw_only=True)
class AccountRule:
    name: str
    description: str
    engaged: Engaged
    attributes: Attributes
    breadth: int | None = None  # at least this many engaged members
    roles: RoleCoverage | None = None
    shared_topic: SharedTopic | None = None
    score_min: float | None = None  # summed over the engaged members
    next_checks: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AccountPolicy:
    roles: tuple[Role, ...] = ()
    free_mail_domains: tuple[str, ...] = ()  # added to the shipped list (free_mail.py)
    rules: tuple[AccountRule, ...] = ()
    # reason codes for decisions on MQAs; empty: the MQL reason codes serve (Policy.account_reason_codes)
    sql_reasons: tuple[ReasonCode, ...] = ()
    not_sql_reasons: tuple[ReasonCode, ...] = ()

    def rule(self, name: str) -> AccountRule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def role(self, name: str) -> Role:
        for role in self.roles:
            if role.name == name:
                return role
        raise KeyError(name)


NO_ACCOUNTS = AccountPolicy()

"""Who belongs to which account, and each member as the account rules see them.

An account is Segment's group: the latest `group` call of a lead names it. Without one, the company
domain of the lead's email does (`domain:acme.co.jp`), unless it is a free-mail or ISP domain: those
people belong to no account. Both are functions of the lead's state, so stitching (which merges the
state) carries the account along and a later group call moves the lead, history and all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from .account_model import Role
from .free_mail import email_domain, is_free_mail
from .lead import Evidence, LeadState, Stage, as_stage
from .model import Policy
from .scoring import Decayed

MAX_MEMBER_SIGNALS = 20  # newest behaviour evidence kept per member: enough for any window's proof
# attribute groups an account takes from its members (group traits first, see `account_attributes`)
COMPANY_GROUPS = ("group", "company", "industry", "company_size")
AccountSource = Literal["group", "domain"]


@dataclass(frozen=True, kw_only=True)
class Membership:
    account_id: str
    source: AccountSource


def membership(state: LeadState, policy: Policy) -> Membership | None:
    """The account of a lead: its group call's id, else its email's company domain, else none."""
    group_id = state.attributes.get("group_id")
    if isinstance(group_id, str) and group_id:
        return Membership(account_id=group_id, source="group")
    if not state.email:
        return None
    return _by_domain(state.email, policy.accounts.free_mail_domains)


# The fold asks once per event; people are few and keep their email and title: remembered (bounded).
@lru_cache(maxsize=65536)
def _by_domain(email: str, free_mail: tuple[str, ...]) -> Membership | None:
    domain = email_domain(email)
    if domain is None or is_free_mail(domain, free_mail):
        return None
    return Membership(account_id=f"domain:{domain}", source="domain")


def roles_of(attributes: dict[str, Any], policy: Policy) -> tuple[str, ...]:
    """Every buying-group role the member's title level, title or department gives, in policy order."""
    level, title, department = (attributes.get(k) for k in ("title_level", "title", "department"))
    return _roles(policy.accounts.roles, level, title if isinstance(title, str) else None, department)


@lru_cache(maxsize=65536)
def _roles(roles: tuple[Role, ...], level: Any, title: str | None, department: Any) -> tuple[str, ...]:
    out = []
    for role in roles:
        if (
            (level is not None and level in role.title_levels)
            or (department is not None and department in role.departments)
            or (title is not None and role.title_matches is not None and role.title_matches(title))
        ):
            out.append(role.name)
    return tuple(out)


@dataclass(frozen=True, kw_only=True)
class Member:
    """One person of an account, as its rules see them: a snapshot of their lead state."""

    lead_id: str
    email: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)  # name, title, title_level, company...
    attribute_sources: dict[str, Evidence] = field(default_factory=dict)  # company groups only
    roles: tuple[str, ...] = ()
    scores: dict[str, Decayed] = field(default_factory=dict)
    signals: tuple[Evidence, ...] = ()  # newest MAX_MEMBER_SIGNALS behaviour signals, by time
    last_activity_at: datetime | None = None
    stage: Stage = "anonymous"
    episode: int = 0

    def to_dict(self, when: Callable[[datetime], Any] = datetime.isoformat) -> dict[str, Any]:
        return {
            "lead_id": self.lead_id,
            "email": self.email,
            "attributes": dict(self.attributes),
            "attribute_sources": {k: e.to_dict(when) for k, e in self.attribute_sources.items()},
            "roles": list(self.roles),
            "scores": {k: [d.value, when(d.as_of)] for k, d in self.scores.items()},
            "signals": [e.to_dict(when) for e in self.signals],
            "last_activity_at": when(self.last_activity_at) if self.last_activity_at else None,
            "stage": self.stage,
            "episode": self.episode,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Member:
        last = d.get("last_activity_at")
        return cls(
            lead_id=d["lead_id"],
            email=d.get("email"),
            attributes=dict(d.get("attributes") or {}),
            attribute_sources={
                k: Evidence.from_dict(v) for k, v in (d.get("attribute_sources") or {}).items()
            },
            roles=tuple(d.get("roles") or ()),
            scores={
                k: Decayed(v[0], datetime.fromisoformat(v[1])) for k, v in (d.get("scores") or {}).items()
            },
            signals=tuple(Evidence.from_dict(e) for e in d.get("signals") or ()),
            last_activity_at=datetime.fromisoformat(last) if last else None,
            stage=as_stage(d.get("stage", "anonymous")),
            episode=int(d.get("episode", 0)),
        )


def member_from_lead(state: LeadState, policy: Policy) -> Member:
    behaviour = tuple(s for s in state.signals if s.kind != "page_view" or s.topic is not None)
    return Member(
        lead_id=state.lead_id,
        email=state.email,
        attributes=dict(state.attributes),
        attribute_sources={k: e for k, e in state.attribute_sources.items() if k in COMPANY_GROUPS},
        roles=roles_of(state.attributes, policy),
        scores=dict(state.scores),
        signals=behaviour[-MAX_MEMBER_SIGNALS:],
        last_activity_at=state.last_activity_at,
        stage=state.stage,
        episode=state.episode,
    )


AccountStage = Literal["open", "mqa", "sql", "rejected", "recycled"]


@dataclass(frozen=True, kw_only=True)
class AccountState:
    """An account's own state (its MQA episodes and the decision on the last one) and its members."""

    account_id: str
    members: tuple[Member, ...] = ()
    stage: AccountStage = "open"
    episode: int = 0
    mqa_at: datetime | None = None
    decided_at: datetime | None = None

    def attributes(self) -> tuple[dict[str, Any], dict[str, Evidence]]:
        return account_attributes(self.members)


_GROUP_KEYS = {
    "group": ("group_id", "group_plan", "group_domain"),
    "company": ("company",),
    "industry": ("industry",),
    "company_size": ("company_size", "company_size_band"),
}


def account_attributes(members: tuple[Member, ...]) -> tuple[dict[str, Any], dict[str, Evidence]]:
    """The company as its members' traits describe it: per attribute group, a group call's traits
    first, else the members' identify traits; the latest of those wins (order-independent)."""
    attributes, sources, _ = describe_company(members)
    return attributes, sources


def describe_company(
    members: tuple[Member, ...],
) -> tuple[dict[str, Any], dict[str, Evidence], dict[str, str]]:
    """`account_attributes`, and per attribute group the lead whose traits it takes (the group's holder).
    Any set of members that holds the holders (with the most recently active, `by_recency`) describes
    the account as all of them do: the qualifier reads a large account's members that far, not whole
    (account_store.py)."""
    attributes: dict[str, Any] = {}
    sources: dict[str, Evidence] = {}
    holders: dict[str, str] = {}
    for group, keys in _GROUP_KEYS.items():
        best: tuple[Member, Evidence] | None = None
        for m in members:
            source = m.attribute_sources.get(group)
            if source is not None and (best is None or company_key(source) > company_key(best[1])):
                best = m, source  # the first of equals stays, as `max` keeps it
        if best is not None:
            member, source = best
            attributes.update({k: member.attributes.get(k) for k in keys})
            sources[group] = source
            holders[group] = member.lead_id
    return attributes, sources, holders


def company_key(source: Evidence) -> tuple[bool, tuple[datetime, str]]:
    """How a member's source of an attribute group ranks: a group call's first, then the latest."""
    return source.kind == "group", source.sort_key


def recency_key(member: Member) -> tuple[bool, datetime | None]:
    """The order in which the account rules read members (`by_recency`)."""
    return member.last_activity_at is None, member.last_activity_at


def by_recency(members: tuple[Member, ...] | list[Member]) -> list[Member]:
    """Members most recently active first (those with no activity at all before them), ties in the
    order given (lead id order in an `AccountState`): what the account rules read, the first
    `MAX_MEMBERS_EVALUATED` of them. The qualifier's store reads the same order from PostgreSQL
    (`ORDER BY last_activity_at DESC, lead_id`: NULLS FIRST is PostgreSQL's default for DESC)."""
    return sorted(members, key=recency_key, reverse=True)

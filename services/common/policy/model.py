"""The policy as frozen values: what sales and marketing agreed, checked once at load.

Nothing here reads files or the clock; `loader.py` builds these from YAML text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from .account_model import NO_ACCOUNTS, AccountPolicy
from .business_hours import BusinessHours
from .conditions_model import Attributes, ReasonCode
from .patterns import Matcher, glob_matcher, title_matcher

# Activity kinds the core knows without the policy naming them.
STANDARD_KINDS = ("page_view", "content_download", "seminar_registered", "seminar_attended", "form_submitted")

OUTCOMES = ("sql", "rejected", "recycled")


class Label(str):
    """Words the policy gives in one or more languages (`{ja: 予算なし, en: No budget}`).

    It is the English (else the first given) text wherever a plain string is expected, so every reader
    that predates languages keeps working; `in_language` picks a language, falling back the same way.
    """

    texts: dict[str, str]

    def __new__(cls, texts: dict[str, str]) -> Label:
        label = super().__new__(cls, texts.get("en") or next(iter(texts.values())))
        label.texts = dict(texts)
        return label

    def __getnewargs__(self) -> tuple[dict[str, str]]:  # type: ignore[override]
        # pickled into the lab's simulation workers: rebuilt from the texts, not from the one string
        return (self.texts,)

    def in_language(self, language: str) -> str:
        return self.texts.get(language) or str(self)

    def missing(self, languages: tuple[str, ...]) -> list[str]:
        return [lang for lang in languages if lang not in self.texts]


def in_language(text: str, language: str) -> str:
    """A policy text in `language`; a plain string (one language only) is returned as it is."""
    return text.in_language(language) if isinstance(text, Label) else text


@dataclass(frozen=True, kw_only=True)
class PolicyIssue:
    line: int
    path: str
    message: str
    rule: str | None = None

    def describe(self, source: str) -> str:
        where = self.path or "<root>"
        if self.rule is not None:
            head, _, rest = where.partition(".")
            where = f"{head} {self.rule!r}" + (f": {rest}" if rest else "")
        return f"{source}:{self.line}: {where}: {self.message}"


class PolicyError(ValueError):
    """A policy that cannot be used; one issue per problem, each naming its line."""

    def __init__(self, issues: list[PolicyIssue], source: str = "<policy>") -> None:
        self.issues = list(issues)
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(issue.describe(self.source) for issue in self.issues)


@dataclass(frozen=True, kw_only=True)
class Scoring:
    half_life_days: float
    points: dict[str, float]
    caps: dict[str, float]
    page_points: tuple[tuple[str, float], ...]  # (path glob, points), first match wins

    # cached_property (computed once per policy, kept in the instance's __dict__): read on every event
    @cached_property
    def custom_events(self) -> frozenset[str]:
        return frozenset(k for k in self.points if k not in STANDARD_KINDS)

    @cached_property
    def page_point_matchers(self) -> tuple[tuple[Matcher, float], ...]:
        return tuple((glob_matcher(g), points) for g, points in self.page_points)


@dataclass(frozen=True, kw_only=True)
class TitleLevel:
    name: str
    patterns: tuple[str, ...]  # case-insensitive regular expressions (RE2 syntax: patterns.py)


@dataclass(frozen=True, kw_only=True)
class SizeBand:
    name: str
    min: int
    max: int | None  # None: no upper bound


@dataclass(frozen=True, kw_only=True)
class Fit:
    industries: tuple[str, ...]  # the known vocabulary; empty means "any value accepted"
    target_industries: tuple[str, ...]
    title_levels: tuple[TitleLevel, ...]  # lowest first
    company_size_bands: tuple[SizeBand, ...]

    def level_rank(self, level: str | None) -> int:
        return self._ranks.get(level, -1) if isinstance(level, str) else -1

    @cached_property
    def _ranks(self) -> dict[str, int]:
        ranks: dict[str, int] = {}
        for i, lv in enumerate(self.title_levels):
            ranks.setdefault(lv.name, i)  # `list.index`: the first level of that name
        return ranks

    @cached_property
    def compiled_levels(self) -> tuple[tuple[str, Matcher], ...]:
        """Highest level first, each with its patterns compiled into one (case-insensitive) search."""
        return tuple((lv.name, title_matcher(lv.patterns)) for lv in reversed(self.title_levels))


# Behaviour conditions: what the lead did, on which content. `topics=None` means any topic.
@dataclass(frozen=True, kw_only=True)
class SeminarCondition:
    kind: Literal["seminar_attended", "seminar_registered"]
    topics: tuple[str, ...] | None = None
    min: int = 1


@dataclass(frozen=True, kw_only=True)
class DownloadsOnOneTopic:
    min: int
    topics: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class ContentDownloaded:
    assets: tuple[str, ...] | None = None
    topics: tuple[str, ...] | None = None
    min: int = 1


@dataclass(frozen=True, kw_only=True)
class PageVisited:
    paths: tuple[str, ...]
    min: int = 1

    @cached_property
    def matches(self) -> Matcher:
        """Whether a path matches any of `paths` (globs), compiled once per policy."""
        return glob_matcher(self.paths)


@dataclass(frozen=True, kw_only=True)
class FormSubmitted:
    forms: tuple[str, ...] | None = None
    min: int = 1


@dataclass(frozen=True, kw_only=True)
class NamedEvent:
    name: str
    min: int = 1


@dataclass(frozen=True, kw_only=True)
class AnyOf:
    conditions: tuple[Behaviour, ...]


@dataclass(frozen=True, kw_only=True)
class AllOf:
    conditions: tuple[Behaviour, ...]


Behaviour = (
    SeminarCondition
    | DownloadsOnOneTopic
    | ContentDownloaded
    | PageVisited
    | FormSubmitted
    | NamedEvent
    | AnyOf
    | AllOf
)


@dataclass(frozen=True, kw_only=True)
class MqlRule:
    name: str
    description: str
    behaviour: Behaviour
    attributes: Attributes
    score_min: float | None = None
    next_checks: tuple[str, ...] = ()
    # Recency: only behaviour in the last `within_days` days counts for this rule (None: the whole
    # episode). Attributes and the score still use the whole history.
    within_days: float | None = None


@dataclass(frozen=True, kw_only=True)
class Sla:
    decision_hours: float = 48
    due_soon_hours: float = 8
    business_hours: BusinessHours | None = None  # None: the hours are clock hours


@dataclass(frozen=True, kw_only=True)
class Recycle:
    # Qualifying behaviour must happen this long after a recycled/rejected decision.
    min_days_after_decision: float = 0
    allow_after_rejected: bool = True


@dataclass(frozen=True, kw_only=True)
class Policy:
    version: str
    scoring: Scoring
    topics: dict[str, str]  # id -> label
    assets: dict[str, str]  # asset/seminar/form id -> topic
    asset_paths: tuple[tuple[str, str], ...]  # (path glob, topic), first match wins
    fit: Fit
    rules: tuple[MqlRule, ...]
    sql_reasons: tuple[ReasonCode, ...]
    not_sql_reasons: tuple[ReasonCode, ...]
    sla: Sla = field(default_factory=Sla)
    recycle: Recycle = field(default_factory=Recycle)
    accounts: AccountPolicy = NO_ACCOUNTS  # buying-group roles and account rules (MQA)

    @cached_property
    def asset_path_matchers(self) -> tuple[tuple[Matcher, str], ...]:
        return tuple((glob_matcher(g), topic) for g, topic in self.asset_paths)

    @cached_property
    def notable_page(self) -> Matcher:
        """Whether a path matches any of `notable_page_globs` (one regular expression)."""
        return glob_matcher(self.notable_page_globs)

    @cached_property
    def notable_page_globs(self) -> tuple[str, ...]:
        """Path globs the policy cares about (page points and page_visited conditions): a page view on
        one of them is kept as evidence."""
        globs = [g for g, _ in self.scoring.page_points]
        for rule in self.rules:
            globs.extend(_page_globs(rule.behaviour))
        return tuple(globs)

    def rule(self, name: str) -> MqlRule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def reason_codes(self, outcome: str) -> tuple[ReasonCode, ...]:
        """Valid reason codes for a sales decision outcome (`sql`, `rejected`, `recycled`)."""
        if outcome == "sql":
            return self.sql_reasons
        if outcome in ("rejected", "recycled"):
            return self.not_sql_reasons
        return ()

    def account_reason_codes(self, outcome: str) -> tuple[ReasonCode, ...]:
        """Valid reason codes for a decision on an MQA: the accounts' own, else the MQL ones."""
        own = self.accounts.sql_reasons if outcome == "sql" else self.accounts.not_sql_reasons
        if outcome not in OUTCOMES:
            return ()
        return own or self.reason_codes(outcome)


def _page_globs(b: Behaviour) -> list[str]:
    if isinstance(b, PageVisited):
        return list(b.paths)
    if isinstance(b, AnyOf | AllOf):
        return [g for c in b.conditions for g in _page_globs(c)]
    return []

"""Reading one rule's behaviour and attribute conditions, checked against the policy's vocabulary."""

from __future__ import annotations

from typing import Any

from .checks import Checker
from .lead import MAX_SIGNALS_PER_KIND
from .model import (
    AllOf,
    AnyOf,
    Attributes,
    Behaviour,
    ContentDownloaded,
    DownloadsOnOneTopic,
    Fit,
    FormSubmitted,
    NamedEvent,
    PageVisited,
    Scoring,
    SeminarCondition,
)
from .patterns import pattern_problem

NO_ATTRIBUTES = (
    "has no attribute condition: an MQL must say who the lead is (industry_in, title_level_at_least "
    "or company_size_in), not only what they did"
)
BEHAVIOURS = (
    "seminar_attended",
    "seminar_registered",
    "downloads_on_one_topic",
    "content_downloaded",
    "page_visited",
    "form_submitted",
    "event",
    "any_of",
    "all_of",
)
ATTRIBUTES = ("industry_in", "title_level_at_least", "company_size_in")


class ConditionReader:
    def __init__(
        self,
        c: Checker,
        rule: str | None,
        *,
        topics: dict[str, str],
        assets: dict[str, str],
        fit: Fit,
        scoring: Scoring,
    ) -> None:
        self.c, self.rule = c, rule
        self.topics, self.assets, self.fit, self.scoring = topics, assets, fit, scoring

    def err(self, path: str, message: str) -> None:
        self.c.error(path, message, self.rule)

    def topic_list(self, value: Any, path: str) -> tuple[bool, tuple[str, ...] | None]:
        """(valid, topics); topics None means `any`."""
        if value == "any":
            return True, None
        items = self.c.texts(value, path, self.rule)
        if items is None:
            return False, None
        ok = all(
            self.c.member(t, list(self.topics), "topic", f"{path}[{i}]", self.rule)
            for i, t in enumerate(items)
        )
        return ok, tuple(items)

    def behaviour(self, raw: Any, path: str) -> Behaviour | None:
        if not isinstance(raw, dict) or len(raw) != 1:
            self.err(
                path,
                "must name exactly one condition (combine several with any_of / all_of); "
                f"known: {', '.join(BEHAVIOURS)}",
            )
            return None
        ((kind, body),) = raw.items()
        sub = f"{path}.{kind}"
        if kind not in BEHAVIOURS:
            self.err(sub, f"unknown behaviour condition {kind!r} (known: {', '.join(BEHAVIOURS)})")
            return None
        if kind in ("any_of", "all_of"):
            if not isinstance(body, list) or not body:
                self.err(sub, "must be a non-empty list of behaviour conditions")
                return None
            parts = [self.behaviour(item, f"{sub}[{i}]") for i, item in enumerate(body)]
            valid = [p for p in parts if p is not None]
            if len(valid) != len(parts):
                return None
            return (AnyOf if kind == "any_of" else AllOf)(conditions=tuple(valid))
        allowed = {
            "seminar_attended": {"topics", "min"},
            "seminar_registered": {"topics", "min"},
            "downloads_on_one_topic": {"min", "topics"},
            "content_downloaded": {"assets", "topics", "min"},
            "page_visited": {"paths", "min"},
            "form_submitted": {"forms", "min"},
            "event": {"name", "min"},
        }[kind]
        required = {
            "seminar_attended": {"topics"},
            "seminar_registered": {"topics"},
            "downloads_on_one_topic": {"min"},
            "page_visited": {"paths"},
            "event": {"name"},
        }
        m = self.c.mapping(
            body if body is not None else {},
            sub,
            allowed=allowed,
            required=required.get(kind, set()),
            rule=self.rule,
        )
        if m is None or not required.get(kind, set()) <= set(m):
            return None
        n = self.c.count(m.get("min", 1), f"{sub}.min", self.rule)
        if n is not None and n > MAX_SIGNALS_PER_KIND:
            self.err(f"{sub}.min", f"at most {MAX_SIGNALS_PER_KIND}: only that much recent evidence is kept")
            n = None
        topics_ok, topics = self.topic_list(m["topics"], f"{sub}.topics") if "topics" in m else (True, None)
        if n is None or not topics_ok:
            return None
        if kind in ("seminar_attended", "seminar_registered"):
            return SeminarCondition(kind=kind, topics=topics, min=n)
        if kind == "downloads_on_one_topic":
            return DownloadsOnOneTopic(min=n, topics=topics)
        if kind == "content_downloaded":
            assets = None
            if "assets" in m:
                listed = self.c.texts(m["assets"], f"{sub}.assets", self.rule)
                if listed is None or not all(
                    self.c.member(a, list(self.assets), "asset", f"{sub}.assets[{i}]", self.rule)
                    for i, a in enumerate(listed)
                ):
                    return None
                assets = tuple(listed)
            return ContentDownloaded(assets=assets, topics=topics, min=n)
        if kind == "page_visited":
            paths = self.c.texts(m["paths"], f"{sub}.paths", self.rule)
            if paths is None:
                return None
            bad = [p for p in paths if not p.startswith("/")]
            if bad:
                self.err(f"{sub}.paths", f"path patterns must start with '/': {bad}")
                return None
            problems = [(i, why) for i, p in enumerate(paths) if (why := pattern_problem(p, glob=True))]
            for i, why in problems:
                self.err(f"{sub}.paths[{i}]", why)
            if problems:
                return None
            return PageVisited(paths=tuple(paths), min=n)
        if kind == "form_submitted":
            forms = self.c.texts(m["forms"], f"{sub}.forms", self.rule) if "forms" in m else None
            return FormSubmitted(forms=tuple(forms) if forms else None, min=n)
        name = self.c.text(m["name"], f"{sub}.name", self.rule)
        if name is None:
            return None
        if name not in self.scoring.custom_events:
            known = ", ".join(sorted(self.scoring.custom_events)) or "none"
            self.err(
                f"{sub}.name",
                f"unknown event {name!r}: declare it under scoring.points (0 points is "
                f"fine) so a typo cannot pass silently (declared: {known})",
            )
            return None
        return NamedEvent(name=name, min=n)

    def attributes(self, raw: Any, path: str) -> Attributes | None:
        m = self.c.mapping(raw, path, allowed=set(ATTRIBUTES), rule=self.rule)
        if m is None:
            return None
        if not m:
            self.err(path, NO_ATTRIBUTES)
            return None
        ok = True
        industries, is_target = None, False
        if "industry_in" in m:
            value = m["industry_in"]
            if value == "target":
                is_target = True
            else:
                items = self.c.texts(value, f"{path}.industry_in", self.rule)
                known = self.fit.industries
                ok = items is not None and (
                    not known
                    or all(
                        self.c.member(x, known, "industry", f"{path}.industry_in[{i}]", self.rule)
                        for i, x in enumerate(items)
                    )
                )
                industries = tuple(items or ())
        level = None
        if "title_level_at_least" in m:
            level = self.c.text(m["title_level_at_least"], f"{path}.title_level_at_least", self.rule)
            names = [lv.name for lv in self.fit.title_levels]
            ok = (
                ok
                and level is not None
                and self.c.member(level, names, "title level", f"{path}.title_level_at_least", self.rule)
            )
        bands = None
        if "company_size_in" in m:
            items = self.c.texts(m["company_size_in"], f"{path}.company_size_in", self.rule)
            names = [b.name for b in self.fit.company_size_bands]
            ok = (
                ok
                and items is not None
                and all(
                    self.c.member(x, names, "company size band", f"{path}.company_size_in[{i}]", self.rule)
                    for i, x in enumerate(items)
                )
            )
            bands = tuple(items or ())
        if not ok:
            return None
        return Attributes(
            industry_in=industries,
            industry_is_target=is_target,
            title_level_at_least=level,
            company_size_in=bands,
        )

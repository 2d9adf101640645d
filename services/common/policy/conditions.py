"""Checking one rule condition against a lead, with a sentence and the evidence either way.

Behaviour looks only at signals after `since` (the current episode's window); attributes and score
always use the whole history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .lead import Evidence, LeadState
from .model import (
    AllOf,
    AnyOf,
    Attributes,
    Behaviour,
    ContentDownloaded,
    DownloadsOnOneTopic,
    FormSubmitted,
    NamedEvent,
    PageVisited,
    Policy,
    SeminarCondition,
)
from .scoring import score_at, score_components


@dataclass(frozen=True)
class Check:
    ok: bool
    text: str  # what holds when ok, what is missing otherwise
    evidence: tuple[Evidence, ...] = field(default=())
    # A reason as data (`reasons.py` renders it in any language); set on the checks that hold.
    code: str = ""
    params: dict[str, Any] = field(default_factory=dict)


def check_behaviour(b: Behaviour, state: LeadState, since: datetime | None, window: str = "") -> list[Check]:
    """One Check per leaf condition that decided the outcome (all_of gives several). `window` says in
    words which behaviour counts (" since the last decision on ...", " in the last 30 days")."""
    if isinstance(b, AnyOf):
        results = [check_behaviour(c, state, since, window) for c in b.conditions]
        for r in results:
            if all(c.ok for c in r):
                return r
        texts = "; or ".join("; ".join(c.text for c in r if not c.ok) for r in results)
        return [Check(False, f"needs one of: {texts}")]
    if isinstance(b, AllOf):
        return [c for part in b.conditions for c in check_behaviour(part, state, since, window)]
    signals = [s for s in state.signals if since is None or s.time > since]
    return [_leaf(b, signals, window)]


def _leaf(b: Behaviour, signals: list[Evidence], window: str) -> Check:
    if isinstance(b, SeminarCondition):
        verb = "Attended" if b.kind == "seminar_attended" else "Registered for"
        hits = _distinct([s for s in signals if s.kind == b.kind and _on(s, b.topics)], "seminar_id")
        where = _topics_text(b.topics)
        if len(hits) >= b.min:
            return Check(
                True,
                "; ".join(f"{verb} the seminar {_name(s)}{_about(s)} on {_day(s)}" for s in hits),
                tuple(hits),
                b.kind,
                {"items": _items(hits)},
            )
        return Check(False, f"needs {b.min} seminar(s) {verb.lower()} {where}{window}, has {len(hits)}")
    if isinstance(b, DownloadsOnOneTopic):
        by_topic: dict[str, list[Evidence]] = {}
        for s in signals:
            if s.kind == "content_download" and s.topic and _on(s, b.topics):
                by_topic.setdefault(s.topic, []).append(s)
        best: tuple[str | None, list[Evidence]] = max(
            ((t, _distinct(v, "asset_id")) for t, v in by_topic.items()),
            key=lambda tv: (len(tv[1]), tv[1][-1].sort_key),
            default=(None, []),
        )
        topic, hits = best
        if len(hits) >= b.min:
            listed = ", ".join(f"{_name(s)} ({_day(s)})" for s in hits)
            return Check(
                True,
                f"Downloaded {len(hits)} assets on {topic}: {listed}",
                tuple(hits),
                "downloads_on_topic",
                {"count": len(hits), "topic": topic, "items": _items(hits)},
            )
        has = f"{len(hits)} on {topic}" if topic else "none"
        return Check(
            False, f"needs {b.min} downloads on one topic {_topics_text(b.topics)}{window}, has {has}"
        )
    if isinstance(b, ContentDownloaded):
        hits = _distinct(
            [
                s
                for s in signals
                if s.kind == "content_download"
                and _on(s, b.topics)
                and (b.assets is None or s.asset_id in b.assets)
            ],
            "asset_id",
        )
        what = f"of {', '.join(b.assets)}" if b.assets else _topics_text(b.topics)
        if len(hits) >= b.min:
            return Check(
                True,
                "; ".join(f"Downloaded {_name(s)}{_about(s)} on {_day(s)}" for s in hits),
                tuple(hits),
                "content_downloaded",
                {"items": _items(hits)},
            )
        return Check(False, f"needs {b.min} download(s) {what}{window}, has {len(hits)}")
    if isinstance(b, PageVisited):
        hits = [s for s in signals if s.kind == "page_view" and s.path and b.matches(s.path)]
        pages = " or ".join(b.paths)
        if len(hits) >= b.min:
            return Check(
                True,
                f"Visited {pages} {len(hits)} time(s), last on {_day(hits[-1])}",
                tuple(hits),
                "page_visited",
                {"paths": list(b.paths), "count": len(hits), "last": _day(hits[-1])},
            )
        return Check(False, f"needs {b.min} visit(s) to {pages}{window}, has {len(hits)}")
    if isinstance(b, FormSubmitted):
        hits = [
            s for s in signals if s.kind == "form_submitted" and (b.forms is None or s.form_id in b.forms)
        ]
        which = f" ({', '.join(b.forms)})" if b.forms else ""
        if len(hits) >= b.min:
            return Check(
                True,
                "; ".join(f"Submitted the form {s.form_id or _name(s)} on {_day(s)}" for s in hits),
                tuple(hits),
                "form_submitted",
                {"items": [{"form": s.form_id or _name(s), "day": _day(s)} for s in hits]},
            )
        return Check(False, f"needs {b.min} form submission(s){which}{window}, has {len(hits)}")
    if isinstance(b, NamedEvent):
        hits = [s for s in signals if s.kind == b.name]
        if len(hits) >= b.min:
            return Check(
                True,
                f"Did '{b.name}' {len(hits)} time(s), last on {_day(hits[-1])}",
                tuple(hits),
                "event_done",
                {"event": b.name, "count": len(hits), "last": _day(hits[-1])},
            )
        return Check(False, f"needs '{b.name}' {b.min} time(s){window}, has {len(hits)}")
    raise TypeError(f"unknown behaviour condition {b!r}")


def check_attributes(a: Attributes, state: LeadState, policy: Policy) -> list[Check]:
    attrs, sources, fit = state.attributes, state.attribute_sources, policy.fit
    out = []
    if a.industry_is_target or a.industry_in is not None:
        industry = attrs.get("industry")
        allowed = fit.target_industries if a.industry_is_target else a.industry_in or ()
        label = "a target industry" if a.industry_is_target else f"one of {', '.join(allowed)}"
        proof = _source(sources, "industry")
        if industry in allowed:
            params = {"industry": industry, "target": a.industry_is_target, "allowed": list(allowed)}
            out.append(Check(True, f"Works in {industry} ({label})", proof, "industry", params))
        else:
            out.append(Check(False, f"needs {label} ({', '.join(allowed)}), has {industry or 'none'}", proof))
    if a.title_level_at_least is not None:
        need, title, level = a.title_level_at_least, attrs.get("title"), attrs.get("title_level")
        proof = _source(sources, "title")
        if fit.level_rank(level) >= fit.level_rank(need):
            out.append(
                Check(
                    True,
                    f"Title '{title}' is at level {level} ({need} or above required)",
                    proof,
                    "title_level",
                    {"title": title, "level": level, "required": need},
                )
            )
        else:
            has = (
                f"{level} ('{title}')"
                if level
                else (f"an unrecognised title '{title}'" if title else "no title")
            )
            out.append(Check(False, f"needs title level {need} or above, has {has}", proof))
    if a.company_size_in is not None:
        band, size = attrs.get("company_size_band"), attrs.get("company_size")
        proof = _source(sources, "company_size")
        size_text = f"{size} employees, band {band}" if size is not None else f"band {band}"
        if band in a.company_size_in:
            out.append(
                Check(
                    True,
                    f"Company size {size_text} (one of {', '.join(a.company_size_in)})",
                    proof,
                    "company_size",
                    {"size": size, "band": band, "allowed": list(a.company_size_in)},
                )
            )
        else:
            has = size_text if band or size is not None else "unknown"
            out.append(
                Check(False, f"needs company size in {', '.join(a.company_size_in)}, has {has}", proof)
            )
    return out


def check_score(minimum: float | None, state: LeadState, policy: Policy, at: datetime) -> Check:
    value = score_at(state.scores, policy, at)
    parts = ", ".join(f"{k} {v:g}" for k, v in score_components(state.scores, policy, at).items() if v)
    text = f"Engagement score {value:g}" + (f" ({parts})" if parts else "")
    components = {k: v for k, v in score_components(state.scores, policy, at).items() if v}
    params: dict[str, Any] = {"value": value, "components": components, "min": minimum}
    if minimum is None:
        return Check(True, text, (), "score", params)
    if value >= minimum:
        return Check(True, f"{text}, at least {minimum:g} required", (), "score", params)
    return Check(False, f"needs engagement score {minimum:g} or more, has {value:g}")


def _items(hits: list[Evidence]) -> list[dict[str, Any]]:
    """Each piece of content as data: its name as sales knows it, its topic and its day."""
    return [{"name": _name(s)[1:-1], "topic": s.topic, "day": _day(s)} for s in hits]


def _distinct(items: list[Evidence], key: str) -> list[Evidence]:
    """One per asset/seminar (the first time), so re-downloading one PDF counts once."""
    seen: dict[str, Evidence] = {}
    for s in items:
        seen.setdefault(getattr(s, key) or s.title or s.event_id, s)
    return sorted(seen.values(), key=lambda s: s.sort_key)


def _on(s: Evidence, topics: tuple[str, ...] | None) -> bool:
    return topics is None or s.topic in topics


def _topics_text(topics: tuple[str, ...] | None) -> str:
    return "on any topic" if topics is None else f"on {' or '.join(topics)}"


def _name(s: Evidence) -> str:
    return f"'{s.title}'" if s.title else f"'{s.asset_id or s.seminar_id or s.form_id or s.event_id}'"


def _about(s: Evidence) -> str:
    return f" on {s.topic}" if s.topic else ""


def _day(s: Evidence) -> str:
    return s.time.date().isoformat()


def _source(sources: dict[str, Evidence], group: str) -> tuple[Evidence, ...]:
    return (sources[group],) if group in sources else ()

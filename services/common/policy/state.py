"""Pure transitions of a `LeadState`. Each returns a new state; the argument is never changed.

Every fold is order-independent (scores by their decay formula, evidence as "newest N of a set",
attributes by the time of the identify that set them), so replaying a log in any order agrees.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from . import scoring
from .activity import Activity, activity_kind, activity_points, activity_topic
from .attributes import company_size, normalise_industry, title_level
from .lead import (
    MAX_ANONYMOUS_IDS,
    STAGE_RANK,
    Evidence,
    LeadState,
    add_signal,
    as_stage,
    bound_signals,
    evolve,
)
from .model import OUTCOMES, Policy


def apply_activity(state: LeadState, activity: Activity, policy: Policy) -> LeadState:
    """Fold one activity: identities, attributes (from traits), score, topic interest, evidence, counts."""
    time = activity.time
    changes: dict[str, Any] = {
        "user_id": state.user_id or activity.user_id,
        "email": state.email or _email(activity.traits.get("email")),
    }
    anonymous_id = activity.anonymous_id
    if anonymous_id and anonymous_id not in state.anonymous_ids:
        changes["anonymous_ids"] = tuple(sorted((*state.anonymous_ids, anonymous_id)))[:MAX_ANONYMOUS_IDS]
    if (activity.kind == "identify" and activity.traits) or activity.kind == "group":
        changes["attributes"], changes["attribute_sources"] = _apply_traits(state, activity, policy)
    counts = dict(state.counts)
    counts[activity.kind] = counts.get(activity.kind, 0) + 1
    kind = activity_kind(activity, policy)
    if kind is not None:
        counts[kind] = counts.get(kind, 0) + 1
        half_life = policy.scoring.half_life_days
        points = activity_points(activity, kind, policy)
        topic = activity_topic(activity, policy)
        scores = dict(state.scores)
        scores[kind] = scoring.add(scores.get(kind), points, time, half_life)
        changes["scores"] = scores
        if topic is not None:
            interests = dict(state.interests)
            interests[topic] = scoring.add(interests.get(topic), points, time, half_life)
            changes["interests"] = interests
        if kind != "page_view" or topic is not None or _notable_page(activity.path, policy):
            evidence = Evidence.of(
                event_id=activity.event_id,
                kind=kind,
                time=time,
                topic=topic,
                asset_id=activity.asset_id,
                seminar_id=activity.seminar_id,
                form_id=activity.form_id,
                path=activity.path,
                title=_title(activity.properties.get("title")),
            )
            changes["signals"] = add_signal(state.signals, evidence)
    changes["counts"] = counts
    # min/max keep the earlier value on a tie, as `min(filter(None, ...))` did
    first, last = state.first_activity_at, state.last_activity_at
    changes["first_activity_at"] = time if first is None or time < first else first
    changes["last_activity_at"] = time if last is None or time > last else last
    if state.stage == "anonymous" and (changes["user_id"] or changes["email"]):
        changes["stage"] = "known"
    return evolve(state, changes)


def merge_states(primary: LeadState, secondary: LeadState, policy: Policy) -> LeadState:
    """Identity stitching: fold `secondary` (e.g. the anonymous lead) into `primary` retroactively."""
    half_life = policy.scoring.half_life_days
    attributes = dict(primary.attributes)
    sources = dict(primary.attribute_sources)
    for key, value in secondary.attributes.items():
        if attributes.get(key) is None and value is not None:
            attributes[key] = value
    for key, source in secondary.attribute_sources.items():
        sources.setdefault(key, source)
    counts = dict(primary.counts)
    for key, n in secondary.counts.items():
        counts[key] = counts.get(key, 0) + n
    ahead = max((primary, secondary), key=lambda s: (s.episode, STAGE_RANK.get(s.stage, 0)))
    merged = replace(
        primary,
        user_id=primary.user_id or secondary.user_id,
        email=primary.email or secondary.email,
        anonymous_ids=tuple(sorted(set(primary.anonymous_ids) | set(secondary.anonymous_ids)))[
            :MAX_ANONYMOUS_IDS
        ],
        attributes=attributes,
        attribute_sources=sources,
        scores=_combine(primary.scores, secondary.scores, half_life),
        interests=_combine(primary.interests, secondary.interests, half_life),
        signals=bound_signals((*primary.signals, *secondary.signals)),
        counts=counts,
        first_activity_at=min(
            filter(None, (primary.first_activity_at, secondary.first_activity_at)), default=None
        ),
        last_activity_at=max(
            filter(None, (primary.last_activity_at, secondary.last_activity_at)), default=None
        ),
        stage=ahead.stage,
        episode=ahead.episode,
        mql_at=ahead.mql_at,
        decided_at=ahead.decided_at,
    )
    if merged.stage == "anonymous" and merged.known:
        merged = replace(merged, stage="known")
    return merged


def mark_mql(state: LeadState, at: datetime) -> LeadState:
    """Open a new episode: the lead is now an MQL waiting for a sales decision."""
    return replace(state, stage="mql", episode=state.episode + 1, mql_at=at)


def apply_decision(state: LeadState, outcome: str, decided_at: datetime, episode: int) -> LeadState:
    """Record a sales decision for `episode`; a decision for another (stale) episode changes nothing."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r} (valid: {', '.join(OUTCOMES)})")
    if episode != state.episode or state.episode == 0:
        return state
    return replace(state, stage=as_stage(outcome), decided_at=decided_at)


def _apply_traits(state: LeadState, activity: Activity, policy: Policy) -> tuple[dict, dict]:
    traits = activity.traits
    company = traits.get("company")
    company_map = company if isinstance(company, dict) else {}
    if activity.kind == "group":  # group traits describe the account itself
        company_map = {**traits, **company_map}
        company = traits.get("name")
    found: dict[str, dict[str, Any]] = {}
    industry = normalise_industry(traits.get("industry") or company_map.get("industry"))
    if industry:
        found["industry"] = {"industry": industry}
    title = _title(traits.get("title") or traits.get("job_title"))
    if title:
        found["title"] = {"title": title, "title_level": title_level(title, policy.fit)}
    name = company_map.get("name") if isinstance(company, dict) else company
    if _title(name):
        found["company"] = {"company": _title(name)}
    size_raw = next(
        (
            v
            for v in (
                traits.get("company_size"),
                traits.get("employees"),
                company_map.get("employee_count"),
                company_map.get("employees"),
                company_map.get("size"),
            )
            if v not in (None, "")
        ),
        None,
    )
    if size_raw is not None:
        employees, band = company_size(size_raw, policy.fit)
        if employees is not None or band is not None:
            found["company_size"] = {"company_size": employees, "company_size_band": band}
    department = normalise_industry(traits.get("department"))
    if department:
        found["department"] = {"department": department}
    group_id = _title(activity.properties.get("groupId")) if activity.kind == "group" else None
    if group_id:  # the account the lead belongs to (a later group call moves it: the latest wins)
        found["group"] = {
            "group_id": group_id,
            "group_plan": _title(traits.get("plan")),
            "group_domain": _title(traits.get("domain") or traits.get("website")),
        }
    person = _title(traits.get("name")) if activity.kind == "identify" else None
    if not person and (traits.get("first_name") or traits.get("last_name")):
        person = _title(" ".join(str(traits.get(k) or "") for k in ("first_name", "last_name")))
    if person:
        found["name"] = {"name": person}
    attributes, sources = dict(state.attributes), dict(state.attribute_sources)
    source = Evidence(event_id=activity.event_id, kind=activity.kind, time=activity.time)
    for group, values in found.items():
        current = sources.get(group)
        if current is None or source.sort_key >= current.sort_key:  # the latest identify wins
            attributes.update(values)
            sources[group] = source
    return attributes, sources


def _combine(a: dict[str, scoring.Decayed], b: dict[str, scoring.Decayed], half_life: float) -> dict:
    out = dict(a)
    for key, value in b.items():
        out[key] = scoring.combine(out[key], value, half_life) if key in out else value
    return out


def _notable_page(path: str | None, policy: Policy) -> bool:
    """Page views are kept as evidence only when the policy cares about that path."""
    return bool(path) and bool(policy.notable_page(path))  # type: ignore[arg-type]


def _email(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) and "@" in value else None


def _title(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None

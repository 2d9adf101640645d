"""`LeadState`: everything the rules need about one lead, bounded, and plain JSON when stored (jsonb).

Seen event ids are not kept here: de-duplication is the database's job.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from sys import intern
from typing import Any, Literal, cast, get_args

from .scoring import Decayed

MAX_SIGNALS_PER_KIND = 50  # most recent behaviour evidence kept per activity kind
MAX_ANONYMOUS_IDS = 50
# Where a lead is: before anyone knows who it is, known, an open MQL, or after sales decided on it.
Stage = Literal["anonymous", "known", "mql", "sql", "recycled", "rejected"]
STAGE_RANK: dict[Stage, int] = {"anonymous": 0, "known": 1, "recycled": 2, "rejected": 2, "mql": 3, "sql": 4}


@dataclass(frozen=True, kw_only=True, slots=True)
class Evidence:
    """One behaviour activity kept as proof for reasons and for re-evaluating rules.

    Slotted, with its repeated texts (kind, topic, ids, path, title) interned: a cached lead holds
    about eight of these, and a dict per item plus a copy of each text per item were most of a parsed
    state's memory (tests/unit/qualifier/test_cache.py counts it)."""

    event_id: str
    kind: str  # scoring kind: page_view, content_download, ..., or a custom event name
    time: datetime
    topic: str | None = None
    asset_id: str | None = None
    seminar_id: str | None = None
    form_id: str | None = None
    path: str | None = None
    title: str | None = None

    def to_dict(self, when: Callable[[datetime], Any] = datetime.isoformat) -> dict[str, Any]:
        # field by field: `asdict` deep-copies and costs more than the rest of storing a lead
        d = {k: v for k in _EVIDENCE_FIELDS if (v := getattr(self, k)) is not None}
        d["time"] = when(self.time)
        return d

    @classmethod
    def of(
        cls,
        *,
        event_id: str,
        kind: str,
        time: datetime,
        topic: str | None,
        asset_id: str | None,
        seminar_id: str | None,
        form_id: str | None,
        path: str | None,
        title: str | None,
    ) -> Evidence:
        """The fold's constructor (one per scored activity), every field given: the same object as
        `Evidence(...)`, without the frozen `__init__`'s checks."""
        evidence = _new(cls)
        _SET_EVENT_ID(evidence, event_id)
        _SET_KIND(evidence, _shared(kind))
        _SET_TIME(evidence, time)
        _SET_TOPIC(evidence, _shared(topic))
        _SET_ASSET_ID(evidence, _shared(asset_id))
        _SET_SEMINAR_ID(evidence, _shared(seminar_id))
        _SET_FORM_ID(evidence, _shared(form_id))
        _SET_PATH(evidence, _shared(path))
        _SET_TITLE(evidence, _shared(title))
        return evidence

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evidence:
        # every lead loaded brings its evidence: filled in directly, not through the frozen __init__
        event_id, kind = d["event_id"], d["kind"]
        if not isinstance(event_id, str) or not isinstance(kind, str):
            raise TypeError(f"evidence needs an event_id and a kind: {d!r}")
        get = d.get
        return cls.of(
            event_id=event_id,
            kind=kind,
            time=datetime.fromisoformat(d["time"]),
            topic=get("topic"),
            asset_id=get("asset_id"),
            seminar_id=get("seminar_id"),
            form_id=get("form_id"),
            path=get("path"),
            title=get("title"),
        )

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return self.time, self.event_id


def _shared(text: Any) -> Any:
    """One copy of a text many evidence items repeat (interned strings are freed when unused)."""
    return intern(text) if type(text) is str else text


_new = object.__new__
(
    _SET_EVENT_ID,
    _SET_KIND,
    _SET_TIME,
    _SET_TOPIC,
    _SET_ASSET_ID,
    _SET_SEMINAR_ID,
    _SET_FORM_ID,
    _SET_PATH,
    _SET_TITLE,
) = (getattr(Evidence, f.name).__set__ for f in fields(Evidence))


_EVIDENCE_FIELDS = tuple(f.name for f in fields(Evidence))


@dataclass(frozen=True, kw_only=True)
class LeadState:
    lead_id: str
    user_id: str | None = None
    email: str | None = None
    anonymous_ids: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)
    # attribute group ("industry", "title", "company", "company_size", "name") -> the identify that set it
    attribute_sources: dict[str, Evidence] = field(default_factory=dict)
    scores: dict[str, Decayed] = field(default_factory=dict)  # uncapped, per activity kind
    interests: dict[str, Decayed] = field(default_factory=dict)  # per topic
    signals: tuple[Evidence, ...] = ()  # sorted by time, bounded per kind
    counts: dict[str, int] = field(default_factory=dict)
    first_activity_at: datetime | None = None
    last_activity_at: datetime | None = None
    stage: Stage = "anonymous"
    episode: int = 0
    mql_at: datetime | None = None
    decided_at: datetime | None = None  # after recycled/rejected: the new episode's window start

    @classmethod
    def new(cls, lead_id: str) -> LeadState:
        return cls(lead_id=lead_id)

    @property
    def known(self) -> bool:
        return bool(self.user_id or self.email)

    def identities(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "email": self.email, "anonymous_ids": list(self.anonymous_ids)}

    def to_dict(self, when: Callable[[datetime], Any] = datetime.isoformat) -> dict[str, Any]:
        """Plain JSON. `when=keep_datetime` leaves the datetimes for a JSON writer that formats them
        exactly as `isoformat` does (orjson): storing a lead then builds no string per evidence."""
        return {
            "lead_id": self.lead_id,
            "identities": self.identities(),
            "attributes": dict(self.attributes),
            "attribute_sources": {k: e.to_dict(when) for k, e in self.attribute_sources.items()},
            "scores": {k: [d.value, when(d.as_of)] for k, d in self.scores.items()},
            "interests": {k: [d.value, when(d.as_of)] for k, d in self.interests.items()},
            "signals": [e.to_dict(when) for e in self.signals],
            "counts": dict(self.counts),
            "first_activity_at": _maybe(when, self.first_activity_at),
            "last_activity_at": _maybe(when, self.last_activity_at),
            "stage": self.stage,
            "episode": self.episode,
            "mql_at": _maybe(when, self.mql_at),
            "decided_at": _maybe(when, self.decided_at),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LeadState:
        ids = d.get("identities") or {}
        return cls(
            lead_id=d["lead_id"],
            user_id=ids.get("user_id"),
            email=ids.get("email"),
            anonymous_ids=tuple(ids.get("anonymous_ids") or ()),
            attributes=dict(d.get("attributes") or {}),
            attribute_sources={
                k: Evidence.from_dict(v) for k, v in (d.get("attribute_sources") or {}).items()
            },
            scores={
                k: Decayed(v[0], datetime.fromisoformat(v[1])) for k, v in (d.get("scores") or {}).items()
            },
            interests={
                k: Decayed(v[0], datetime.fromisoformat(v[1])) for k, v in (d.get("interests") or {}).items()
            },
            signals=tuple(Evidence.from_dict(e) for e in d.get("signals") or ()),
            counts=dict(d.get("counts") or {}),
            first_activity_at=_dt(d.get("first_activity_at")),
            last_activity_at=_dt(d.get("last_activity_at")),
            stage=as_stage(d.get("stage", "anonymous")),
            episode=int(d.get("episode", 0)),
            mql_at=_dt(d.get("mql_at")),
            decided_at=_dt(d.get("decided_at")),
        )


def evolve(state: LeadState, changes: dict[str, Any]) -> LeadState:
    """`dataclasses.replace` for the fold's hot path: the same new state, without running the frozen
    `__init__` (one `object.__setattr__` per field) on every event. `changes` names only fields."""
    new = object.__new__(LeadState)
    new.__dict__.update(state.__dict__)
    new.__dict__.update(changes)
    return new


def add_signal(signals: tuple[Evidence, ...], evidence: Evidence) -> tuple[Evidence, ...]:
    """`bound_signals((*signals, evidence))` for signals that are already bounded (as every state's are):
    one insertion at its place and at most one eviction, instead of re-sorting the whole history."""
    if evidence.event_id in map(_EVENT_ID, signals):  # a repeat replaces the one kept: the general way
        return bound_signals((*signals, evidence))
    out = list(signals)
    out.insert(bisect_right(out, evidence.sort_key, key=_SORT_KEY), evidence)
    kinds = list(map(_KIND, out))
    if kinds.count(evidence.kind) > MAX_SIGNALS_PER_KIND:
        del out[kinds.index(evidence.kind)]  # the oldest of that kind
    return tuple(out)


def bound_signals(items: list[Evidence] | tuple[Evidence, ...]) -> tuple[Evidence, ...]:
    """Sorted by time, duplicates dropped, the newest MAX_SIGNALS_PER_KIND kept per kind.

    Keeping "the newest N by (time, event id)" is a function of the set, so arrival order never matters.
    """
    unique = {e.event_id: e for e in items}
    ordered = sorted(unique.values(), key=lambda e: e.sort_key)
    per_kind: dict[str, int] = {}
    kept: list[Evidence] = []
    for e in reversed(ordered):
        n = per_kind.get(e.kind, 0)
        if n < MAX_SIGNALS_PER_KIND:
            per_kind[e.kind] = n + 1
            kept.append(e)
    return tuple(reversed(kept))


_EVENT_ID = attrgetter("event_id")
_KIND = attrgetter("kind")
_SORT_KEY = attrgetter("time", "event_id")


def keep_datetime(value: datetime) -> datetime:
    return value


def _maybe(when: Callable[[datetime], Any], value: datetime | None) -> Any:
    return when(value) if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def as_stage(value: Any) -> Stage:
    if value not in get_args(Stage):
        raise ValueError(f"unknown stage {value!r} (valid: {', '.join(get_args(Stage))})")
    return cast(Stage, value)

"""One thing a lead did, as the core sees it, and how the policy reads it (kind, topic, points).

Missing or oddly typed properties never raise: tracking data comes from many websites.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, overload
from urllib.parse import urlparse

from .model import Policy

T = TypeVar("T")

TRACK_KINDS = {
    "Content Downloaded": "content_download",
    "Seminar Registered": "seminar_registered",
    "Seminar Attended": "seminar_attended",
    "Form Submitted": "form_submitted",
}


class _once(Generic[T]):
    """`functools.cached_property` without its lock (Python 3.11 takes one on every first read, a few
    percent of the qualifier's fold; 3.12 dropped it): the value lands in the instance's __dict__,
    which shadows this non-data descriptor from then on."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self.compute, self.name = compute, compute.__name__

    @overload
    def __get__(self, instance: None, owner: type) -> _once[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> T | _once[T]:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


@dataclass(frozen=True, kw_only=True)
class Activity:
    event_id: str
    kind: str  # the Segment message type: page, track, identify, screen, group, alias
    name: str | None
    time: datetime
    properties: dict[str, Any] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    user_id: str | None = None
    anonymous_id: str | None = None

    @classmethod
    def from_segment(cls, event_id: str, message: dict[str, Any], time: datetime) -> Activity:
        """Build from a Segment message dict; `time` is the caller's corrected event time."""
        kind = str(message.get("type") or "track").lower()
        name = message.get("event") if kind == "track" else message.get("name")
        props = dict(_dict(message.get("properties")))
        context = _dict(message.get("context"))
        page = _dict(context.get("page"))
        if kind in ("page", "screen"):
            for key in ("path", "url", "title", "referrer"):
                if not props.get(key) and page.get(key):
                    props[key] = page[key]
            if not props.get("path") and isinstance(props.get("url"), str):
                props["path"] = urlparse(props["url"]).path or "/"
        traits = dict(_dict(context.get("traits")))
        traits.update(_dict(message.get("traits")))
        if time.tzinfo is None:
            time = time.replace(tzinfo=UTC)
        # one per event: the same object as `cls(...)`, without the frozen __init__'s setattr per field
        activity = object.__new__(cls)
        activity.__dict__.update(
            event_id=str(event_id),
            kind=kind,
            name=_text(name),
            time=time,
            properties=props,
            traits=traits,
            user_id=_text(message.get("userId")),
            anonymous_id=_text(message.get("anonymousId")),
        )
        return activity

    # cached (in the instance's __dict__, as a frozen dataclass allows): read several times per event
    @_once
    def path(self) -> str | None:
        return _text(self.properties.get("path"))

    @_once
    def asset_id(self) -> str | None:
        return _text(self.properties.get("asset_id"))

    @_once
    def seminar_id(self) -> str | None:
        return _text(self.properties.get("seminar_id"))

    @_once
    def form_id(self) -> str | None:
        return _text(self.properties.get("form_id"))


def activity_kind(activity: Activity, policy: Policy) -> str | None:
    """The scoring kind (`page_view`, `content_download`, ..., or a custom event the policy names)."""
    if activity.kind in ("page", "screen"):
        return "page_view"
    if activity.kind != "track" or not activity.name:
        return None
    if activity.name in TRACK_KINDS:
        return TRACK_KINDS[activity.name]
    return activity.name if activity.name in policy.scoring.custom_events else None


def activity_topic(activity: Activity, policy: Policy) -> str | None:
    """The policy topic: the event's own `topic` if known, else the asset/seminar/form id or path."""
    topic = _text(activity.properties.get("topic"))
    if topic in policy.topics:
        return topic
    for key in (activity.asset_id, activity.seminar_id, activity.form_id):
        if key and key in policy.assets:
            return policy.assets[key]
    path = activity.path
    if path:
        for match, mapped in policy.asset_path_matchers:
            if match(path):
                return mapped
    return None


def activity_points(activity: Activity, kind: str, policy: Policy) -> float:
    if kind == "page_view" and activity.path:
        for match, points in policy.scoring.page_point_matchers:
            if match(activity.path):
                return points
    return policy.scoring.points.get(kind, 0.0)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    if type(value) is str:  # nearly always: skip the checks below
        return value.strip() or None
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None

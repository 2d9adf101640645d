"""Builders for the pure policy-core tests: no IO beyond reading the shipped policy once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from services.common.policy import Activity, LeadState, Policy, apply_activity, load_policy

ROOT = Path(__file__).resolve().parents[4]
DEFAULT_POLICY_TEXT = (ROOT / "policies" / "default.yaml").read_text(encoding="utf-8")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_ids = count(1)


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(DEFAULT_POLICY_TEXT, "policies/default.yaml")


def at(hours: float = 0, days: float = 0) -> datetime:
    return T0 + timedelta(hours=hours, days=days)


def act(
    kind: str,
    name: str | None = None,
    *,
    time: datetime = T0,
    user_id: str | None = "u1",
    anonymous_id: str | None = "a1",
    event_id: str | None = None,
    traits: dict | None = None,
    **properties: Any,
) -> Activity:
    return Activity(
        event_id=event_id or f"evt-{next(_ids)}",
        kind=kind,
        name=name,
        time=time,
        properties=properties,
        traits=traits or {},
        user_id=user_id,
        anonymous_id=anonymous_id,
    )


def identify(
    time: datetime = T0,
    *,
    industry: str = "manufacturing",
    title: str = "Sales Manager",
    employees: int | None = 250,
    email: str = "ken@acme.example",
    **kw: Any,
) -> Activity:
    traits = {
        "email": email,
        "industry": industry,
        "title": title,
        "company": "Acme Works",
        "first_name": "Ken",
        "last_name": "Sato",
    }
    if employees is not None:
        traits["company_size"] = employees
    return act("identify", traits=traits, time=time, **kw)


def attended(time: datetime = T0, topic: str = "marketing-automation", **kw: Any) -> Activity:
    return act(
        "track",
        "Seminar Attended",
        time=time,
        seminar_id="sem-ma-in-practice",
        title="MA in practice",
        topic=topic,
        **kw,
    )


def downloaded(asset_id: str, time: datetime = T0, **kw: Any) -> Activity:
    return act("track", "Content Downloaded", time=time, asset_id=asset_id, title=asset_id, **kw)


def page(path: str, time: datetime = T0, **kw: Any) -> Activity:
    return act("page", path, time=time, path=path, url=f"https://www.example.com{path}", **kw)


def fold(policy: Policy, activities: Iterable[Activity], state: LeadState | None = None) -> LeadState:
    state = state or LeadState.new("lead-1")
    for a in activities:
        state = apply_activity(state, a, policy)
    return state

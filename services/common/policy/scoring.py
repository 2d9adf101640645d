"""Temperature: decayed sums that give the same answer whatever order events arrive in.

A sum is stored uncapped as (value, as_of). Adding p at t moves the sum to max(t, as_of) and decays the
older side, so folding events in any order (or merging two leads) lands on sum p_i * 2^-(T - t_i)/h.
Caps are applied only when the score is read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from .model import Policy


class Decayed(NamedTuple):
    value: float
    as_of: datetime


# Read before its as_of, a sum grows back; read decades before it (an event time far off the others)
# the power would overflow. Past this many half-lives the value means nothing anyway: it is held there.
MAX_GROWTH_HALVINGS = 64.0


def decay(value: float, seconds: float, half_life_days: float) -> float:
    halvings = seconds / (half_life_days * 86400.0)
    return value * 2.0 ** min(-halvings, MAX_GROWTH_HALVINGS)


def add(current: Decayed | None, points: float, at: datetime, half_life_days: float) -> Decayed:
    if current is None:
        return Decayed(points, at)
    return combine(current, Decayed(points, at), half_life_days)


def combine(a: Decayed, b: Decayed, half_life_days: float) -> Decayed:
    late, early = (a, b) if a.as_of >= b.as_of else (b, a)
    gap = (late.as_of - early.as_of).total_seconds()
    return Decayed(late.value + decay(early.value, gap, half_life_days), late.as_of)


def value_at(current: Decayed, at: datetime, half_life_days: float) -> float:
    return decay(current.value, (at - current.as_of).total_seconds(), half_life_days)


def score_components(scores: dict[str, Decayed], policy: Policy, at: datetime) -> dict[str, float]:
    """Capped, decayed value per activity kind at `at`, rounded to 2 decimals, largest first."""
    out = {}
    for kind, current in scores.items():
        value = value_at(current, at, policy.scoring.half_life_days)
        cap = policy.scoring.caps.get(kind)
        out[kind] = round(min(value, cap) if cap is not None else value, 2)
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def score_at(scores: dict[str, Decayed], policy: Policy, at: datetime) -> float:
    return round(sum(score_components(scores, policy, at).values()), 2)


_MICROSECOND = timedelta(microseconds=1)


def score_after(scores: dict[str, Decayed], policy: Policy, start: datetime) -> Callable[[int], float]:
    """`score_at(scores, policy, start + timedelta(seconds=s))` as a function of whole seconds `s`: the
    same float, from integer microseconds instead of datetimes (`timedelta.total_seconds()` is exactly
    microseconds / 10**6), for a search that reads one lead's score at many moments (decay.py). The
    components are summed largest first, as `score_at` sums them."""
    half_life, caps = policy.scoring.half_life_days, policy.scoring.caps
    terms = [((start - d.as_of) // _MICROSECOND, d.value, caps.get(kind)) for kind, d in scores.items()]

    def at(seconds: int) -> float:
        shift = seconds * 1_000_000
        values = []
        for offset, value, cap in terms:
            current = decay(value, (shift + offset) / 1_000_000, half_life)
            values.append(round(min(current, cap) if cap is not None else current, 2))
        values.sort(reverse=True)
        return round(sum(values), 2)

    return at

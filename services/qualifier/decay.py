"""When a lead's published view changes with no new event: its score band dropping as the score decays,
or a change the changelog's rate limit held back. Pure: time is passed in.

Each published view carries a *due* time: the event time at which it must be looked at again. It is
- the end of the rate-limit interval (published_at + MIN_INTERVAL) when a change was held back;
- else the first moment the score, decaying from the lead's state as published, falls into a lower
  band (never before the interval's end), or none when the band is already the lowest.
At a due time `e` the view is computed again from the lead's state at `e` (`e` is moved past the
state's newest sum, so a state that went on after the due time is never read backwards): a different
view is a new update at `e`, an equal one only moves the due time on. Only the state, the published
view and `e` decide it, so the worker's sweep, the fold before a lead's next entry and `leadstate
replay` all make the same updates, with the same ids.

Top interests never reorder with time alone (every topic decays with the one half-life), so the band
is the only thing time changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.common.policy import LeadState, Policy
from services.common.policy.scoring import score_after, score_at

MIN_INTERVAL = timedelta(minutes=10)
# Score bands: the score's place matters to a CRM list, not its second decimal.
SCORE_BANDS = ((30.0, "hot"), (10.0, "warm"), (0.0, "cold"))
# A band that has not dropped after this long never will in a way anyone waits for.
HORIZON = timedelta(days=3650)
MAX_STEPS = 8  # due updates one look makes at most (there are only three bands)


@dataclass(frozen=True)
class Published:
    view: dict[str, Any]
    at: datetime
    due: datetime | None = None  # when to look at the view again (decay.py)
    sent: bool = True  # False: not a new update, only the due time moved


def score_band(score: float) -> str:
    return next((name for floor, name in SCORE_BANDS if score >= floor), "cold")


def band_drop(state: LeadState, policy: Policy, since: datetime) -> datetime | None:
    """The first whole second after `since` at which the score's band is lower than at `since`: the
    second the doubling search (`doubling_search`) finds, within its horizon."""
    band = score_band(score_at(state.scores, policy, since))
    if band == SCORE_BANDS[-1][1]:
        return None

    base = since.replace(microsecond=0)  # whole seconds from here: ids and times stay short and exact
    score = score_after(state.scores, policy, base)  # score_at(..., base + s seconds), without datetimes

    def dropped(seconds: int) -> bool:
        return score_band(score(seconds)) != band

    first = max(int(policy.scoring.half_life_days * 86400), 1)
    if any(d.value < 0 for d in state.scores.values()):  # a negative sum rises: the score is not monotone
        seconds = doubling_search(dropped, first)
    else:
        floor = next(f for f, name in SCORE_BANDS if name == band)
        seconds = search_near(dropped, reach(first), estimate(state, policy, base, floor))
    return None if seconds is None else base + timedelta(seconds=seconds)


def doubling_search(dropped: Callable[[int], bool], first: int) -> int | None:
    """Double from `first` until `dropped`, then halve the last step: ~22 probes per answer."""
    low, high = 0, first
    while not dropped(high):  # the score only falls: double until it is left
        low, high = high, high * 2
        if timedelta(seconds=high) > HORIZON:
            return None
    while high - low > 1:  # `low` is still in the band, `high` below it
        middle = (low + high) // 2
        low, high = (low, middle) if dropped(middle) else (middle, high)
    return high


def reach(first: int) -> int:
    """The farthest second `doubling_search` probes: a drop after it is None."""
    last = first
    while timedelta(seconds=last * 2) <= HORIZON:
        last *= 2
    return last


def search_near(dropped: Callable[[int], bool], last: int, guess: int) -> int | None:
    """What `doubling_search` answers when `dropped` is monotone (false, then true from some second
    on; a score with no negative sum only falls): that first second if it is within `reach`, else
    None. It starts from a guess and widens its steps from there: ~12 probes instead of ~22."""
    if not dropped(last):
        return None
    low, high = 0, last  # `low` 0 or not dropped, `high` dropped
    probe, step = min(max(guess, 1), last), 64
    if dropped(probe):
        high = probe
        while high - step > low:
            if not dropped(high - step):
                low = high - step
                break
            high, step = high - step, step * 2
    else:
        low = probe
        while low + step < high:
            if dropped(low + step):
                high = low + step
                break
            low, step = low + step, step * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if dropped(middle) else (middle, high)
    return high


def estimate(state: LeadState, policy: Policy, base: datetime, floor: float) -> int:
    """About when the capped sum, unrounded, falls below `floor` (seconds after `base`): where the
    exact search starts. Each sum is 2 ** (c - s / h), held at its cap while above it (until its
    `edge`); a few rounds find the interval between edges where the crossing is."""
    h = policy.scoring.half_life_days * 86400.0
    caps, target = policy.scoring.caps, floor - 0.005
    try:
        terms = []  # (c, cap, edge)
        for kind, d in state.scores.items():
            if d.value > 0:
                c, cap = math.log2(d.value) - (base - d.as_of).total_seconds() / h, caps.get(kind)
                edge = -math.inf if cap is None else math.inf if cap <= 0 else h * (c - math.log2(cap))
                terms.append((c, cap or 0.0, edge))
        at = 0.0
        for _ in range(6):
            held = [(cap, edge) for c, cap, edge in terms if edge > at]
            free = [c for c, cap, edge in terms if edge <= at]
            rest = target - sum(cap for cap, _ in held)
            if rest <= 0 or not free:  # still above the floor until a held sum starts falling
                later = [edge for _, edge in held if edge < math.inf]
                if not later or rest > 0:
                    break
                at = min(later) + 1
                continue
            top = max(free)
            crossing = h * (top + math.log2(sum(2.0 ** (c - top) for c in free)) - math.log2(rest))
            if crossing <= at or all(edge >= crossing for _, edge in held):
                return int(crossing)
            at = min(edge for _, edge in held) + 1  # a held sum starts falling before then: from there
        return int(at)
    except (OverflowError, ValueError):
        return 0


def due_after(view_at: datetime, state: LeadState, policy: Policy, *, last_sent: datetime) -> datetime | None:
    """The due time of a view read at `view_at`, last sent at `last_sent`."""
    drop = band_drop(state, policy, view_at)
    return None if drop is None else max(drop, last_sent + MIN_INTERVAL)


def state_time(state: LeadState) -> datetime | None:
    """The newest time any of the state's decayed sums is stated at."""
    times = [d.as_of for d in state.scores.values()] + [d.as_of for d in state.interests.values()]
    return max(times, default=None)


ViewOf = Callable[[LeadState, Policy, datetime], dict[str, Any]]


def look_at(
    published: Published, state: LeadState, policy: Policy, until: datetime, view_of: ViewOf
) -> list[Published]:
    """The due looks up to `until`: each a new update (sent) or only a later due time (not sent)."""
    out: list[Published] = []
    current = published
    for _ in range(MAX_STEPS):
        if current.due is None:
            break
        newest = state_time(state)
        at = max(current.due, newest) if newest is not None else current.due
        if at > until:
            if at != current.due:  # the state is dated past `until`: nothing to look at before then
                out.append(Published(current.view, current.at, at, sent=False))
            break
        view = view_of(state, policy, at)
        if view != current.view:
            current = Published(view, at, due_after(at, state, policy, last_sent=at))
        else:
            due = due_after(at, state, policy, last_sent=current.at)
            current = Published(current.view, current.at, due, sent=False)
        out.append(current)
    return out

"""Joining simulated MQLs with the sales decisions recorded in the history, lead by lead. Pure.

A simulated MQL answers to the sales decision that would have been made while it was open: the first
decision on that lead at or after the MQL. With no such decision, it answers to the lead's last earlier
decision only if that decision did not land on the simulation (the simulated lead had no open MQL
then: the simulated policy sends that same stretch of the lead's history later than sales saw it).
Otherwise its outcome is unknown: sales never judged it. Each decision gets at most one MQL per side.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from .fold import RecordedDecision, SimulatedMql


@dataclass(frozen=True)
class Match:
    mql: SimulatedMql
    decision: RecordedDecision | None  # None: outcome unknown


def match_side(side: str, mqls: list[SimulatedMql], decisions: list[RecordedDecision]) -> list[Match]:
    by_lead: dict[str, list[RecordedDecision]] = defaultdict(list)
    for d in decisions:
        by_lead[d.lead_id].append(d)
    for items in by_lead.values():
        items.sort(key=lambda d: d.decided_at)
    out = []
    for mql in sorted(mqls, key=lambda m: (m.lead_id, m.at)):
        history = by_lead.get(mql.lead_id, [])
        times = [d.decided_at for d in history]
        i = bisect.bisect_left(times, mql.at)
        if i < len(history):
            out.append(Match(mql, history[i]))
        elif history and not history[-1].landed.get(side, False):
            out.append(Match(mql, history[-1]))
        else:
            out.append(Match(mql, None))
    return out


def by_decision(matches: list[Match]) -> dict[int, SimulatedMql]:
    """id(decision) -> the simulated MQL that answers to it (the earliest, should two ever do)."""
    found: dict[int, SimulatedMql] = {}
    for m in matches:
        if m.decision is not None and id(m.decision) not in found:
            found[id(m.decision)] = m.mql
    return found


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float | None, float | None, float | None]:
    """(rate, low, high): the Wilson score interval, honest for small n and rates near 0 or 1."""
    if n == 0:
        return None, None, None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(p, 4), round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def in_window(at: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or at >= since) and (until is None or at < until)

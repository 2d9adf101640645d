"""One pass over the stored event log, folded under two policies at once: no IO, no clock.

Each row is parsed once (`LogEntry`) and folded into two `Ledger`s, the worker's own stitching and fold,
so lead ids and identities are exactly the live ones. Activities fold as the worker folds them.

Sales decisions are the delicate part: they were made on the baseline's MQLs in the recorded history.
A decision is applied to a simulated lead only when that lead has an open MQL under the simulated
policy at that moment (then it closes that episode, whatever its number); otherwise the simulated lead
carries on as if sales never looked. The decision itself is kept (`RecordedDecision`) with, per side,
whether it landed, for the join in `report.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from services.common.policy import Policy
from services.common.policy.timemath import shifted

from ..eventlog import LogEntry
from ..stitching import DecisionRecord, Ledger

SIDES = ("baseline", "candidate")
REASONS_KEPT = 3  # reason sentences kept per simulated MQL, for "why" in the report


@dataclass(frozen=True, kw_only=True)
class SimulatedMql:
    lead_id: str
    episode: int
    rule: str
    at: datetime
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RecordedDecision:
    """A sales decision from the log: on which lead, what, why, and when its MQL was made."""

    lead_id: str
    outcome: str
    reason_code: str
    decided_at: datetime
    mql_at: datetime  # the recorded MQL's time: decided_at - time_to_decision_s
    rule: str | None
    policy_version: str | None
    landed: dict[str, bool] = field(default_factory=dict)  # side -> closed an open simulated MQL


@dataclass
class Folded:
    """What one pass produced: MQLs per side and the recorded decisions, lead ids final (merges resolved)."""

    events: int = 0
    leads: int = 0
    mqls: dict[str, list[SimulatedMql]] = field(default_factory=lambda: {s: [] for s in SIDES})
    decisions: list[RecordedDecision] = field(default_factory=list)

    def extend(self, other: Folded) -> None:
        self.events += other.events
        self.leads += other.leads
        for side, mqls in other.mqls.items():
            self.mqls.setdefault(side, []).extend(mqls)
        self.decisions.extend(other.decisions)


class PolicyPair:
    """Folds log entries into a baseline ledger and a candidate ledger."""

    def __init__(self, baseline: Policy, candidate: Policy) -> None:
        self.ledgers = {"baseline": Ledger(baseline), "candidate": Ledger(candidate)}
        self.folded = Folded()

    def fold(self, entry: LogEntry) -> None:
        self.folded.events += 1
        item = entry.entry
        if isinstance(item, DecisionRecord):
            self._decide(item, entry.data)
            return
        for side, ledger in self.ledgers.items():
            ledger.fold(item)
            ledger.applied.clear()  # the worker stores these; a simulation needs only what fired
            if ledger.fired:
                self.folded.mqls[side].extend(_simulated(f.lead_id, f.mql) for f in ledger.fired)
                ledger.fired.clear()

    def _decide(self, decision: DecisionRecord, data: dict[str, Any]) -> None:
        landed = {}
        for side, ledger in self.ledgers.items():
            lead_id = ledger.resolve(decision.lead_id)
            state = ledger.states.get(lead_id)
            landed[side] = state is not None and state.stage == "mql"
            if landed[side]:
                ledger.fold(replace(decision, lead_id=lead_id, episode=state.episode))  # type: ignore[union-attr]
                ledger.applied.clear()
        given = data.get("reason")
        reason: dict[str, Any] = given if isinstance(given, dict) else {}
        waited = _seconds(data.get("time_to_decision_s"))
        self.folded.decisions.append(
            RecordedDecision(
                lead_id=decision.lead_id,
                outcome=decision.outcome,
                reason_code=str(reason.get("code") or "unknown"),
                decided_at=decision.time,
                mql_at=shifted(decision.time, -timedelta(seconds=waited)),
                rule=_text(data.get("rule")),
                policy_version=_text(data.get("policy_version")),
                landed=landed,
            )
        )

    def finish(self) -> Folded:
        """Point every MQL and decision at its lead's final id (stitching merges leads retroactively)."""
        ledger = self.ledgers["baseline"]  # stitching does not depend on the policy: both agree
        out = self.folded
        for side in SIDES:
            out.mqls[side] = [replace(m, lead_id=ledger.resolve(m.lead_id)) for m in out.mqls[side]]
        out.decisions = [replace(d, lead_id=ledger.resolve(d.lead_id)) for d in out.decisions]
        out.leads = sum(1 for k in ledger.states if k not in ledger.merged_into)
        return out


def fold_entries(entries: Any, baseline: Policy, candidate: Policy) -> Folded:
    """The whole pass over an iterable of `LogEntry` in applied order (tests and small logs)."""
    pair = PolicyPair(baseline, candidate)
    for entry in entries:
        pair.fold(entry)
    return pair.finish()


def _simulated(lead_id: str, mql: Any) -> SimulatedMql:
    reasons = tuple(str(r.get("text")) for r in mql.explanation.get("reasons", ())[:REASONS_KEPT])
    return SimulatedMql(lead_id=lead_id, episode=mql.episode, rule=mql.rule_name, at=mql.at, reasons=reasons)


_LONGEST_WAIT_S = 1e13  # a stored wait past timedelta's range must not stop a simulation


def _seconds(value: Any) -> float:
    try:
        return min(max(0.0, float(value)), _LONGEST_WAIT_S)
    except (TypeError, ValueError):
        return 0.0


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None

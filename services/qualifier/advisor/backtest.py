"""Backtesting candidates: one pass over the log, folded under the baseline and every candidate with the
worker's own stitching and fold (the lab's `PolicyPair`, widened to many sides), then each candidate
judged by the lab's own report against the baseline. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.common.policy import LeadState, MqlDecision, Policy
from services.common.policy.rules import qualify_quietly

from ..eventlog import LogEntry
from ..lab.fold import Folded, PolicyPair, SimulatedMql
from ..stitching import Ledger

BASELINE = "baseline"
PROFILE = ("industry", "title_level", "company_size_band")


@dataclass
class FanFolded(Folded):
    """`Folded` for many sides, plus who each decided lead was (for what sales-sourced SQLs share)."""

    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)

    def extend(self, other: Folded) -> None:
        super().extend(other)
        if isinstance(other, FanFolded):
            self.profiles.update(other.profiles)


class QuietLedger(Ledger):
    """The worker's ledger with MQLs left unworded: the advisor counts them and never shows why, and
    wording one costs more than deciding it."""

    def _qualify(self, state: LeadState, at: datetime) -> tuple[LeadState, MqlDecision | None]:
        return qualify_quietly(state, self.policy, at)


class PolicyFan(PolicyPair):
    """`PolicyPair` over any number of named policies: one parse of each entry, one ledger per policy.
    The first policy must be the baseline (named BASELINE)."""

    def __init__(self, policies: dict[str, Policy], *, accounts: bool = False) -> None:
        self.ledgers: dict[str, Ledger] = {name: QuietLedger(p) for name, p in policies.items()}
        self.folded: FanFolded = FanFolded(mqls={name: [] for name in policies})
        self.accounts = accounts  # note each lead's accounts (`Folded.memberships`) for the account pass

    @classmethod
    def resumed(cls, ledgers: dict[str, Ledger]) -> PolicyFan:
        """A fan that carries on from ledgers part way through a lead group (no baseline: the caller
        resolves lead ids)."""
        fan = cls.__new__(cls)
        fan.ledgers = ledgers
        fan.folded = FanFolded(mqls={name: [] for name in ledgers})
        return fan

    def finish(self) -> FanFolded:
        ledger = self.ledgers[BASELINE]
        out = self.folded
        for side, mqls in out.mqls.items():
            out.mqls[side] = [replace(m, lead_id=ledger.resolve(m.lead_id)) for m in mqls]
        out.decisions = [replace(d, lead_id=ledger.resolve(d.lead_id)) for d in out.decisions]
        homes: dict[str, set[str]] = {}
        for lead_id, accounts in out.memberships.items():
            homes.setdefault(ledger.resolve(lead_id), set()).update(accounts)
        out.memberships = homes
        out.leads = sum(1 for k in ledger.states if k not in ledger.merged_into)
        for d in out.decisions:
            state = ledger.states.get(d.lead_id)
            if state is not None:
                out.profiles[d.lead_id] = {k: state.attributes.get(k) for k in PROFILE}
        return out


def fold_fan(entries: Iterable[LogEntry], policies: dict[str, Policy]) -> FanFolded:
    """The whole pass over `LogEntry`s in applied order, one lead group or the whole log."""
    fan = PolicyFan(policies)
    for entry in entries:
        fan.fold(entry)
    return fan.finish()


def pair_view(folded: Folded, side: str) -> Folded:
    """The fan's result as the lab's two-sided `Folded` (baseline against `side`), for `build_report`."""
    decisions = [
        replace(d, landed={"baseline": d.landed.get(BASELINE, False), "candidate": d.landed.get(side, False)})
        for d in folded.decisions
    ]
    mqls: dict[str, list[SimulatedMql]] = {"baseline": folded.mqls[BASELINE], "candidate": folded.mqls[side]}
    return Folded(events=folded.events, leads=folded.leads, mqls=mqls, decisions=decisions)


def reports(
    folded: Folded, baseline: Policy, candidates: Sequence[tuple[str, Policy]], **window: Any
) -> dict[str, dict[str, Any]]:
    from ..lab.report import build_report

    return {name: build_report(pair_view(folded, name), baseline, p, **window) for name, p in candidates}

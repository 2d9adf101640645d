"""The backtest's work shared across candidates, with the same answer as folding each one. Pure.

A candidate edits one rule (or retires it) and keeps the rest of the policy: scoring, topics, fit,
recycling and the paths whose page views are kept as evidence. Folded under such a candidate, a lead
group goes through exactly the baseline's states until the first rule evaluation where the candidate's
first matching rule differs from the baseline's (both look at the same state there: everything before
was identical, and stitching, scores and evidence do not depend on the rules). So each lead group is
folded once under the baseline, and every rule evaluation of that fold is also asked of each
candidate's rules (`RuleView`: the lead's evidence and score worked out once for all of them). A
candidate that never disagrees takes the baseline's MQLs and landed decisions as its own; one that
disagrees takes them up to the entry where it first did, and folds the rest of the group itself with the
lab's own fold (`PolicyFan`), from the baseline's ledger as it was just before that entry. A candidate
that changes more than rules is always folded in full.

Shared MQLs carry the baseline's reason sentences; the advisor reads counts, never those sentences.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from services.common.policy import LeadState, MqlDecision, Policy
from services.common.policy.episode import blocked_reason
from services.common.policy.matching import RuleView

from ..eventlog import LogEntry
from ..stitching import Ledger
from .backtest import BASELINE, FanFolded, PolicyFan, QuietLedger

# what the fold reads besides the rules; `version` and the reasons' words change nothing it computes
_FOLD_FIELDS = tuple(f.name for f in fields(Policy) if f.name not in ("version", "rules"))


def shares_facts(baseline: Policy, candidate: Policy) -> bool:
    """Whether `candidate` differs from `baseline` in its rules only, as far as the fold can tell."""
    return all(getattr(baseline, f) == getattr(candidate, f) for f in _FOLD_FIELDS) and (
        baseline.notable_page_globs == candidate.notable_page_globs
    )


class Watch:
    """At each of the baseline's rule evaluations: which candidates would have named another rule
    (or none, or one where the baseline fired none)."""

    def __init__(self, baseline: Policy, orders: dict[str, tuple[Any, ...]]) -> None:
        self.baseline = baseline.rules
        self.orders = orders  # candidate -> its rules, see `rule_orders`
        self.diverged: set[str] = set()

    def observe(self, state: LeadState, policy: Policy, at: datetime) -> None:
        if len(self.diverged) == len(self.orders) or blocked_reason(state, policy) is not None:
            return
        view = RuleView(state, policy, at)
        answers: dict[int, bool] = {}

        def first(rules: Sequence[Any]) -> str | None:
            for rule in rules:
                hit = answers.get(id(rule))
                if hit is None:
                    hit = answers[id(rule)] = view.holds(rule)
                if hit:
                    return str(rule.name)
            return None

        named = first(self.baseline)
        for name, rules in self.orders.items():
            if name not in self.diverged and first(rules) != named:
                self.diverged.add(name)


def rule_orders(baseline: Policy, candidates: dict[str, Policy]) -> dict[str, tuple[Any, ...]]:
    """Each candidate's rules, an unedited one replaced by the baseline's own object, so that its answer
    is worked out once per evaluation for all candidates."""
    same = {r.name: r for r in baseline.rules}
    return {
        name: tuple(same[r.name] if same.get(r.name) == r else r for r in p.rules)
        for name, p in candidates.items()
    }


@dataclass
class WatchedLedger(QuietLedger):
    """The baseline's ledger, with a `Watch` told of every rule evaluation before it happens."""

    watch: Watch | None = None

    def _qualify(self, state: LeadState, at: datetime) -> tuple[LeadState, MqlDecision | None]:
        if self.watch is not None:
            self.watch.observe(state, self.policy, at)
        return super()._qualify(state, at)


@dataclass(frozen=True)
class Mark:
    """The baseline's fold just before one entry of a lead group: where a candidate that first
    disagreed on that entry starts its own fold (states are immutable: copying the maps is enough)."""

    entry: int
    identities: dict[str, str]
    states: dict[str, LeadState]
    merged_into: dict[str, str]
    mqls: int
    decisions: int


class SharedFan:
    """One lead group folded under the baseline and every candidate (`fold`, then `finish`)."""

    def __init__(
        self,
        baseline: Policy,
        candidates: dict[str, Policy],
        orders: dict[str, tuple[Any, ...]],
        accounts: bool = False,
    ) -> None:
        self.candidates, self.shared = candidates, frozenset(orders)
        self.watch = Watch(baseline, orders)
        apart = {n: p for n, p in candidates.items() if n not in self.shared}
        self.fan = PolicyFan({BASELINE: baseline, **apart}, accounts=accounts)
        self.ledger = self.fan.ledgers[BASELINE] = WatchedLedger(baseline, watch=self.watch)
        self.entries: list[LogEntry] = []
        self.marks: dict[str, Mark] = {}  # candidate -> where it first disagreed

    def fold(self, entry: LogEntry) -> None:
        if len(self.marks) == len(self.shared):  # nothing left to share: only the baseline goes on
            self.entries.append(entry)
            self.fan.fold(entry)
            return
        ledger, folded = self.ledger, self.fan.folded
        mark = Mark(
            len(self.entries),
            dict(ledger.identities),
            dict(ledger.states),
            dict(ledger.merged_into),
            len(folded.mqls[BASELINE]),
            len(folded.decisions),
        )
        self.entries.append(entry)
        self.fan.fold(entry)
        for name in self.watch.diverged - self.marks.keys():
            self.marks[name] = mark

    def finish(self) -> FanFolded:
        out = self.fan.finish()
        resolve = self.ledger.resolve
        for name, mark in self.marks.items():  # the lab's own fold, from where the candidate disagreed
            ledger = QuietLedger(self.candidates[name])
            ledger.identities, ledger.states = dict(mark.identities), dict(mark.states)
            ledger.merged_into = dict(mark.merged_into)
            rest = PolicyFan.resumed({name: ledger})
            for entry in self.entries[mark.entry :]:
                rest.fold(entry)
            out.mqls[name] = out.mqls[BASELINE][: mark.mqls] + [
                replace(m, lead_id=resolve(m.lead_id)) for m in rest.folded.mqls[name]
            ]
            for d in out.decisions[: mark.decisions]:
                d.landed[name] = d.landed[BASELINE]
            for d, theirs in zip(out.decisions[mark.decisions :], rest.folded.decisions, strict=True):
                d.landed[name] = theirs.landed[name]
        agreed = self.shared - self.marks.keys()
        for side in agreed:
            out.mqls[side] = list(out.mqls[BASELINE])
        for d in out.decisions:
            for side in agreed:
                d.landed[side] = d.landed[BASELINE]
        return out


def sharing(baseline: Policy, candidates: dict[str, Policy], *, accounts: bool = False) -> Any:
    """A `start()` for `fold_groups`: a fresh `SharedFan` per lead group (`accounts`: noting each lead's
    accounts for the account pass)."""
    orders = rule_orders(baseline, {n: p for n, p in candidates.items() if shares_facts(baseline, p)})
    return lambda: SharedFan(baseline, candidates, orders, accounts)


def lead_groups(entries: Iterable[LogEntry], policy: Policy) -> list[list[LogEntry]]:
    """An in-memory log grouped by final lead, in applied order within each group, as the stored log is
    read (`lab/source.py`): the lead each entry was folded into, followed through later merges."""
    ledger = Ledger(policy)
    placed: list[tuple[LogEntry, str | None]] = []
    for entry in entries:
        ledger.fold(entry.entry)
        placed.append((entry, ledger.applied[-1].lead_id))
        ledger.applied.clear()
        ledger.fired.clear()
    groups: dict[str, list[LogEntry]] = {}
    for entry, lead_id in placed:
        lead_id = lead_id or getattr(entry.entry, "lead_id", None)  # a decision on an unknown lead
        key = ledger.resolve(lead_id) if lead_id else f"?{entry.event_id}"
        groups.setdefault(key, []).append(entry)
    return list(groups.values())


def fold_shared(entries: Iterable[LogEntry], baseline: Policy, candidates: dict[str, Policy]) -> FanFolded:
    """An in-memory log folded lead group by lead group under the baseline and every candidate."""
    start = sharing(baseline, candidates)
    total = FanFolded(mqls={name: [] for name in (BASELINE, *candidates)})
    for group in lead_groups(entries, baseline):
        folder = start()
        for entry in group:
            folder.fold(entry)
        total.extend(folder.finish())
    return total

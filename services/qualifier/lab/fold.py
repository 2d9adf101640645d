"""One pass over the stored event log, folded under two policies at once: no IO, no clock.

Each row is parsed once (`LogEntry`) and folded into two `Ledger`s, the worker's own stitching and fold,
so lead ids and identities are exactly the live ones. Activities fold as the worker folds them.

Sales decisions are the delicate part: they were made on the baseline's MQLs in the recorded history.
A decision is applied to a simulated lead only when that lead has an open MQL under the simulated
policy at that moment (then it closes that episode, whatever its number); otherwise the simulated lead
carries on as if sales never looked. The decision itself is kept (`RecordedDecision`) with, per side,
whether it landed, for the join in `report.py`.

Accounts (MQAs) need every member of an account at once, so they are a second pass over the whole log in
applied order (`AccountPair`, with replay's own fold); decisions on MQAs land the same way.

On the stored log (source.py) a lead is folded once per policy, not twice: the account pass folds every
lead of an account under each policy with account rules, so for that side (`deferred`) the lead pass
folds only the leads that were never in an account, at the end of their group, and the account pass
reports the MQLs and decision landings of the others (`AccountPair(leads=True)`). Which account a lead
is in reads only its group call and its email (no policy changes those), so the lead pass notes it from
the side it folds. `fold_entries` (tests, small logs) folds every lead in the lead pass: the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from services.common.policy import LeadState, Policy, membership
from services.common.policy.timemath import shifted

from ..buying_groups import AccountFold
from ..eventlog import LogEntry
from ..stitching import AccountDecided, DecisionRecord, Ledger

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
    event_id: str = ""  # the decision's log id: how the account pass's landings find it (`Folded.land`)


@dataclass
class Folded:
    """What one pass produced: MQLs per side and the recorded decisions, lead ids final (merges resolved);
    and, from the pass over accounts (accounts.py), MQAs per side and the decisions on MQAs, as the same
    types with the account id in `lead_id`."""

    events: int = 0
    leads: int = 0
    mqls: dict[str, list[SimulatedMql]] = field(default_factory=lambda: {s: [] for s in SIDES})
    decisions: list[RecordedDecision] = field(default_factory=list)
    mqas: dict[str, list[SimulatedMql]] = field(default_factory=lambda: {s: [] for s in SIDES})
    account_decisions: list[RecordedDecision] = field(default_factory=list)
    # final lead id -> every account it was in under either policy (when either has account rules):
    # which leads the account pass folds together (clusters.py)
    memberships: dict[str, set[str]] = field(default_factory=dict)
    # decision event id -> side -> landed, for lead decisions folded by the account pass (`deferred`)
    landings: dict[str, dict[str, bool]] = field(default_factory=dict)

    def extend(self, other: Folded) -> None:
        self.events += other.events
        self.leads += other.leads
        for side, mqls in other.mqls.items():
            self.mqls.setdefault(side, []).extend(mqls)
        self.decisions.extend(other.decisions)
        for side, mqas in other.mqas.items():
            self.mqas.setdefault(side, []).extend(mqas)
        self.account_decisions.extend(other.account_decisions)
        for lead_id, accounts in other.memberships.items():
            self.memberships.setdefault(lead_id, set()).update(accounts)
        for event_id, landed in other.landings.items():
            self.landings.setdefault(event_id, {}).update(landed)

    def land(self) -> None:
        """After both passes: the landings the account pass found go to the lead pass's decisions."""
        for decision in self.decisions:
            if (landed := self.landings.get(decision.event_id)) is not None:
                decision.landed.update(landed)
        self.landings = {}


class PolicyPair:
    """Folds log entries into a baseline ledger and a candidate ledger. With `defer`, a candidate with
    account rules folds a lead group only at its end, and only when no lead of it was ever in an account
    (the account pass folds the rest: see the module's docstring)."""

    accounts = False  # whether to note each lead's accounts (`Folded.memberships`) for the account pass
    deferred: frozenset[str] = frozenset()

    def __init__(self, baseline: Policy, candidate: Policy, *, defer: bool = False) -> None:
        self.ledgers = {"baseline": Ledger(baseline), "candidate": Ledger(candidate)}
        self.folded = Folded()
        self.accounts = AccountPair.needed(baseline, candidate)
        if defer:
            self.deferred = AccountPair.lead_sides(baseline, candidate)
        self.pending: list[LogEntry] = []  # the group's entries, while a side is deferred

    def fold(self, entry: LogEntry) -> None:
        self.folded.events += 1
        if self.deferred:
            self.pending.append(entry)
        item = entry.entry
        if isinstance(item, DecisionRecord):
            self._decide(item, entry.data)
            return
        for side, ledger in self.ledgers.items():
            if side in self.deferred:
                continue
            ledger.fold(item)
            if self.accounts and ledger.applied[-1].lead_id is not None:
                state = ledger.states[ledger.resolve(ledger.applied[-1].lead_id)]
                self._note_accounts(state, ledger.policy)
                if side == "baseline":  # the group call and the email are the same under every policy
                    for other in self.deferred:
                        self._note_accounts(state, self.ledgers[other].policy)
            self._collect(side, ledger)

    def _note_accounts(self, state: LeadState, policy: Policy) -> None:
        if (home := membership(state, policy)) is not None:
            self.folded.memberships.setdefault(state.lead_id, set()).add(home.account_id)

    def _collect(self, side: str, ledger: Ledger) -> None:
        ledger.applied.clear()  # the worker stores these; a simulation needs only what fired
        if ledger.fired:
            self.folded.mqls[side].extend(_simulated(f.lead_id, f.mql) for f in ledger.fired)
            ledger.fired.clear()

    def _decide(self, decision: DecisionRecord, data: dict[str, Any]) -> None:
        landed = {
            side: land_decision(ledger, decision)
            for side, ledger in self.ledgers.items()
            if side not in self.deferred
        }
        for ledger in self.ledgers.values():
            ledger.applied.clear()
        self.folded.decisions.append(
            recorded(decision.lead_id, decision.outcome, decision.time, data, landed, decision.event_id)
        )

    def _fold_deferred(self) -> None:
        """A group in no account: the deferred sides fold it now, in the same order."""
        decisions = iter(self.folded.decisions)  # one per decision entry, in order
        for entry in self.pending:
            item = entry.entry
            if isinstance(item, DecisionRecord):
                decided = next(decisions)
                for side in self.deferred:
                    decided.landed[side] = land_decision(self.ledgers[side], item)
                    self.ledgers[side].applied.clear()
                continue
            for side in self.deferred:
                self.ledgers[side].fold(item)
                self._collect(side, self.ledgers[side])
        self.pending = []

    def finish(self) -> Folded:
        """Point every MQL and decision at its lead's final id (stitching merges leads retroactively)."""
        if self.deferred and not self.folded.memberships:
            self._fold_deferred()
        ledger = self.ledgers["baseline"]  # stitching does not depend on the policy: both agree
        out = self.folded
        for side in SIDES:
            out.mqls[side] = [replace(m, lead_id=ledger.resolve(m.lead_id)) for m in out.mqls[side]]
        out.decisions = [replace(d, lead_id=ledger.resolve(d.lead_id)) for d in out.decisions]
        homes: dict[str, set[str]] = {}
        for lead_id, accounts in out.memberships.items():
            homes.setdefault(ledger.resolve(lead_id), set()).update(accounts)
        out.memberships = homes
        out.leads = sum(1 for k in ledger.states if k not in ledger.merged_into)
        return out


class AccountPair:
    """Accounts folded under both policies (buying_groups.AccountFold, replay's fold) over the whole log
    in applied order: an account's members are many leads, so this is a pass of its own. A recorded
    decision on an MQA lands as a lead's does: only on an account with an open MQA under the simulated
    policy, closing that episode; lead decisions land as in `PolicyPair`. With `leads`, the sides a
    deferring `PolicyPair` left to this pass (`lead_sides`) also report their leads' MQLs and where
    lead decisions landed."""

    lead_sides_here: frozenset[str] = frozenset()

    def __init__(self, baseline: Policy, candidate: Policy, *, leads: bool = False) -> None:
        # a side without account rules has no MQAs whatever happens: its leads are not folded again
        sides = {"baseline": baseline, "candidate": candidate}
        self.folds = {side: AccountFold.under(p) for side, p in sides.items() if p.accounts.rules}
        self.folded = Folded()
        if leads:
            self.lead_sides_here = AccountPair.lead_sides(baseline, candidate)

    @staticmethod
    def needed(*policies: Policy) -> bool:
        return any(p.accounts.rules for p in policies)

    @staticmethod
    def lead_sides(baseline: Policy, candidate: Policy) -> frozenset[str]:
        """The sides whose leads in an account this pass can fold instead of the lead pass: the candidate
        when it has account rules (the baseline's ledger stays in the lead pass: it names the leads)."""
        return frozenset({"candidate"}) if candidate.accounts.rules else frozenset()

    def fold(self, entry: LogEntry) -> None:
        item = entry.entry
        if isinstance(item, AccountDecided):
            self._decide(item, entry.data)
            return
        for side, fold in self.folds.items():
            leads = side in self.lead_sides_here
            if isinstance(item, DecisionRecord):
                landed = land_decision(fold.ledger, item)
                if landed:
                    fold.groups.observe(fold.ledger)  # the member's stage moved
                if leads:
                    self.folded.landings.setdefault(item.event_id, {})[side] = landed
            else:
                fold.fold(item)
                if leads:
                    self.folded.mqls[side].extend(_simulated(f.lead_id, f.mql) for f in fold.ledger.fired)
                fold.ledger.fired.clear()  # else lead MQLs come from the pass lead by lead
            fold.settle()
            self._fired(side)

    def _decide(self, decided: AccountDecided, data: dict[str, Any]) -> None:
        landed = dict.fromkeys(self.folded.mqas, False)
        for side, fold in self.folds.items():
            account = fold.book.accounts.get(decided.account_id)
            landed[side] = account is not None and account.stage == "mqa"
            if landed[side]:
                fold.book.decide(replace(decided, episode=account.episode))  # type: ignore[union-attr]
                self._fired(side)  # a decision may let the account qualify again at once
        self.folded.account_decisions.append(
            recorded(decided.account_id, decided.outcome, decided.time, data, landed)
        )

    def _fired(self, side: str) -> None:
        book = self.folds[side].book
        if book.fired:
            self.folded.mqas[side].extend(_simulated(m.account_id, m) for m in book.fired)
            book.fired.clear()

    def finish(self) -> Folded:
        for side in self.lead_sides_here:
            resolve = self.folds[side].ledger.resolve
            self.folded.mqls[side] = [replace(m, lead_id=resolve(m.lead_id)) for m in self.folded.mqls[side]]
        return self.folded


def land_decision(ledger: Ledger, decision: DecisionRecord) -> bool:
    """Apply a recorded decision to the simulated lead if it has an open MQL (closing that episode,
    whatever its number); whether it did. The caller clears `ledger.applied`."""
    lead_id = ledger.resolve(decision.lead_id)
    state = ledger.states.get(lead_id)
    if state is None or state.stage != "mql":
        return False
    ledger.fold(replace(decision, lead_id=lead_id, episode=state.episode))
    return True


def recorded(
    subject: str,
    outcome: str,
    decided_at: datetime,
    data: dict[str, Any],
    landed: dict[str, bool],
    event_id: str = "",
) -> RecordedDecision:
    """A decision as the report joins it (`subject`: the lead, or the account of a decision on an MQA)."""
    given = data.get("reason")
    reason: dict[str, Any] = given if isinstance(given, dict) else {}
    waited = _seconds(data.get("time_to_decision_s"))
    return RecordedDecision(
        lead_id=subject,
        outcome=outcome,
        reason_code=str(reason.get("code") or "unknown"),
        decided_at=decided_at,
        mql_at=shifted(decided_at, -timedelta(seconds=waited)),
        rule=_text(data.get("rule")),
        policy_version=_text(data.get("policy_version")),
        landed=landed,
        event_id=event_id,
    )


def fold_entries(entries: Any, baseline: Policy, candidate: Policy) -> Folded:
    """The whole pass over a list of `LogEntry` in applied order (tests and small logs): lead by lead
    as one ledger, and accounts as the stored log's pass does them."""
    pair = PolicyPair(baseline, candidate)
    for entry in entries:
        pair.fold(entry)
    folded = pair.finish()
    if AccountPair.needed(baseline, candidate):
        accounts = AccountPair(baseline, candidate)
        for entry in entries:
            accounts.fold(entry)
        folded.extend(accounts.finish())
    return folded


def _simulated(subject: str, qualified: Any) -> SimulatedMql:
    """An MQL (or an MQA: `subject` is then its account) as the report counts it."""
    reasons = tuple(str(r.get("text")) for r in qualified.explanation.get("reasons", ())[:REASONS_KEPT])
    return SimulatedMql(
        lead_id=subject, episode=qualified.episode, rule=qualified.rule_name, at=qualified.at, reasons=reasons
    )


_LONGEST_WAIT_S = 1e13  # a stored wait past timedelta's range must not stop a simulation


def _seconds(value: Any) -> float:
    try:
        return min(max(0.0, float(value)), _LONGEST_WAIT_S)
    except (TypeError, ValueError):
        return 0.0


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None

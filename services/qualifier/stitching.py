"""Identity stitching and the fold of the event log into lead states: one `Ledger`, no IO.

The live worker loads the identities and leads a batch touches into a ledger, folds the batch and writes
back what changed; `leadstate replay` folds the whole stored log into an empty ledger in the order the
worker applied it. Same code, same order, same answer.

Identities are strings: "user:<userId>", "email:<lower-case email>", "anon:<anonymousId>". A lead's id
comes from the identity that created it (`lead_id_for`), so a replay reproduces it. The strongest
identity of an event decides its lead (user, then email, then anonymous id); weaker identities found on
other leads that are not someone else's are merged into it, history included, retroactively.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.common.policy import (
    Activity,
    LeadState,
    MqlDecision,
    Policy,
    apply_activity,
    apply_decision,
    qualify,
)
from services.common.policy import merge_states as merge_lead_states


@dataclass(frozen=True, kw_only=True)
class DecisionRecord:
    """A sales decision (from `lead.decisions`) as the fold sees it."""

    event_id: str
    lead_id: str
    outcome: str
    episode: int
    time: datetime  # decided_at


@dataclass(frozen=True, kw_only=True)
class AccountDecided:
    """A sales decision on an MQA (account.decision.v1): it moves an account, not a lead. It is in the
    log like a lead decision (events.lead_id "-"), so a replay closes the episode where the worker did;
    the account fold applies it (buying_groups.py), the lead fold passes it by."""

    event_id: str
    account_id: str
    outcome: str
    episode: int
    time: datetime  # decided_at


Entry = Activity | DecisionRecord | AccountDecided


@dataclass(frozen=True)
class Fired:
    lead_id: str
    mql: MqlDecision


@dataclass(frozen=True)
class Applied:
    """One entry of the log and the lead it was folded into (None: a decision for an unknown lead)."""

    entry: Entry
    lead_id: str | None


def lead_id_for(identity: str) -> str:
    return "ld_" + hashlib.sha1(identity.encode()).hexdigest()[:20]


def email_of(activity: Activity) -> str | None:
    value = activity.traits.get("email")
    return value.strip().lower() if isinstance(value, str) and "@" in value else None


Keys = tuple[str | None, tuple[str, ...], tuple[str, ...]]


def identity_keys(activity: Activity) -> Keys:
    """(the strongest identity, the weaker ones it links, ids an `alias` says are the same person).
    Asked three times per entry (the batch's lookups, the changelog's catch-up, the fold): worked out
    once and kept in the (immutable) activity's __dict__, as its own cached fields are."""
    keys: Keys | None = activity.__dict__.get("_identity_keys")
    if keys is None:
        keys = activity.__dict__["_identity_keys"] = _identity_keys(activity)
    return keys


def _identity_keys(activity: Activity) -> Keys:
    ranked = [
        f"user:{activity.user_id}" if activity.user_id else None,
        f"email:{email}" if (email := email_of(activity)) else None,
        f"anon:{activity.anonymous_id}" if activity.anonymous_id else None,
    ]
    present = [k for k in ranked if k]
    aliased: tuple[str, ...] = ()
    if activity.kind == "alias":
        previous = activity.properties.get("previousId")
        if isinstance(previous, str) and previous.strip():
            aliased = (f"user:{previous.strip()}", f"anon:{previous.strip()}")
    return (present[0] if present else None), tuple(present[1:]), aliased


def all_identities(entries: list[Entry]) -> set[str]:
    keys: set[str] = set()
    for entry in entries:
        if isinstance(entry, Activity):
            primary, linked, aliased = identity_keys(entry)
            keys.update(k for k in (primary, *linked, *aliased) if k)
    return keys


@dataclass
class Ledger:
    policy: Policy
    identities: dict[str, str] = field(default_factory=dict)  # identity -> lead id (maybe merged)
    states: dict[str, LeadState] = field(default_factory=dict)
    merged_into: dict[str, str] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    new_identities: set[str] = field(default_factory=set)
    merged: set[str] = field(default_factory=set)  # leads merged away while folding
    applied: list[Applied] = field(default_factory=list)
    fired: list[Fired] = field(default_factory=list)

    def resolve(self, lead_id: str) -> str:
        seen = {lead_id}
        while lead_id in self.merged_into:
            lead_id = self.merged_into[lead_id]
            if lead_id in seen:  # a cycle would be a bug; stop rather than spin
                break
            seen.add(lead_id)
        return lead_id

    def lookup(self, identity: str) -> str | None:
        lead_id = self.identities.get(identity)
        return self.resolve(lead_id) if lead_id else None

    def fold(self, entry: Entry) -> None:
        if isinstance(entry, DecisionRecord):
            self._decide(entry)
        elif isinstance(entry, AccountDecided):
            self.applied.append(Applied(entry, None))
        else:
            self._act(entry)

    def _decide(self, decision: DecisionRecord) -> None:
        lead_id = self.resolve(decision.lead_id)
        state = self.states.get(lead_id)
        if state is None:
            self.applied.append(Applied(decision, None))
            return
        new = apply_decision(state, decision.outcome, decision.time, decision.episode)
        self._put(new)
        self.applied.append(Applied(decision, lead_id))

    def _act(self, activity: Activity) -> None:
        primary, linked, aliased = identity_keys(activity)
        if primary is None:  # ingest refuses these; a hand-made envelope may still carry one
            self.applied.append(Applied(activity, None))
            return
        target = self.lookup(primary)
        if target is None:
            target = self._adopt(primary, linked) or self._create(primary)
        for key in linked:
            self._link(key, target, force=False)
        for key in aliased:
            self._link(key, target, force=True)
        state = apply_activity(self.states[target], activity, self.policy)
        state, mql = self._qualify(state, activity.time)
        self._put(state)
        if mql is not None:
            self.fired.append(Fired(target, mql))
        self.applied.append(Applied(activity, target))

    def _qualify(self, state: LeadState, at: datetime) -> tuple[LeadState, MqlDecision | None]:
        """The rules' turn after each activity (the policy advisor watches it)."""
        return qualify(state, self.policy, at)

    def _adopt(self, primary: str, linked: tuple[str, ...]) -> str | None:
        """An email seen first on an already known lead (found through its anonymous id) joins it."""
        if not primary.startswith("email:"):
            return None
        for key in linked:
            lead_id = self.lookup(key)
            if lead_id is not None and self.states[lead_id].known and not self.states[lead_id].email:
                self._map(primary, lead_id)
                return lead_id
        return None

    def _create(self, identity: str) -> str:
        lead_id = lead_id_for(identity)
        if lead_id not in self.states:
            self.states[lead_id] = LeadState.new(lead_id)
            self.changed.add(lead_id)
        self._map(identity, lead_id)
        return lead_id

    def _link(self, key: str, target: str, *, force: bool) -> None:
        other = self.lookup(key)
        if other is None:  # from now on this identity means this lead
            self._map(key, target)
            return
        if other == target:
            return
        theirs, ours = self.states[other], self.states[target]
        # another person's lead stays theirs (a shared device); `alias` says explicitly it is the same
        if force or theirs.user_id is None or theirs.user_id == ours.user_id:
            self._merge(other, target)

    def _merge(self, other: str, target: str) -> None:
        merged = merge_lead_states(self.states[target], self.states[other], self.policy)
        self._put(merged)
        self.merged_into[other] = target
        self.merged.add(other)
        self.changed.add(other)  # its identities follow through `resolve`; the store re-points them

    def _map(self, identity: str, lead_id: str) -> None:
        self.identities[identity] = lead_id
        self.new_identities.add(identity)

    def _put(self, state: LeadState) -> None:
        self.states[state.lead_id] = state
        self.changed.add(state.lead_id)


def activity_from_message(event_id: str, message: dict[str, Any], time: datetime) -> Activity:
    """`Activity.from_segment`, keeping an alias's `previousId` (for stitching) and a group call's
    `groupId` (the account, accounts.py): both are top-level fields, kept in the properties."""
    activity = Activity.from_segment(event_id, message, time)
    for kind, key in (("alias", "previousId"), ("group", "groupId")):
        if activity.kind == kind and message.get(key) is not None:
            activity = replace(activity, properties={**activity.properties, key: str(message[key])})
    return activity


@contextmanager
def fewer_collections(young: int = 50_000) -> Iterator[None]:
    """For long folds (the worker, a replay): the fold allocates a few small containers per event and
    keeps many states alive. With the default thresholds (a young collection every 700 allocations,
    full ones scanning every live state) collecting cost half the fold at 200,000 events and grew with
    the number of leads held. Collect the young generation less often, and leave what existed before
    (modules, the policy, schemas) out of collections meanwhile. Restores the thresholds on exit."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(young, before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()

"""Accounts folded beside the leads: membership, members' snapshots and MQAs, in event time, no IO.

After each entry the fold applies, `BuyingGroups.observe` notes the lead's account and its snapshot as
a member (`Seen`), or the sales decision on an MQA the entry is (`AccountDecided`); the `Book` then
applies those notes in the same order, so the batch boundaries never matter and a replay of the log in
the worker's order makes the same MQAs. The live worker loads into the book only the accounts a
transaction touches (`account_store.py`); a replay holds them all.

An account is evaluated at its own clock: the latest event time among its members (or the note's, if
later). Members' events travel on different partitions (and qualifier members), so they arrive in any
order: evaluated at the event time of whatever arrived last, a reader dated later than the one being
applied would be outside the window, and a buying group whose last-arriving reader is not its latest
would never qualify.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from services.common.policy import (
    AccountState,
    LeadState,
    Member,
    Membership,
    Mqa,
    Policy,
    apply_account_decision,
    member_from_lead,
    membership,
    qualify_account,
)
from services.common.policy.account_checks import attribute_fit
from services.common.policy.account_rules import stage_blocks

from .stitching import AccountDecided, Entry, Ledger


@dataclass(frozen=True)
class Seen:
    """A lead after one entry: its account (None: none, or merged into another lead) and its state then
    (None without an account), from which the `Book` takes the member's snapshot when it needs one."""

    lead_id: str
    membership: Membership | None
    state: LeadState | None
    at: datetime


@dataclass
class BuyingGroups:
    """What one fold did to accounts, in the order it did it."""

    policy: Policy
    seen: list[Seen | AccountDecided] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)  # leads merged away: they leave their account

    @property
    def enabled(self) -> bool:
        return bool(self.policy.accounts.rules or self.policy.accounts.roles)

    def observe(self, ledger: Ledger) -> None:
        applied = ledger.applied[-1]
        if isinstance(applied.entry, AccountDecided):
            self.seen.append(applied.entry)
            return
        if applied.lead_id is None or not self.enabled:
            return
        at = applied.entry.time
        if len(ledger.merged) != len(self.gone):  # a lead merged away by this entry: it leaves
            for lead_id in sorted(ledger.merged - self.gone):
                self.gone.add(lead_id)
                self.seen.append(Seen(lead_id, None, None, at))
        state = ledger.states[ledger.resolve(applied.lead_id)]
        home = membership(state, self.policy)
        self.seen.append(Seen(state.lead_id, home, state if home is not None else None, at))

    def accounts(self) -> set[str]:
        out = set()
        for s in self.seen:
            if isinstance(s, AccountDecided):
                out.add(s.account_id)
            elif s.membership is not None:
                out.add(s.membership.account_id)
        return out

    def lead_ids(self) -> set[str]:
        return {s.lead_id for s in self.seen if isinstance(s, Seen)}


@dataclass
class Book:
    """Accounts and their members in memory, and what applying notes changed in them."""

    policy: Policy
    accounts: dict[str, AccountState] = field(default_factory=dict)  # without members: see `members`
    _members: dict[str, dict[str, Member]] = field(default_factory=dict)  # account -> lead -> member
    sources: dict[str, str] = field(default_factory=dict)  # lead -> "group" | "domain"
    home: dict[str, str] = field(default_factory=dict)  # lead -> its account
    changed_members: set[str] = field(default_factory=set)
    changed_accounts: set[str] = field(default_factory=set)
    fired: list[Mqa] = field(default_factory=list)
    # per account, whether its company meets each rule's attribute conditions (`attribute_fit`): kept
    # until a member joins, leaves or changes its traits, so an account of the wrong industry or size
    # costs no evaluation however busy its members are
    fits: dict[str, tuple[bool, ...]] = field(default_factory=dict)
    # account -> lead -> its newest state, for members of an account whose episode is open: nothing
    # compares their snapshots meanwhile, so each is taken once, when read (`members`, `state`)
    later: dict[str, dict[str, LeadState]] = field(default_factory=dict)

    @property
    def members(self) -> dict[str, dict[str, Member]]:
        """Account -> lead -> member, every snapshot taken."""
        for account_id in list(self.later):
            self._settle(account_id)
        return self._members

    def _settle(self, account_id: str) -> None:
        members = self._members.setdefault(account_id, {})
        for lead, state in self.later.pop(account_id, {}).items():
            members[lead] = member_from_lead(state, self.policy)

    def take(self, note: Seen | AccountDecided) -> None:
        """One note of `BuyingGroups.seen`, in order."""
        if isinstance(note, Seen):
            self.apply(note)
        else:
            self.decide(note)

    def apply(self, seen: Seen) -> None:
        lead, before = seen.lead_id, self.home.get(seen.lead_id)
        after = seen.membership.account_id if seen.membership is not None else None
        if before is not None and before != after:  # moved (a group call) or merged into another lead
            self._members.get(before, {}).pop(lead, None)
            self.later.get(before, {}).pop(lead, None)
            del self.home[lead]
            self.changed_accounts.add(before)
            self.fits.pop(before, None)
        self.changed_members.add(lead)
        if after is None or seen.state is None or seen.membership is None:
            return
        self.home[lead] = after
        self.sources[lead] = seen.membership.source
        members = self._members.setdefault(after, {})
        account = self.accounts.setdefault(after, AccountState(account_id=after))
        self.changed_accounts.add(after)
        if before == after and lead in members and self._closed(account):
            self.later.setdefault(after, {})[lead] = seen.state  # an open episode: no rule is checked
            return
        if (pending := self.later.get(after, {}).pop(lead, None)) is not None:
            members[lead] = member_from_lead(pending, self.policy)
        known = members.get(lead)
        member = members[lead] = member_from_lead(seen.state, self.policy)
        if known is None or not _same_company(known, member):
            self.fits.pop(after, None)
        if before == after and known is not None and not _grew(known, member):
            return  # with time alone, windows close and scores decay: no rule can newly hold
        self._qualify(after, seen.at)

    def decide(self, decided: AccountDecided) -> None:
        """A sales decision on an MQA: closes the episode (one for another episode changes nothing).
        Activity dated after a not-SQL decision may have arrived before it: the account is looked at."""
        account = self.accounts.get(decided.account_id)
        if account is None:
            return
        after = apply_account_decision(account, decided.outcome, decided.time, decided.episode)
        if after != account:
            self.accounts[decided.account_id] = after
            self.changed_accounts.add(decided.account_id)
            self.fits.pop(decided.account_id, None)  # traits may have changed while nothing was checked
            self._qualify(decided.account_id, decided.time)

    def _closed(self, account: AccountState) -> bool:
        """No rule can fire for the account now: an open MQA episode (or no account rules at all)."""
        return not self.policy.accounts.rules or stage_blocks(account, self.policy) is not None

    def _qualify(self, account_id: str, at: datetime) -> None:
        if self._closed(self.accounts[account_id]):
            return  # an open episode (most notes): no need to gather the members
        fit = self.fits.get(account_id)
        if fit is not None and not any(fit):
            return
        state = self.state(account_id)
        if fit is None:
            fit = self.fits[account_id] = attribute_fit(state, self.policy)
        clock = max((m.last_activity_at for m in state.members if m.last_activity_at is not None), default=at)
        qualified, mqa = qualify_account(state, self.policy, max(at, clock), fit)
        if mqa is not None:
            self.accounts[account_id] = replace(qualified, members=())
            self.fired.append(mqa)

    def state(self, account_id: str) -> AccountState:
        """The account with its members (in lead id order: the same tuple live and in a replay)."""
        if account_id in self.later:
            self._settle(account_id)
        members = self._members.get(account_id, {})
        return replace(self.accounts[account_id], members=tuple(members[k] for k in sorted(members)))


@dataclass
class AccountFold:
    """Leads and accounts of a whole log, folded entry by entry in the worker's applied order: what a
    replay (replay.py) and the policy lab (lab/accounts.py) share. An account's members are many leads,
    so unlike lead state it cannot be folded one lead at a time."""

    ledger: Ledger
    groups: BuyingGroups
    book: Book

    @classmethod
    def under(cls, policy: Policy) -> AccountFold:
        return cls(Ledger(policy), BuyingGroups(policy), Book(policy))

    def fold(self, entry: Entry) -> None:
        self.ledger.fold(entry)
        self.groups.observe(self.ledger)

    def settle(
        self, adjust: Callable[[AccountDecided], AccountDecided | None] = lambda decided: decided
    ) -> None:
        """Apply the notes folded since the last call, in order; `adjust` may rewrite a decision on an
        MQA (or drop it: None) against the book as it stands then."""
        for note in self.groups.seen:
            if isinstance(note, AccountDecided):
                adjusted = adjust(note)
                if adjusted is None:
                    continue
                note = adjusted
            self.book.take(note)
        self.groups.seen.clear()
        self.ledger.applied.clear()  # the worker stores these; a fold of the log needs only the states


def _grew(before: Member, after: Member) -> bool:
    """Whether the member brings anything a rule could newly hold on: new behaviour, a role, a trait."""
    return (
        before.signals != after.signals
        or before.roles != after.roles
        or before.attribute_sources != after.attribute_sources
    )


def _same_company(before: Member, after: Member) -> bool:
    """Whether the member describes its company as before (what `attribute_fit` reads)."""
    return before.attribute_sources == after.attribute_sources and before.attributes == after.attributes

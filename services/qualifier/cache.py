"""The lead states and identities a qualifier member holds in memory: those of the partitions it owns,
least recently active evicted beyond a byte budget (`LEADSTATE_QUALIFIER_CACHE_MB`).

The cache only ever holds committed values (read from PostgreSQL or written by a committed
transaction), each lead with the row version it had. It may be stale (another member wrote the lead
through an identity on its own partition, or took the partition over): the store checks the version
under a row lock before anything is written, and a mismatch evicts the lead and reloads it. So the
cache decides how fast a member is, never what it decides.

Accounts (`AccountCache`) sit beside the leads on the same terms: committed values only, each account
(its row and its members: every one, or of a large account its most recently active and its company
holders) with the version it had; the account store locks the row and uses the copy as it is where the
version is unchanged, else brings it up to date with the members written since (account_store.py).
They may take half of the budget (a large account's copy is a few hundred members: 80 of them take
about 250 MB, and evicting them in turn would read them again every transaction); the leads have
what is left.

A lead's size is estimated from its stored JSON: the objects of a parsed state take a little over
twice the bytes of its text (tracemalloc over 1,500 demo leads: 4,757 bytes for 2,091 of JSON, 2.3
times; a member 4,074 for 1,690, 2.4 times), plus the entry and its identities. The estimate, not a
`sys.getsizeof` walk, is what the budget counts; tests/unit/qualifier/test_cache.py holds it to what
tracemalloc counts. (Until 2026-12-05 the factor was 1.1, from an RSS reading: a 512 MB budget then
held about 1.9 GB of states. Until 2026-12-06 evidence items had a dict each and a copy of every text:
3.9 and 4.2 times.)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from services.common.policy import LeadState, Member

ENTRY_OVERHEAD = 500  # the entry, its key, the identities' keys and the LRU links
MEMBER_OVERHEAD = 200  # a member's entries in the account's dicts and in `AccountCache.home`
WHOLE = 1 << 62  # the depth of an account held whole (`CachedAccount.depth`)


@dataclass(slots=True)
class CachedLead:
    state: LeadState | None  # None: merged away (then `merged_into` says where)
    merged_into: str | None
    version: int
    partition: int | None
    size: int
    identities: set[str] = field(default_factory=set)


def estimated_size(state_json_bytes: int) -> int:
    return state_json_bytes * 23 // 10 + ENTRY_OVERHEAD


@dataclass(slots=True)
class CachedAccount:
    version: int
    members: dict[str, Member]  # lead id -> member, every member of the account
    sources: dict[str, str]  # lead id -> "group" | "domain"
    sizes: dict[str, int]  # lead id -> the member's estimated bytes
    # how many of the account's most recently active members `members` surely holds (beside the
    # company holders): a large account is held only that far (account_store.py); WHOLE: every member
    depth: int = WHOLE

    @property
    def size(self) -> int:
        return ENTRY_OVERHEAD + sum(self.sizes.values())


def member_size(member_json_bytes: int) -> int:
    return member_json_bytes * 24 // 10 + MEMBER_OVERHEAD


V = TypeVar("V", CachedLead, CachedAccount)


class ByteBudgetLru(Generic[V]):
    """Entries least recently used first, each counted by its estimated `size`: the one LRU the lead and
    account caches share (what is forgotten with an entry is the subclass's `_forgotten`)."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.entries: OrderedDict[str, V] = OrderedDict()  # least recently used first
        self.bytes = 0

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: str) -> V | None:
        """The entry, now the most recently used."""
        cached = self.entries.get(key)
        if cached is not None:
            self.entries.move_to_end(key)
        return cached

    def put(self, key: str, cached: V) -> V | None:
        """Store (as the most recently used); the entry it replaced, if any."""
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= old.size
        self.entries[key] = cached
        self.bytes += cached.size
        return old

    def forget(self, keys: Iterable[str]) -> None:
        for key in keys:
            if (old := self.entries.pop(key, None)) is not None:
                self.bytes -= old.size
                self._forgotten(key, old)

    def _forgotten(self, key: str, old: V) -> None:
        """What else goes with an entry (the lead cache's identities)."""

    def evict_oldest(self) -> None:
        self.forget([next(iter(self.entries))])

    def clear(self) -> None:
        self.entries.clear()
        self.bytes = 0


class AccountCache(ByteBudgetLru[CachedAccount]):
    def account(self, account_id: str) -> CachedAccount | None:
        return self.get(account_id)

    def fit(self) -> None:
        while self.bytes > self.budget and self.entries:
            self.evict_oldest()


class LeadCache(ByteBudgetLru[CachedLead]):
    def __init__(self, budget_bytes: int) -> None:
        super().__init__(budget_bytes)
        self.identities: dict[str, str] = {}  # identity -> lead id (maybe a merged one)
        self.evicted = 0
        self.accounts = AccountCache(budget_bytes // 2)

    @property
    def leads(self) -> OrderedDict[str, CachedLead]:
        return self.entries

    def lead(self, lead_id: str) -> CachedLead | None:
        return self.get(lead_id)

    def identity(self, key: str) -> str | None:
        return self.identities.get(key)

    def put(self, lead_id: str, cached: CachedLead) -> CachedLead | None:
        old = super().put(lead_id, cached)
        if old is not None:
            cached.identities |= old.identities
        return old

    def link(self, identity: str, lead_id: str) -> None:
        """Remember an identity of a cached lead (an identity of a lead not cached is not kept)."""
        cached = self.leads.get(lead_id)
        if cached is None:
            return
        previous = self.identities.get(identity)
        if previous is not None and previous != lead_id and (prev := self.leads.get(previous)):
            prev.identities.discard(identity)
        self.identities[identity] = lead_id
        cached.identities.add(identity)

    def _forgotten(self, lead_id: str, old: CachedLead) -> None:
        for identity in old.identities:
            if self.identities.get(identity) == lead_id:
                del self.identities[identity]

    def forget_identities(self, keys: Iterable[str]) -> None:
        for key in keys:
            lead_id = self.identities.pop(key, None)
            if lead_id is not None and (cached := self.leads.get(lead_id)):
                cached.identities.discard(key)

    def moved(self, versions: dict[str, int]) -> None:
        """Row versions this member moved without changing the state (the sweep): kept, not evicted."""
        for lead_id, version in versions.items():
            if (cached := self.leads.get(lead_id)) is not None:
                cached.version = version

    def drop_partitions(self, partitions: set[int]) -> None:
        """On revoke: the partitions' leads belong to their next owner now."""
        self.forget([k for k, c in self.leads.items() if c.partition in partitions])

    def clear(self) -> None:
        super().clear()
        self.identities.clear()
        self.accounts.clear()

    def fit(self) -> None:
        """Evict the least recently used accounts beyond their half, then the least recently active
        leads until the cache (leads and accounts) is within its budget."""
        self.accounts.fit()
        while self.bytes + self.accounts.bytes > self.budget and self.entries:
            self.evict_oldest()
            self.evicted += 1

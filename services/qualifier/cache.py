"""The lead states and identities a qualifier member holds in memory: those of the partitions it owns,
least recently active evicted beyond a byte budget (`LEADSTATE_QUALIFIER_CACHE_MB`).

The cache only ever holds committed values (read from PostgreSQL or written by a committed
transaction), each lead with the row version it had. It may be stale (another member wrote the lead
through an identity on its own partition, or took the partition over): the store checks the version
under a row lock before anything is written, and a mismatch evicts the lead and reloads it. So the
cache decides how fast a member is, never what it decides.

Accounts (`AccountCache`) sit beside the leads on the same terms: committed values only, each account
whole (its row and every member) with the version it had; the account store locks the row and uses the
copy only where the version is unchanged, else reads the members written since (account_store.py).
They may take a quarter of the budget; the leads have what is left.

A lead's size is estimated from its stored JSON (the objects of a parsed state took 1.09 times the
bytes of its text, measured over 20,000 demo leads: 2,306 bytes of RSS for 2,124 of JSON), plus the
entry and its identities; the estimate, not a `sys.getsizeof` walk, is what the budget counts.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from services.common.policy import LeadState, Member

ENTRY_OVERHEAD = 500  # the entry, its key, the identities' keys and the LRU links
MEMBER_OVERHEAD = 200  # a member's entries in the account's dicts and in `AccountCache.home`


@dataclass(slots=True)
class CachedLead:
    state: LeadState | None  # None: merged away (then `merged_into` says where)
    merged_into: str | None
    version: int
    partition: int | None
    size: int
    identities: set[str] = field(default_factory=set)


def estimated_size(state_json_bytes: int) -> int:
    return state_json_bytes * 11 // 10 + ENTRY_OVERHEAD


@dataclass(slots=True)
class CachedAccount:
    version: int
    members: dict[str, Member]  # lead id -> member, every member of the account
    sources: dict[str, str]  # lead id -> "group" | "domain"
    sizes: dict[str, int]  # lead id -> the member's estimated bytes

    @property
    def size(self) -> int:
        return ENTRY_OVERHEAD + sum(self.sizes.values())


def member_size(member_json_bytes: int) -> int:
    return member_json_bytes * 11 // 10 + MEMBER_OVERHEAD


class AccountCache:
    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.accounts: OrderedDict[str, CachedAccount] = OrderedDict()  # least recently used first
        self.bytes = 0

    def __len__(self) -> int:
        return len(self.accounts)

    def account(self, account_id: str) -> CachedAccount | None:
        cached = self.accounts.get(account_id)
        if cached is not None:
            self.accounts.move_to_end(account_id)
        return cached

    def put(self, account_id: str, cached: CachedAccount) -> None:
        self.forget([account_id])
        self.accounts[account_id] = cached
        self.bytes += cached.size

    def forget(self, account_ids: Iterable[str]) -> None:
        for account_id in account_ids:
            if (old := self.accounts.pop(account_id, None)) is not None:
                self.bytes -= old.size

    def clear(self) -> None:
        self.accounts.clear()
        self.bytes = 0

    def fit(self) -> None:
        while self.bytes > self.budget and self.accounts:
            self.forget([next(iter(self.accounts))])


class LeadCache:
    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.leads: OrderedDict[str, CachedLead] = OrderedDict()  # least recently used first
        self.identities: dict[str, str] = {}  # identity -> lead id (maybe a merged one)
        self.bytes = 0
        self.evicted = 0
        self.accounts = AccountCache(budget_bytes // 4)

    def __len__(self) -> int:
        return len(self.leads)

    def lead(self, lead_id: str) -> CachedLead | None:
        cached = self.leads.get(lead_id)
        if cached is not None:
            self.leads.move_to_end(lead_id)
        return cached

    def identity(self, key: str) -> str | None:
        return self.identities.get(key)

    def put(self, lead_id: str, cached: CachedLead) -> None:
        old = self.leads.pop(lead_id, None)
        if old is not None:
            self.bytes -= old.size
            cached.identities |= old.identities
        self.leads[lead_id] = cached
        self.bytes += cached.size

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

    def forget(self, lead_ids: Iterable[str]) -> None:
        for lead_id in lead_ids:
            cached = self.leads.pop(lead_id, None)
            if cached is None:
                continue
            self.bytes -= cached.size
            for identity in cached.identities:
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
        self.leads.clear()
        self.identities.clear()
        self.bytes = 0
        self.accounts.clear()

    def fit(self) -> None:
        """Evict the least recently used accounts beyond their quarter, then the least recently active
        leads until the cache (leads and accounts) is within its budget."""
        self.accounts.fit()
        while self.bytes + self.accounts.bytes > self.budget and self.leads:
            lead_id = next(iter(self.leads))
            self.forget([lead_id])
            self.evicted += 1

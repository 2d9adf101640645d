"""The member's lead cache: a byte budget, least recently active evicted first with their identities,
a partition's leads dropped on revoke; its accounts beside them, within half of the budget."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import orjson

from services.common.policy import LeadState, Member, load_policy, member_from_lead
from services.common.policy.lead import keep_datetime
from services.qualifier.cache import CachedAccount, CachedLead, LeadCache, estimated_size, member_size
from services.qualifier.demo import generate_audience
from services.qualifier.stitching import Ledger
from tests.history import log_entry

ROOT = Path(__file__).parents[3]


def cached(lead_id: str, *, partition: int = 0, json_bytes: int = 2000) -> CachedLead:
    return CachedLead(
        state=LeadState.new(lead_id),
        merged_into=None,
        version=1,
        partition=partition,
        size=estimated_size(json_bytes),
    )


def test_beyond_the_budget_the_least_recently_used_lead_and_its_identities_go() -> None:
    cache = LeadCache(budget_bytes=3 * estimated_size(2000))
    for n in range(3):
        cache.put(f"ld_{n}", cached(f"ld_{n}"))
        cache.link(f"anon:{n}", f"ld_{n}")
    assert cache.lead("ld_0") is not None  # used: now the most recent
    cache.put("ld_3", cached("ld_3"))
    cache.fit()
    assert set(cache.leads) == {"ld_0", "ld_2", "ld_3"}
    assert cache.identity("anon:1") is None and cache.identity("anon:0") == "ld_0"
    assert cache.bytes <= cache.budget and cache.evicted == 1


def test_an_identity_of_a_lead_not_cached_is_not_kept() -> None:
    cache = LeadCache(budget_bytes=10**6)
    cache.link("user:u1", "ld_missing")
    assert cache.identity("user:u1") is None


def test_revoked_partitions_leave_the_cache_and_others_stay() -> None:
    cache = LeadCache(budget_bytes=10**6)
    cache.put("ld_a", cached("ld_a", partition=1))
    cache.put("ld_b", cached("ld_b", partition=2))
    cache.link("anon:a", "ld_a")
    cache.drop_partitions({1})
    assert set(cache.leads) == {"ld_b"} and cache.identity("anon:a") is None
    assert cache.bytes == estimated_size(2000)


def test_forgetting_a_stale_lead_frees_its_bytes_and_identities() -> None:
    cache = LeadCache(budget_bytes=10**6)
    cache.put("ld_a", cached("ld_a"))
    cache.put("ld_a", cached("ld_a", json_bytes=4000))  # replaced, not counted twice
    cache.link("email:a@example.test", "ld_a")
    assert cache.bytes == estimated_size(4000)
    cache.forget(["ld_a"])
    assert cache.bytes == 0 and not cache.identities


def account(people: int, *, version: int = 1) -> CachedAccount:
    leads = [f"ld_{n}" for n in range(people)]
    return CachedAccount(
        version=version,
        members={k: Member(lead_id=k) for k in leads},
        sources=dict.fromkeys(leads, "domain"),
        sizes={k: member_size(2000) for k in leads},
    )


def test_accounts_take_at_most_half_and_the_leads_the_rest() -> None:
    cache = LeadCache(budget_bytes=40 * estimated_size(2000))
    for n in range(36):
        cache.put(f"ld_{n}", cached(f"ld_{n}"))
    cache.accounts.put("domain:a.example", account(12))
    cache.accounts.put("domain:b.example", account(12))
    assert cache.accounts.account("domain:a.example") is not None  # used: b is now the least recent
    cache.fit()
    assert set(cache.accounts.entries) == {"domain:a.example"}  # two would pass half
    assert cache.accounts.bytes <= cache.budget // 2
    assert cache.bytes + cache.accounts.bytes <= cache.budget and len(cache) < 36  # leads made room
    cache.accounts.put("domain:a.example", account(2, version=2))  # a newer copy replaces the old one
    assert cache.accounts.bytes == account(2).size
    cache.clear()
    assert len(cache.accounts) == 0 and cache.accounts.bytes == 0


def test_the_size_estimates_are_what_parsed_states_and_members_take_in_memory() -> None:
    """The budget counts estimates: each must be within a fifth of what tracemalloc counts for the
    objects the cache holds (demo leads folded by the worker's ledger, stored and parsed back)."""
    policy = load_policy((ROOT / "policies/default.yaml").read_text(encoding="utf-8"), "default")
    ledger = Ledger(policy)
    for message in generate_audience(1500, seed=3, start=datetime(2025, 1, 6, tzinfo=UTC), days=30):
        ledger.fold(log_entry(message).entry)
        ledger.applied.clear()
    states = [s for k, s in ledger.states.items() if k not in ledger.merged_into]
    leads = [orjson.dumps(s.to_dict(keep_datetime)).decode() for s in states]
    members = [
        orjson.dumps(member_from_lead(s, policy).to_dict(keep_datetime)).decode() for s in states if s.known
    ]
    assert len(leads) > 1000 and len(members) > 500
    for docs, parse, estimate in (
        (leads, lambda d: LeadState.from_dict(orjson.loads(d)), estimated_size),
        (members, lambda d: Member.from_dict(orjson.loads(d)), member_size),
    ):
        gc.collect()
        tracemalloc.start()
        try:
            parsed = [parse(d) for d in docs]
            taken = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        estimated = sum(estimate(len(d)) for d in docs)
        assert len(parsed) == len(docs)
        assert 0.8 < estimated / taken < 1.25, (estimated, taken)

"""The demo's companies, folded without IO by the worker's own code: the shape sales will see (group calls
and company-domain emails, a mix of roles) and the default account rule against the hidden truth."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime

from services.qualifier.buying_groups import Book, BuyingGroups
from services.qualifier.demo import generate_audience
from services.qualifier.demo_accounts import generate_companies_with_truth, generate_demo
from services.qualifier.stitching import Ledger
from tests.history import log_entry
from tests.support import ROOT

START = datetime(2026, 11, 1, tzinfo=UTC)


def fold(policy, messages):  # type: ignore[no-untyped-def]
    ledger, book, groups = Ledger(policy), Book(policy), BuyingGroups(policy)
    for message in messages:
        ledger.fold(log_entry(message).entry)
        groups.observe(ledger)
    for seen in groups.seen:
        book.apply(seen)
    return ledger, book


def test_companies_are_deterministic_and_carry_group_calls_and_company_domains() -> None:
    messages, truth = generate_companies_with_truth(40, seed=5, start=START)
    assert (messages, truth) == generate_companies_with_truth(40, seed=5, start=START)
    assert set(truth.values()) == {"buying_group", "loud_single", "browsing_colleagues", "wrong_fit_group"}
    groups = [m for m in messages if m["type"] == "group"]
    assert groups and all(
        m["groupId"] and {"name", "industry", "employees", "domain"} <= set(m["traits"]) for m in groups
    )
    emails = [m["traits"]["email"] for m in messages if m["type"] == "identify"]
    assert any(e.endswith("@gmail.com") for e in emails)  # placed by its group call, never by the domain
    assert any(a.startswith("domain:") for a in truth) and any(a.startswith("grp-") for a in truth)
    assert [m["timestamp"] for m in messages] == sorted(m["timestamp"] for m in messages)
    assert len({m["messageId"] for m in messages}) == len(messages)


def test_the_mix_adds_companies_without_changing_the_audience() -> None:
    mix = generate_demo(100, 10, seed=3, start=START)
    audience = generate_audience(100, seed=3, start=START)
    companies, _ = generate_companies_with_truth(10, seed=3, start=START)
    assert len(mix) == len(audience) + len(companies)
    assert [m for m in mix if not m["messageId"].startswith("demo-3-co")] == audience


def test_the_default_account_rule_finds_the_quiet_buying_groups_and_only_them(policy) -> None:  # type: ignore[no-untyped-def]
    for language in ("en", "ja"):
        messages, truth = generate_companies_with_truth(40, seed=9, start=START, language=language)
        ledger, book = fold(policy, messages)
        qualified = {mqa.account_id for mqa in book.fired}
        assert qualified == {a for a, kind in truth.items() if kind == "buying_group"}, language
        # no lead rule qualifies anyone of a quiet buying group; every loud single person is an MQL
        mql_accounts = Counter(book.home.get(ledger.resolve(f.lead_id)) for f in ledger.fired)
        assert not qualified & set(mql_accounts)
        assert {a for a, k in truth.items() if k == "loud_single"} <= set(mql_accounts)
        roles = {r for account in qualified for m in book.state(account).members for r in m.roles}
        assert roles == {"decision_maker", "champion", "user", "budget_holder"}


def test_leadstate_demo_refuses_companies_out_of_bounds_before_posting() -> None:
    for companies in ("-1", "10001"):
        done = subprocess.run(
            [sys.executable, "-m", "services.cli", "demo", "--leads", "5", "--companies", companies],
            env={**os.environ, "LEADSTATE_WRITE_KEYS": "wk_test"},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and "--companies must be between 0 and 10000" in done.stderr, done.stderr

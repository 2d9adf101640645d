from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from services.qualifier.demo import generate_audience, generate_audience_with_truth
from services.qualifier.stitching import Ledger
from tests.history import log_entry

START = datetime(2026, 11, 1, tzinfo=UTC)


def test_same_seed_same_audience_and_a_different_seed_differs():
    assert generate_audience(50, seed=7, start=START) == generate_audience(50, seed=7, start=START)
    assert generate_audience(50, seed=7, start=START) != generate_audience(50, seed=8, start=START)


def test_audience_shape():
    messages, truth = generate_audience_with_truth(1000, seed=3, start=START, days=14)
    assert 7_000 <= len(messages) <= 13_000  # about ten events per lead
    assert len(truth) == 1000 and set(truth.values()) >= {
        "hot",
        "curious",
        "wrong_fit",
        "researcher",
        "ghost",
    }
    assert [m["timestamp"] for m in messages] == sorted(m["timestamp"] for m in messages)
    assert len({m["messageId"] for m in messages}) == len(messages)
    types = Counter(m["type"] for m in messages)
    assert types["page"] > types["track"] > types["identify"] > 0
    events = Counter(m.get("event") for m in messages if m["type"] == "track")
    assert events["Content Downloaded"] and events["Seminar Attended"] and events["Video Played"]
    never_identified = [k for k, v in truth.items() if v == "ghost"]
    assert never_identified and all(k.startswith("anon-") for k in never_identified)
    last = datetime.fromisoformat(messages[-1]["timestamp"])
    assert START <= datetime.fromisoformat(messages[0]["timestamp"]) and (last - START).days <= 14


def test_default_policy_on_500_leads_finds_mqls_mostly_hot(policy):
    messages, truth = generate_audience_with_truth(500, seed=11, start=START)
    ledger = Ledger(policy)  # the worker's stitching and folding
    for message in messages:
        ledger.fold(log_entry(message).entry)
    # the demo's truth is keyed by userId (anonymousId for leads never identified): the lead each became
    truth_by_lead = {
        ledger.lookup(f"anon:{key}" if key.startswith("anon-") else f"user:{key}"): intent
        for key, intent in truth.items()
    }
    mql_leads = [ledger.resolve(fired.lead_id) for fired in ledger.fired]
    intents = Counter(truth_by_lead[lead_id] for lead_id in mql_leads)
    assert sum(intents.values()) >= 10
    assert intents["hot"] / sum(intents.values()) >= 0.6
    assert intents["ghost"] == 0 and intents["researcher"] == 0
    assert len(set(mql_leads)) == len(mql_leads)  # one MQL per lead here: no decisions yet


def test_the_japanese_audience_is_the_same_audience_in_japanese_words(policy):
    english = generate_audience(300, seed=11, start=START)
    japanese = generate_audience(300, seed=11, start=START, language="ja")
    # same draws: the same events at the same times for the same ids; only the words differ
    assert [(m["messageId"], m["timestamp"], m["type"]) for m in english] == [
        (m["messageId"], m["timestamp"], m["type"]) for m in japanese
    ]
    people = [m["traits"] for m in japanese if m["type"] == "identify"]
    assert people and all(" " in t["name"] and t["name"].startswith(t["last_name"]) for t in people)
    assert all(t["company"].endswith("株式会社") and t["email"].isascii() for t in people)
    downloads = [m["properties"]["title"] for m in japanese if m.get("event") == "Content Downloaded"]
    assert downloads and all(not title.isascii() for title in downloads)
    # the titles keep their level: the default policy makes the same MQLs from either audience
    fired = []
    for messages in (english, japanese):
        ledger = Ledger(policy)
        for message in messages:
            ledger.fold(log_entry(message).entry)
        fired.append([(f.lead_id, f.mql.rule_name) for f in ledger.fired])
    assert fired[0] and fired[0] == fired[1]

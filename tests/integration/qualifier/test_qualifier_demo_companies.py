"""The demo's companies through the real worker (PostgreSQL, broker): the default policy's account rule
makes an MQA of exactly the quiet buying groups of the hidden truth, which no lead rule qualifies, and not
of the companies whose one member is loud (an MQL each, carrying its account id), of colleagues who only
browse, or of a buying group outside the target industries."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from services.qualifier.demo_accounts import generate_companies_with_truth
from tests.integration.qualifier.conftest import Qualifier
from tests.integration.qualifier.test_qualifier_group import as_ingest_would
from tests.support import read_envelopes

START = datetime(2026, 10, 1, tzinfo=UTC)


async def test_the_default_account_rule_finds_the_quiet_buying_groups_of_the_truth(
    qualifier: Qualifier,
) -> None:
    messages, truth = generate_companies_with_truth(30, seed=17, start=START, days=21)
    envelopes = [as_ingest_would(m) for m in messages]
    await qualifier.publish(envelopes)
    await qualifier.wait_stored(envelopes, timeout_s=60)

    buying_groups = {a for a, kind in truth.items() if kind == "buying_group"}
    loud = {a for a, kind in truth.items() if kind == "loud_single"}
    assert len(buying_groups) >= 5 and loud
    rows = await qualifier.db.fetch("SELECT account_id, rule, data FROM qualifier.mqas")
    assert {r["account_id"] for r in rows} == buying_groups  # recall and precision against the truth
    assert {r["rule"] for r in rows} == {"buying-group-forming"}
    mqls = await qualifier.db.fetch("SELECT data->>'account_id' AS account FROM qualifier.mqls")
    person_accounts = {r["account"] for r in mqls}
    assert not person_accounts & buying_groups  # quiet: no lead rule qualifies any of their people
    assert loud <= person_accounts  # the loud single members are MQLs, carrying their account id

    for row in rows:  # the MQA says who is in the group, with their roles, and what is not seen yet
        data = row["data"] if isinstance(row["data"], dict) else json.loads(row["data"])
        engaged = [m for m in data["members"] if m["engaged"]]
        assert len(engaged) >= 3 and any({"decision_maker", "champion"} & set(m["roles"]) for m in engaged)
        assert data["buying_group"]["text"].startswith("buying group: ")
        present = {p["role"] for p in data["buying_group"]["present"]}
        missing = {p["role"] for p in data["buying_group"]["missing"]}
        assert present | missing == {"decision_maker", "budget_holder", "champion", "user"}
        assert not present & missing

    on_topic = await read_envelopes(
        qualifier.bootstrap, qualifier.topics.mql, expect=len(rows) + len(mqls), timeout_s=30
    )
    assert {e.subject for e in on_topic if e.type == "leadstate.account.mqa.v1"} == buying_groups

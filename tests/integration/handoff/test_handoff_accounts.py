"""The account side of the handoff: MQAs from lead.mql in GET /v1/mqas, an account page with its person
MQLs, and decisions on MQAs (reason codes, idempotency, 404/409/422) flowing out on lead.decisions."""

from __future__ import annotations

import json

import jsonschema

from tests.integration.handoff.data import mqa_envelope, mql_envelope
from tests.support import ROOT, publish, read_envelopes, wait_until

MQA_SCHEMA = json.loads((ROOT / "contracts/events/account.mqa.v1.schema.json").read_text())
DECISION_SCHEMA = json.loads((ROOT / "contracts/events/account.decision.v1.schema.json").read_text())
SQL = {
    "outcome": "sql",
    "reason": "problem_confirmed",
    "note": "Met the three of them.",
    "decided_by": "rep-7",
}


async def test_an_mqa_is_listed_shown_with_its_people_and_decided_once(handoff) -> None:  # type: ignore[no-untyped-def]
    mqa = mqa_envelope("domain:acme.example")
    jsonschema.validate(mqa.data, MQA_SCHEMA)  # the test's MQA is what the contract says
    person = mql_envelope("ld-dir")
    person.data["account_id"] = "domain:acme.example"
    await publish(handoff.bootstrap, handoff.topics.mql, [mqa, person, mqa_envelope("crm-other")])

    async def listed() -> bool:
        return len((await handoff.client.get("/v1/mqas")).json()["items"]) == 2

    await wait_until(listed, timeout_s=30, what="two MQAs in the account inbox")
    await handoff.publish_mqls([], expect_rows=1)  # the person MQL is projected too
    page = (await handoff.client.get("/v1/mqas", params={"topic": "lead-management", "limit": 1})).json()
    [item] = page["items"]
    assert item["account_id"] == "domain:acme.example" and item["sla_state"] == "ok"
    assert item["buying_group"]["missing"] == [{"role": "budget_holder", "label": "budget holder"}]
    rest = (
        await handoff.client.get(
            "/v1/mqas", params={"topic": "lead-management", "cursor": page["next_cursor"]}
        )
    ).json()
    assert [i["account_id"] for i in rest["items"]] == ["crm-other"] and rest["next_cursor"] is None
    lead_cursor = (await handoff.client.get("/v1/mqls", params={"cursor": page["next_cursor"]})).status_code
    assert lead_cursor == 400  # a cursor of the account inbox is refused by the lead inbox

    account = (await handoff.client.get("/v1/accounts/domain:acme.example")).json()
    assert (account["stage"], account["open_mqa_id"], account["name"]) == ("mqa", mqa.id, "Acme Works")
    assert [m["lead_id"] for m in account["members"]] == ["ld-dir", "ld-mgr", "ld-eng"]
    assert [m["lead_id"] for m in account["person_mqls"]] == ["ld-dir"]

    url = "/v1/accounts/domain:acme.example/decisions"
    bad = await handoff.client.post(url, json={**SQL, "reason": "no_budget"})
    assert bad.status_code == 422 and "problem_confirmed" in bad.json()["valid_codes"]
    first = await handoff.client.post(url, json=SQL, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.text
    again = await handoff.client.post(url, json=SQL, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    twice = await handoff.client.post(url, json={**SQL, "reason": "project_planned"})
    assert twice.status_code == 409 and "no open MQA" in twice.json()["detail"]
    unknown = await handoff.client.post("/v1/accounts/domain:nobody.example/decisions", json=SQL)
    assert unknown.status_code == 404

    [event] = await read_envelopes(handoff.bootstrap, handoff.topics.decisions, expect=1)
    assert event.type == "leadstate.account.decision.v1" and event.subject == "domain:acme.example"
    jsonschema.validate(event.data, DECISION_SCHEMA)
    assert event.data == first.json() and event.data["mqa_id"] == mqa.id

    decided = (await handoff.client.get("/v1/accounts/domain:acme.example")).json()
    assert decided["stage"] == "sql" and decided["open_mqa_id"] is None
    assert decided["mqas"][0]["decision"]["reason"]["code"] == "problem_confirmed"
    assert [i["account_id"] for i in (await handoff.client.get("/v1/mqas")).json()["items"]] == ["crm-other"]


async def test_bad_account_requests_are_problems_not_500s(handoff) -> None:  # type: ignore[no-untyped-def]
    assert (await handoff.client.get("/v1/accounts/nobody")).status_code == 404
    long_id = (await handoff.client.get("/v1/accounts/" + "a" * 300)).json()
    assert long_id["status"] == 422 and long_id["errors"][0]["field"].endswith("account_id")
    bad_sla = await handoff.client.get("/v1/mqas", params={"sla": "late"})
    assert bad_sla.status_code == 422 and bad_sla.json()["errors"][0]["field"].endswith("sla")
    extra = await handoff.client.post("/v1/accounts/x/decisions", json={**SQL, "score": 99})
    assert extra.status_code == 422


async def test_the_funnel_by_account_rule_puts_the_sql_rate_of_mqas_first(handoff) -> None:  # type: ignore[no-untyped-def]
    plan = [  # account, rule, decision (outcome, reason) or None: open
        ("crm-f1", "buying-group-forming", ("sql", "problem_confirmed")),
        ("crm-f2", "buying-group-forming", ("rejected", "no_budget")),
        ("crm-f3", "buying-group-forming", ("rejected", "no_budget")),
        ("crm-f4", "buying-group-forming", None),
        ("crm-f5", "executive-sponsor", ("sql", "project_planned")),
    ]
    await publish(handoff.bootstrap, handoff.topics.mql, [mqa_envelope(a, rule=r) for a, r, _ in plan])
    await publish(handoff.bootstrap, handoff.topics.mql, [mql_envelope("ld-solo", rule="hand-raiser")])

    async def listed() -> bool:
        return len((await handoff.client.get("/v1/mqas")).json()["items"]) == len(plan)

    await wait_until(listed, timeout_s=30, what="the MQAs in the account inbox")
    for account, _, decision in plan:
        if decision:
            body = {"outcome": decision[0], "reason": decision[1], "decided_by": "rep-2"}
            answer = await handoff.client.post(f"/v1/accounts/{account}/decisions", json=body)
            assert answer.status_code == 201, answer.text

    answer = await handoff.client.get("/v1/reports/funnel", params={"group_by": "account_rule"})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["group_by"] == "account_rule"
    first, second = report["groups"]
    assert next(iter(first)) == "sql_rate"  # the headline comes first
    assert (first["group"], first["sql_rate"], first["mqls"]) == ("executive-sponsor", 1.0, 1)
    assert (second["group"], second["sql_rate"]) == ("buying-group-forming", round(1 / 3, 4))
    assert (second["mqls"], second["decided"], second["rejected"], second["open"]) == (4, 3, 2, 1)
    assert second["top_not_sql_reasons"] == [{"code": "no_budget", "label": "No budget", "count": 2}]
    total = report["total"]
    assert (total["mqls"], total["sqls"], total["sql_rate"]) == (5, 2, 0.5)  # MQAs only, not the MQL

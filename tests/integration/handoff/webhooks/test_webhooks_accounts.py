"""MQAs and the decisions on them as webhooks: an endpoint subscribed to account.mqa and
account.decision gets both, signed (Standard Webhooks), and no person MQL it did not ask for."""

from __future__ import annotations

import json

import jsonschema

from tests.integration.handoff.data import mqa_envelope, mql_envelope
from tests.integration.handoff.webhooks.conftest import HooksFactory
from tests.integration.handoff.webhooks.receiver import Receiver, running_receiver
from tests.support import ROOT, publish, wait_until

MQA_SCHEMA = json.loads((ROOT / "contracts/events/account.mqa.v1.schema.json").read_text())
DECISION_SCHEMA = json.loads((ROOT / "contracts/events/account.decision.v1.schema.json").read_text())


async def test_an_mqa_and_its_decision_reach_a_subscribed_receiver(hooks_app: HooksFactory) -> None:
    receiver = Receiver()
    async with running_receiver(receiver), hooks_app(webhook_allow_private=True) as hooks:
        endpoint = await hooks.register(receiver.url, events=["account.mqa", "account.decision"])
        mqa = mqa_envelope("crm-hooked")
        await publish(hooks.bootstrap, hooks.topics.mql, [mql_envelope("ld-person"), mqa])

        async def one() -> bool:
            return len(receiver.accepted_ids()) >= 1

        await wait_until(one, timeout_s=60, what="the MQA delivered")

        async def projected() -> bool:
            return (await hooks.client.get("/v1/accounts/crm-hooked")).status_code == 200

        await wait_until(projected, timeout_s=30, what="the MQA in the account inbox")
        body = {"outcome": "rejected", "reason": "no_budget", "decided_by": "rep-3"}
        decided = await hooks.client.post("/v1/accounts/crm-hooked/decisions", json=body)
        assert decided.status_code == 201, decided.text

        async def two() -> bool:
            return len(receiver.accepted_ids()) >= 2

        await wait_until(two, timeout_s=60, what="the decision delivered")
        got = receiver.accepted()
        assert all(r.verifies_with(endpoint["secret"]) for r in got)
        bodies = [r.envelope() for r in got]
        assert [b["type"] for b in bodies] == ["leadstate.account.mqa.v1", "leadstate.account.decision.v1"]
        assert bodies[0]["id"] == mqa.id and bodies[1]["data"] == decided.json()
        assert {b["subject"] for b in bodies} == {"crm-hooked"}  # no person MQL: not subscribed
        jsonschema.validate(bodies[0]["data"], MQA_SCHEMA, format_checker=jsonschema.FormatChecker())
        jsonschema.validate(bodies[1]["data"], DECISION_SCHEMA, format_checker=jsonschema.FormatChecker())
        assert [r.headers["webhook-id"] for r in got] == [b["id"] for b in bodies]
        rows = await hooks.wait_finished(endpoint["id"], 2)
        assert {(r["status"], r["event_type"]) for r in rows} == {
            ("delivered", "account.mqa"),
            ("delivered", "account.decision"),
        }

"""Recording sales decisions (services/handoff/api/decisions.py): the reason codes from the policy file,
reasons valid for the outcome, bad and oversized bodies naming the field, 404/409, the decision event on
the topic, Idempotency-Key, and two concurrent decisions on one MQL (run, not reasoned about). Who may
call what is tests/security/test_access.py's."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import jsonschema
from sqlalchemy import func, select

from services.handoff.tables import decisions, outbox
from tests.integration.handoff.data import mql_envelope
from tests.support import read_envelopes

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[3] / "contracts/events/lead.decision.v1.schema.json").read_text()
)
SQL = {
    "outcome": "sql",
    "reason": "problem_confirmed",
    "note": "Budget owner on the call",
    "decided_by": "rep-1",
}


async def _count(handoff, table) -> int:  # type: ignore[no-untyped-def]
    async with handoff.app.state.handoff.database.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)))


async def test_decision_is_recorded_and_published_as_the_contract_says(handoff) -> None:  # type: ignore[no-untyped-def]
    await handoff.publish_mqls([mql_envelope("lead-a")], expect_rows=1)

    answer = await handoff.client.post("/v1/leads/lead-a/decisions", json=SQL)

    assert answer.status_code == 201, answer.text
    decision = answer.json()
    assert decision["outcome"] == "sql" and decision["mql_id"] == "lead-a:1" and decision["episode"] == 1
    assert decision["reason"] == {"code": "problem_confirmed", "label": "Problem confirmed"}
    assert decision["rule"] == "seminar-attendee" and decision["policy_version"] == "2026.1"
    assert 3500 < decision["time_to_decision_s"] < 3700 * 2  # qualified an hour ago

    [event] = await read_envelopes(handoff.bootstrap, handoff.topics.decisions, expect=1)
    assert event.type == "leadstate.lead.decision.v1" and event.subject == "lead-a"
    assert event.id == decision["decision_id"]
    jsonschema.validate(event.data, SCHEMA)
    assert event.data == decision

    inbox = (await handoff.client.get("/v1/mqls")).json()
    assert inbox["items"] == []  # decided: out of the inbox


async def test_reason_must_fit_the_outcome(handoff) -> None:  # type: ignore[no-untyped-def]
    await handoff.publish_mqls([mql_envelope("lead-b")], expect_rows=1)

    wrong = await handoff.client.post(
        "/v1/leads/lead-b/decisions",
        json={**SQL, "outcome": "rejected"},  # an SQL reason for not-SQL
    )
    unknown = await handoff.client.post("/v1/leads/lead-b/decisions", json={**SQL, "reason": "vibes"})
    missing = await handoff.client.post(
        "/v1/leads/lead-b/decisions", json={"outcome": "sql", "decided_by": "rep-1"}
    )

    assert wrong.status_code == 422 and wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["valid_codes"] == ["no_budget", "no_timing", "recycle_timing_later"]
    assert wrong.json()["errors"][0]["field"] == "reason"
    assert unknown.status_code == 422
    assert unknown.json()["valid_codes"] == ["problem_confirmed", "project_planned"]
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "reason"
    assert await _count(handoff, decisions) == 0


async def test_no_open_mql_is_409_and_unknown_lead_404(handoff) -> None:  # type: ignore[no-untyped-def]
    await handoff.publish_mqls([mql_envelope("lead-c")], expect_rows=1)
    first = await handoff.client.post(
        "/v1/leads/lead-c/decisions", json={**SQL, "outcome": "recycled", "reason": "recycle_timing_later"}
    )
    assert first.status_code == 201

    again = await handoff.client.post("/v1/leads/lead-c/decisions", json=SQL)
    unknown = await handoff.client.post("/v1/leads/nobody/decisions", json=SQL)

    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert unknown.status_code == 404
    assert await _count(handoff, decisions) == 1


async def test_idempotency_key_replays_the_first_answer(handoff) -> None:  # type: ignore[no-untyped-def]
    await handoff.publish_mqls([mql_envelope("lead-d")], expect_rows=1)
    headers = {"Idempotency-Key": "retry-me-1"}

    first = await handoff.client.post("/v1/leads/lead-d/decisions", json=SQL, headers=headers)
    second = await handoff.client.post("/v1/leads/lead-d/decisions", json=SQL, headers=headers)
    changed = await handoff.client.post(
        "/v1/leads/lead-d/decisions", json={**SQL, "note": "other"}, headers=headers
    )

    assert first.status_code == 201 and second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert changed.status_code == 422 and changed.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await _count(handoff, decisions) == 1
    assert await _count(handoff, outbox) == 1
    events = await read_envelopes(handoff.bootstrap, handoff.topics.decisions, expect=1)
    assert len(events) == 1


async def test_concurrent_decisions_on_one_mql_exactly_one_wins(handoff) -> None:  # type: ignore[no-untyped-def]
    await handoff.publish_mqls([mql_envelope("lead-e")], expect_rows=1)
    bodies = [
        {**SQL, "decided_by": f"rep-{i}"} if i % 2 else {**SQL, "outcome": "rejected", "reason": "no_budget"}
        for i in range(8)
    ]
    # Separate connections, so the requests really run side by side in the server.
    clients = [httpx.AsyncClient(base_url=handoff.url, headers=handoff.client.headers) for _ in bodies]
    try:
        answers = await asyncio.gather(
            *(c.post("/v1/leads/lead-e/decisions", json=b) for c, b in zip(clients, bodies, strict=True))
        )
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 7, [a.text for a in answers]
    assert await _count(handoff, decisions) == 1
    events = await read_envelopes(handoff.bootstrap, handoff.topics.decisions, expect=1)
    assert len(events) == 1
    winner = next(a for a in answers if a.status_code == 201).json()
    assert events[0].data["decision_id"] == winner["decision_id"]


async def test_concurrent_retries_with_one_idempotency_key_record_once(handoff) -> None:  # type: ignore[no-untyped-def]
    await handoff.publish_mqls([mql_envelope("lead-f")], expect_rows=1)
    headers = {**handoff.client.headers, "Idempotency-Key": "double-click"}
    clients = [httpx.AsyncClient(base_url=handoff.url, headers=headers) for _ in range(4)]
    try:
        answers = await asyncio.gather(*(c.post("/v1/leads/lead-f/decisions", json=SQL) for c in clients))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))

    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert len({a.json()["decision_id"] for a in answers}) == 1
    assert await _count(handoff, decisions) == 1


DECISION = {"outcome": "sql", "reason": "problem_confirmed", "decided_by": "rep-1"}


async def test_reasons_come_from_the_policy_file(handoff) -> None:  # type: ignore[no-untyped-def]
    answer = await handoff.client.get("/v1/reasons")

    assert answer.status_code == 200
    assert answer.json() == {
        "policy_version": "test-7",
        "sql": [
            {"code": "problem_confirmed", "label": "Problem confirmed"},
            {"code": "project_planned", "label": "Project planned"},
        ],
        "not_sql": [
            {"code": "no_budget", "label": "No budget"},
            {"code": "no_timing", "label": "No project soon"},
            {"code": "recycle_timing_later", "label": "Timing later - nurture"},
        ],
        "sla_decision_hours": 48.0,
    }


BAD_BODIES = [
    ({**DECISION, "priority": "high"}, "priority"),  # unknown fields are refused, not ignored
    ({**DECISION, "outcome": "maybe"}, "outcome"),
    ({**DECISION, "decided_by": ""}, "decided_by"),
    ({"reason": "problem_confirmed", "decided_by": "rep-1"}, "outcome"),
    ([DECISION], "body"),
]


async def test_bad_decision_bodies_name_the_field(handoff) -> None:  # type: ignore[no-untyped-def]
    await handoff.publish_mqls([mql_envelope("lead-x")], expect_rows=1)

    for body, field in BAD_BODIES:
        answer = await handoff.client.post("/v1/leads/lead-x/decisions", json=body)

        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in answer.json()["errors"]] == [field], body
    assert (await handoff.client.get("/v1/leads/lead-x")).json()["open_mql_id"] == "lead-x:1"


async def test_oversized_and_unparsable_bodies(handoff) -> None:  # type: ignore[no-untyped-def]
    huge = {**DECISION, "note": "x" * 100_000}
    too_big = await handoff.client.post("/v1/leads/lead-x/decisions", json=huge)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 1024

    chunked = await handoff.client.post("/v1/leads/lead-x/decisions", content=chunks())
    not_json = await handoff.client.post(
        "/v1/leads/lead-x/decisions", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    bad_id = await handoff.client.post(f"/v1/leads/{'x' * 300}/decisions", json=DECISION)

    for answer in (too_big, chunked):
        assert answer.status_code == 413, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["errors"] == [{"field": "body", "message": "at most 16384 bytes"}]
    assert not_json.status_code == 422 and not_json.headers["content-type"] == "application/problem+json"
    assert bad_id.status_code == 422 and bad_id.json()["errors"][0]["field"] == "path.lead_id"

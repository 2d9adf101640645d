"""The inbox (GET /v1/mqls) and the lead view (GET /v1/leads/{id}) as a sales tool sees them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.handoff.data import mql_envelope

NOW = datetime.now(UTC)


async def _walk(client, params: dict) -> list[str]:  # type: ignore[no-untyped-def]
    ids: list[str] = []
    cursor = None
    for _ in range(100):
        answer = await client.get("/v1/mqls", params={**params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        ids.extend(item["mql_id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("pagination did not end")


async def test_pagination_over_250_mqls_is_complete_and_ordered(handoff) -> None:  # type: ignore[no-untyped-def]
    # Pairs share a qualified_at, so the cursor must break ties (by mql_id) to lose nothing.
    envelopes = [
        mql_envelope(f"lead-{i:03d}", qualified_at=NOW - timedelta(hours=1, minutes=i // 2))
        for i in range(250)
    ]
    await handoff.publish_mqls(envelopes, expect_rows=250)
    by_age = sorted(envelopes, key=lambda e: (e.data["qualified_at"], e.data["mql_id"]))
    oldest_first = [e.data["mql_id"] for e in by_age]

    assert await _walk(handoff.client, {"limit": 40}) == oldest_first
    assert await _walk(handoff.client, {"limit": 33, "order": "newest"}) == oldest_first[::-1]

    first = (await handoff.client.get("/v1/mqls", params={"limit": 200})).json()
    assert len(first["items"]) == 200 and first["next_cursor"]


async def test_items_explain_the_mql_with_age_and_sla(handoff) -> None:  # type: ignore[no-untyped-def]
    fresh = mql_envelope("fresh", qualified_at=NOW - timedelta(hours=1))
    soon = mql_envelope("soon", qualified_at=NOW - timedelta(hours=44))  # SLA 48 h, due soon from 40 h
    late = mql_envelope("late", qualified_at=NOW - timedelta(hours=60))
    await handoff.publish_mqls([fresh, soon, late], expect_rows=3)

    items = {i["lead_id"]: i for i in (await handoff.client.get("/v1/mqls")).json()["items"]}

    assert {k: v["sla_state"] for k, v in items.items()} == {
        "fresh": "ok",
        "soon": "due_soon",
        "late": "breached",
    }
    item = items["fresh"]
    assert set(item) == {
        "lead_id", "mql_id", "episode", "rule", "reasons", "next_checks", "next_checks_texts", "interests",
        "attributes", "identities", "score", "policy_version", "qualified_at", "age_s", "sla_due_at",
        "sla_state",
    }  # fmt: skip
    assert item["rule"]["name"] == "seminar-attendee"
    assert item["reasons"] == fresh.data["reasons"] and item["next_checks"] == fresh.data["next_checks"]
    assert item["identities"]["email"] == "fresh@example.com"
    assert 3500 < item["age_s"] < 7200
    due = datetime.fromisoformat(item["sla_due_at"])
    assert due == datetime.fromisoformat(fresh.data["qualified_at"]) + timedelta(hours=48)

    breached = (await handoff.client.get("/v1/mqls", params={"sla": "breached"})).json()["items"]
    assert [i["lead_id"] for i in breached] == ["late"]


async def test_filters_by_rule_topic_and_since(handoff) -> None:  # type: ignore[no-untyped-def]
    await handoff.publish_mqls(
        [
            mql_envelope(
                "a", rule="seminar-attendee", topic="lead-management", qualified_at=NOW - timedelta(hours=5)
            ),
            mql_envelope(
                "b", rule="hand-raiser", topic="data-integration", qualified_at=NOW - timedelta(hours=3)
            ),
            mql_envelope(
                "c", rule="hand-raiser", topic="lead-management", qualified_at=NOW - timedelta(hours=1)
            ),
        ],
        expect_rows=3,
    )

    async def leads(**params: str) -> list[str]:
        answer = await handoff.client.get("/v1/mqls", params=params)
        assert answer.status_code == 200, answer.text
        return [i["lead_id"] for i in answer.json()["items"]]

    assert await leads(rule="hand-raiser") == ["b", "c"]
    assert await leads(topic="lead-management", order="newest") == ["c", "a"]
    assert await leads(since=(NOW - timedelta(hours=4)).isoformat()) == ["b", "c"]
    assert await leads(rule="hand-raiser", topic="lead-management") == ["c"]
    assert await leads(rule="nothing-like-it") == []


async def test_bad_cursor_and_bad_parameters_are_problems(handoff) -> None:  # type: ignore[no-untyped-def]
    await handoff.publish_mqls([mql_envelope(f"p{i}") for i in range(3)], expect_rows=3)
    page = (await handoff.client.get("/v1/mqls", params={"limit": 1})).json()
    cursor = page["next_cursor"]
    body, _, signature = cursor.partition(".")

    tampered = await handoff.client.get("/v1/mqls", params={"cursor": body[:-2] + "AA." + signature})
    garbage = await handoff.client.get("/v1/mqls", params={"cursor": "%%%not-a-cursor"})
    other_filters = await handoff.client.get("/v1/mqls", params={"cursor": cursor, "order": "newest"})
    bad_limit = await handoff.client.get("/v1/mqls", params={"limit": 0})
    bad_since = await handoff.client.get("/v1/mqls", params={"since": "yesterday"})
    bad_sla = await handoff.client.get("/v1/mqls", params={"sla": "late"})
    misspelt = await handoff.client.get("/v1/mqls", params={"rules": "hand-raiser"})

    for answer in (tampered, garbage, other_filters):
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["errors"][0]["field"] == "cursor"
    for answer, field in ((bad_limit, "limit"), (bad_since, "since"), (bad_sla, "sla"), (misspelt, "rules")):
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == f"query.{field}"


async def test_lead_view_has_current_and_past_mqls_with_decisions(handoff) -> None:  # type: ignore[no-untyped-def]
    await handoff.publish_mqls([mql_envelope("lead-h", qualified_at=NOW - timedelta(days=30))], expect_rows=1)
    decided = await handoff.client.post(
        "/v1/leads/lead-h/decisions",
        json={"outcome": "recycled", "reason": "recycle_timing_later", "decided_by": "rep-9"},
    )
    assert decided.status_code == 201
    await handoff.publish_mqls([mql_envelope("lead-h", episode=2)], expect_rows=2)

    answer = await handoff.client.get("/v1/leads/lead-h")

    assert answer.status_code == 200
    lead = answer.json()
    assert lead["stage"] == "mql" and lead["open_mql_id"] == "lead-h:2"
    assert [m["episode"] for m in lead["mqls"]] == [2, 1]
    assert lead["mqls"][0]["decision"] is None
    assert lead["mqls"][1]["decision"] == decided.json()
    assert lead["mqls"][1]["sla_state"] == "breached"  # decided 30 days after qualifying

    unknown = await handoff.client.get("/v1/leads/nobody")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
    for invalid in ("x" * 300, "bad%00id"):
        answer = await handoff.client.get(f"/v1/leads/{invalid}")
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == "path.lead_id"

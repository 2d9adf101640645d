"""Who may call what (API keys and scopes), and how bad requests are refused: always problem+json."""

from __future__ import annotations

import httpx

from tests.conftest import API_KEY_NONE, API_KEY_READ
from tests.integration.handoff.data import mql_envelope

DECISION = {"outcome": "sql", "reason": "problem_confirmed", "decided_by": "rep-1"}
ENDPOINTS = [
    ("GET", "/v1/mqls", "mql:read"),
    ("GET", "/v1/leads/lead-x", "mql:read"),
    ("GET", "/v1/reasons", "mql:read"),
    ("POST", "/v1/leads/lead-x/decisions", "decisions:write"),
    ("GET", "/v1/reports/funnel", "reports:read"),
    ("GET", "/v1/audit", "audit:read"),
]


async def _call(url: str, method: str, path: str, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(base_url=url, headers=headers) as client:
        return await client.request(method, path, json=DECISION if method == "POST" else None)


async def test_keys_and_scopes(handoff) -> None:  # type: ignore[no-untyped-def]
    for method, path, scope in ENDPOINTS:
        missing = await _call(handoff.url, method, path, None)
        unknown = await _call(handoff.url, method, path, "ak_made_up")
        no_scope = await _call(handoff.url, method, path, API_KEY_NONE)
        for answer, status in ((missing, 401), (unknown, 401), (no_scope, 403)):
            assert answer.status_code == status, (method, path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert no_scope.json()["required_scope"] == scope

    read_only = await _call(handoff.url, "POST", "/v1/leads/lead-x/decisions", API_KEY_READ)
    assert read_only.status_code == 403
    allowed = await _call(handoff.url, "GET", "/v1/mqls", API_KEY_READ)
    assert allowed.status_code == 200


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
